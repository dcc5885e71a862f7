//! The dependency graph: which beads are ready, what blocks the others, and cycles.
//!
//! A bead *waits for* another when it has a `blocks` dependency on it, and an epic waits for
//! its open children. Readiness and cycle refusal are both defined on that waits-for
//! relation, so a refused cycle is exactly a set of beads that could never become ready.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use serde::Serialize;

use super::{BeadSummary, DepKind, Kind, Status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Blocker<'a> {
    /// A `blocks` dependency that is not closed.
    Dependency { id: &'a str, status: Status },
    /// A `blocks` dependency on a bead that does not exist (deleted, or not merged yet).
    MissingDependency { id: &'a str },
    /// An ancestor (via `parent`) is deferred.
    DeferredParent { id: &'a str },
    /// An epic with a child that is still open.
    OpenChild { id: &'a str },
}

impl<'a> Blocker<'a> {
    pub fn id(&self) -> &'a str {
        match self {
            Blocker::Dependency { id, .. }
            | Blocker::MissingDependency { id }
            | Blocker::DeferredParent { id }
            | Blocker::OpenChild { id } => id,
        }
    }
}

pub struct Graph<'a> {
    beads: &'a [BeadSummary<'a>],
    // Keys are short ids written by forge: a fast hash beats SipHash's DoS resistance here.
    by_id: FxHashMap<&'a str, &'a BeadSummary<'a>>,
    children: FxHashMap<&'a str, Vec<&'a BeadSummary<'a>>>,
}

impl<'a> Graph<'a> {
    pub fn new(beads: &'a [BeadSummary<'a>]) -> Self {
        let mut by_id = FxHashMap::with_capacity_and_hasher(beads.len(), Default::default());
        let mut children: FxHashMap<&str, Vec<&BeadSummary>> = FxHashMap::default();
        for b in beads {
            by_id.insert(b.id, b);
            for d in b.deps.iter().filter(|d| d.kind == DepKind::Parent) {
                children.entry(d.id).or_default().push(b);
            }
        }
        Graph {
            beads,
            by_id,
            children,
        }
    }

    pub fn get(&self, id: &str) -> Option<&'a BeadSummary<'a>> {
        self.by_id.get(id).copied()
    }

    /// Why an open bead is not ready; empty means ready. Closed and deferred beads are
    /// never ready and have no blockers.
    pub fn blockers(&self, bead: &'a BeadSummary<'a>) -> Vec<Blocker<'a>> {
        let mut out = Vec::new();
        if bead.status != Status::Open {
            return out;
        }
        for d in &bead.deps {
            match d.kind {
                DepKind::Blocks => match self.get(d.id) {
                    None => out.push(Blocker::MissingDependency { id: d.id }),
                    Some(dep) if dep.status != Status::Closed => out.push(Blocker::Dependency {
                        id: d.id,
                        status: dep.status,
                    }),
                    Some(_) => {}
                },
                DepKind::Parent => {
                    if let Some(id) = self.deferred_ancestor(d.id) {
                        out.push(Blocker::DeferredParent { id });
                    }
                }
                DepKind::Related | DepKind::DiscoveredFrom => {}
            }
        }
        if bead.kind == Kind::Epic {
            for child in self.children.get(bead.id).into_iter().flatten() {
                if child.status == Status::Open {
                    out.push(Blocker::OpenChild { id: child.id });
                }
            }
        }
        out
    }

    /// The first deferred bead on the parent chain starting at `id`, if any.
    fn deferred_ancestor(&self, id: &str) -> Option<&'a str> {
        let mut cur = id;
        // The chain is acyclic when written by forge; the bound protects against hand edits.
        for _ in 0..=self.by_id.len() {
            let bead = self.get(cur)?;
            if bead.status == Status::Deferred {
                return Some(bead.id);
            }
            cur = bead
                .deps
                .iter()
                .find(|d| d.kind == DepKind::Parent)
                .map(|d| d.id)?;
        }
        None
    }

    /// The beads whose parent is `id`.
    pub fn children(&self, id: &str) -> &[&'a BeadSummary<'a>] {
        self.children.get(id).map_or(&[], Vec::as_slice)
    }

    /// The ready queue: open beads with no blockers, most urgent first (priority, then value
    /// descending, then oldest, then id). Never an epic: its children are the work, and it
    /// closes itself when the last of them closes (`ops::set_status`).
    pub fn ready(&self) -> Vec<&'a BeadSummary<'a>> {
        let mut ready: Vec<&BeadSummary> = self
            .beads
            .iter()
            .filter(|b| {
                b.status == Status::Open && b.kind != Kind::Epic && self.blockers(b).is_empty()
            })
            .collect();
        // The order is total (ids are unique), so an unstable sort gives the same result.
        ready.sort_unstable_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then(b.value.cmp(&a.value))
                .then_with(|| a.created.cmp(b.created))
                .then_with(|| a.id.cmp(b.id))
        });
        ready
    }

    /// Open beads that are not ready, each with what blocks it, sorted like `ready`.
    pub fn blocked(&self) -> Vec<(&'a BeadSummary<'a>, Vec<Blocker<'a>>)> {
        let mut out: Vec<_> = self
            .beads
            .iter()
            .filter(|b| b.status == Status::Open)
            .filter_map(|b| {
                let blockers = self.blockers(b);
                (!blockers.is_empty()).then_some((b, blockers))
            })
            .collect();
        out.sort_unstable_by(|(a, _), (b, _)| {
            a.priority.cmp(&b.priority).then_with(|| a.id.cmp(b.id))
        });
        out
    }

    /// The beads `id` waits for: its `blocks` targets and, if it is an epic, its children.
    fn waits_for(&self, id: &str) -> Vec<&'a str> {
        let Some(bead) = self.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = bead
            .deps
            .iter()
            .filter(|d| d.kind == DepKind::Blocks)
            .map(|d| d.id)
            .collect();
        if bead.kind == Kind::Epic {
            out.extend(self.children.get(id).into_iter().flatten().map(|c| c.id));
        }
        out
    }

    /// `id` and its ancestors through `parent` links, nearest first.
    fn ancestors(&self, id: &'a str) -> Vec<&'a str> {
        let mut out = vec![id];
        while let Some(parent) = self
            .get(out[out.len() - 1])
            .and_then(|b| b.deps.iter().find(|d| d.kind == DepKind::Parent))
        {
            if out.contains(&parent.id) {
                break;
            }
            out.push(parent.id);
        }
        out
    }

    /// If adding `from --kind--> to` would close a cycle, the cycle as a list of ids that
    /// starts and ends with the same bead, in waits-for order.
    pub fn cycle_with(&self, from: &str, to: &str, kind: DepKind) -> Option<Vec<String>> {
        // The new edge in waits-for terms: `blocks` means from waits for to; `parent` means
        // the parent (to) waits for the child (from) if it is an epic, and the parent chain
        // itself must stay a tree.
        let (waiter, waited) = match kind {
            DepKind::Blocks => (from, to),
            DepKind::Parent => {
                let chain = self.ancestors(to);
                if let Some(pos) = chain.iter().position(|&a| a == from) {
                    let mut cycle = vec![from.to_owned()];
                    cycle.extend(chain[..=pos].iter().map(|s| (*s).to_owned()));
                    return Some(cycle);
                }
                if self.get(to).is_none_or(|b| b.kind != Kind::Epic) {
                    return None;
                }
                (to, from)
            }
            DepKind::Related | DepKind::DiscoveredFrom => return None,
        };
        if waiter == waited {
            return Some(vec![from.to_owned(), to.to_owned()]);
        }
        // Search for a path waited -> ... -> waiter; with the new edge it is a cycle.
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut stack = vec![waited];
        parent.insert(waited, waited);
        while let Some(cur) = stack.pop() {
            if cur == waiter {
                let mut path = vec![waiter.to_owned()];
                let mut at = waiter;
                while at != waited {
                    at = parent[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                // path is waited .. waiter; close it through the new edge.
                let mut cycle = vec![waiter.to_owned()];
                cycle.extend(path);
                return Some(cycle);
            }
            for next in self.waits_for(cur) {
                if !parent.contains_key(next) {
                    parent.insert(next, cur);
                    stack.push(next);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DepRef, Risk};
    use super::*;

    fn bead(
        id: &'static str,
        kind: Kind,
        status: Status,
        deps: &[(&'static str, DepKind)],
    ) -> BeadSummary<'static> {
        BeadSummary {
            id,
            title: id,
            kind,
            status,
            priority: 2,
            value: 50,
            risk: Risk::Low,
            labels: vec![],
            created: "2026-01-01T00:00:00Z",
            updated: "2026-01-01T00:00:00Z",
            deps: deps.iter().map(|&(id, kind)| DepRef { id, kind }).collect(),
        }
    }

    fn ids<'a>(v: Vec<&BeadSummary<'a>>) -> Vec<&'a str> {
        v.into_iter().map(|b| b.id).collect()
    }

    use DepKind::*;
    use Kind::*;
    use Status::*;

    #[test]
    fn chain_only_head_is_ready() {
        let beads = [
            bead("a", Task, Open, &[]),
            bead("b", Task, Open, &[("a", Blocks)]),
            bead("c", Task, Open, &[("b", Blocks)]),
        ];
        assert_eq!(ids(Graph::new(&beads).ready()), ["a"]);
    }

    #[test]
    fn closed_dependency_unblocks_deferred_does_not() {
        let beads = [
            bead("a", Task, Closed, &[]),
            bead("b", Task, Deferred, &[]),
            bead("c", Task, Open, &[("a", Blocks)]),
            bead("d", Task, Open, &[("b", Blocks)]),
        ];
        let g = Graph::new(&beads);
        assert_eq!(ids(g.ready()), ["c"]);
        assert_eq!(
            g.blockers(&beads[3]),
            [Blocker::Dependency {
                id: "b",
                status: Deferred
            }]
        );
    }

    #[test]
    fn epic_waits_for_open_children_and_deferred_parent_blocks() {
        let beads = [
            bead("e", Epic, Open, &[]),
            bead("c1", Task, Open, &[("e", Parent)]),
            bead("p", Epic, Deferred, &[]),
            bead("c2", Task, Open, &[("p", Parent)]),
            bead("g", Task, Open, &[("c2", Parent)]),
        ];
        let g = Graph::new(&beads);
        assert_eq!(ids(g.ready()), ["c1"]);
        assert_eq!(g.blockers(&beads[4]), [Blocker::DeferredParent { id: "p" }]);
    }

    #[test]
    fn an_epic_is_never_ready() {
        let beads = [
            bead("e", Epic, Open, &[]),
            bead("c1", Task, Closed, &[("e", Parent)]),
            bead("lone", Epic, Open, &[]),
        ];
        let g = Graph::new(&beads);
        assert!(g.ready().is_empty(), "{:?}", ids(g.ready()));
        assert_eq!(g.children("e").len(), 1);
        assert!(g.children("lone").is_empty());
    }

    #[test]
    fn missing_dependency_blocks() {
        let beads = [bead("a", Task, Open, &[("zz", Blocks)])];
        let g = Graph::new(&beads);
        assert!(g.ready().is_empty());
        assert_eq!(g.blocked()[0].1, [Blocker::MissingDependency { id: "zz" }]);
    }

    #[test]
    fn related_links_never_block() {
        let beads = [
            bead("a", Task, Open, &[("b", Related)]),
            bead("b", Task, Open, &[("a", DiscoveredFrom)]),
        ];
        assert_eq!(ids(Graph::new(&beads).ready()), ["a", "b"]);
    }

    #[test]
    fn ready_order_is_priority_value_age_id() {
        let mut beads = vec![
            bead("a", Task, Open, &[]),
            bead("b", Task, Open, &[]),
            bead("c", Task, Open, &[]),
            bead("d", Task, Open, &[]),
        ];
        beads[0].priority = 3;
        beads[1].value = 90;
        beads[2].created = "2025-01-01T00:00:00Z";
        assert_eq!(ids(Graph::new(&beads).ready()), ["b", "c", "d", "a"]);
    }

    #[test]
    fn cycles_are_found_and_named() {
        let beads = [
            bead("a", Task, Open, &[("b", Blocks)]),
            bead("b", Task, Open, &[("c", Blocks)]),
            bead("c", Task, Open, &[]),
        ];
        let g = Graph::new(&beads);
        assert_eq!(
            g.cycle_with("c", "a", Blocks).unwrap(),
            ["c", "a", "b", "c"]
        );
        assert_eq!(g.cycle_with("c", "c", Blocks).unwrap(), ["c", "c"]);
        assert!(g.cycle_with("a", "c", Blocks).is_none());
        assert!(g.cycle_with("c", "a", Related).is_none());
    }

    #[test]
    fn epic_blocked_by_its_own_child_is_a_cycle() {
        let beads = [
            bead("e", Epic, Open, &[]),
            bead("c", Task, Open, &[("e", Parent)]),
        ];
        let g = Graph::new(&beads);
        assert!(g.cycle_with("c", "e", Blocks).is_some());
    }

    #[test]
    fn parent_chains_stay_trees() {
        let beads = [
            bead("a", Task, Open, &[("b", Parent)]),
            bead("b", Task, Open, &[]),
        ];
        let g = Graph::new(&beads);
        assert_eq!(g.cycle_with("b", "a", Parent).unwrap(), ["b", "a", "b"]);
        // A task child may depend on its (non-epic) parent task.
        assert!(g.cycle_with("a", "b", Blocks).is_none());
    }
}
