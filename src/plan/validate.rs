//! Checking a plan before anything is created. Problems are collected, not stopped at, so
//! that a planner's repair round (or a person) sees all of them at once.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::format::{Plan, Size};

pub const MAX_ITEMS: usize = 50;
pub const MAX_TITLE: usize = 120;
pub const MAX_DESCRIPTION: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: `goal`, `items[2] (api)`, `assumptions[0] (pkce)`.
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Validates `plan`. `existing` resolves a dependency that is not an item key to an
/// existing bead id (None when there is no such bead).
pub fn validate(plan: &Plan, existing: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut problem = |place: String, message: String| out.push(Problem { place, message });
    if plan.goal.trim().is_empty() {
        problem("goal".into(), "the goal is empty".into());
    }
    if plan.items.is_empty() {
        problem("items".into(), "the plan has no items".into());
    }
    if plan.items.len() > MAX_ITEMS {
        problem(
            "items".into(),
            format!(
                "{} items is too many for one plan (at most {MAX_ITEMS}): plan a smaller goal",
                plan.items.len()
            ),
        );
    }
    let mut assumption_keys = HashSet::new();
    for (i, a) in plan.assumptions.iter().enumerate() {
        let place = format!("assumptions[{i}] ({})", a.key);
        if !valid_key(&a.key) {
            problem(
                place.clone(),
                format!("key '{}' must be lower-case letters, digits, - or _", a.key),
            );
        }
        if !assumption_keys.insert(a.key.as_str()) {
            problem(place.clone(), format!("key '{}' is used twice", a.key));
        }
        if a.text.trim().is_empty() {
            problem(place, "the assumption has no text".into());
        }
    }
    let item_keys: HashMap<&str, usize> = plan
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.key.as_str(), i))
        .collect();
    let mut seen = HashSet::new();
    for (i, item) in plan.items.iter().enumerate() {
        let place = format!("items[{i}] ({})", item.key);
        if !valid_key(&item.key) {
            problem(
                place.clone(),
                format!(
                    "key '{}' must be lower-case letters, digits, - or _",
                    item.key
                ),
            );
        }
        if !seen.insert(item.key.as_str()) {
            problem(place.clone(), format!("key '{}' is used twice", item.key));
        }
        if item.title.trim().is_empty() {
            problem(place.clone(), "the title is empty".into());
        } else if item.title.chars().count() > MAX_TITLE {
            problem(
                place.clone(),
                format!("the title is longer than {MAX_TITLE} characters"),
            );
        }
        if item.description.chars().count() > MAX_DESCRIPTION {
            problem(
                place.clone(),
                format!(
                    "the description is longer than {MAX_DESCRIPTION} characters: split the item"
                ),
            );
        }
        if item.priority > crate::bead::MAX_PRIORITY {
            problem(
                place.clone(),
                format!("priority {} is not 0-4", item.priority),
            );
        }
        if item.value > crate::bead::MAX_VALUE {
            problem(place.clone(), format!("value {} is not 0-100", item.value));
        }
        if item.size == Size::Xl {
            problem(
                place.clone(),
                "size xl is too large for one step: split it into smaller items".into(),
            );
        }
        if item.acceptance.iter().all(|a| a.trim().is_empty()) {
            problem(
                place.clone(),
                "no acceptance criteria: say how to tell it is done".into(),
            );
        }
        for dep in &item.depends_on {
            if dep == &item.key {
                problem(place.clone(), "depends on itself".into());
            } else if !item_keys.contains_key(dep.as_str()) && existing(dep).is_none() {
                problem(
                    place.clone(),
                    format!(
                        "depends on '{dep}', which is neither an item of this plan nor an existing bead"
                    ),
                );
            }
        }
        for a in &item.assumptions {
            if !assumption_keys.contains(a.as_str()) {
                problem(
                    place.clone(),
                    format!("rests on assumption '{a}', which the plan does not list"),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(plan, &item_keys) {
        problem(
            "items".into(),
            format!("the dependencies form a cycle: {}", cycle.join(" -> ")),
        );
    }
    out
}

/// A cycle among items' `depends_on`, as keys starting and ending with the same one.
fn find_cycle(plan: &Plan, keys: &HashMap<&str, usize>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        plan: &Plan,
        keys: &HashMap<&str, usize>,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        marks[i] = Mark::Active;
        path.push(i);
        for dep in &plan.items[i].depends_on {
            let Some(&j) = keys.get(dep.as_str()) else {
                continue;
            };
            if j == i {
                continue;
            }
            match marks[j] {
                Mark::Active => {
                    let start = path.iter().position(|&p| p == j).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..]
                        .iter()
                        .map(|&p| plan.items[p].key.clone())
                        .collect();
                    cycle.push(plan.items[j].key.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(j, plan, keys, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; plan.items.len()];
    for i in 0..plan.items.len() {
        if marks[i] == Mark::New
            && let Some(c) = visit(i, plan, keys, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// Items in an order where every item comes after the items it depends on (stable
/// otherwise). Call on a plan without cycles.
pub fn topological(plan: &Plan) -> Vec<usize> {
    let keys: HashMap<&str, usize> = plan
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.key.as_str(), i))
        .collect();
    let mut done = vec![false; plan.items.len()];
    let mut out = Vec::with_capacity(plan.items.len());
    while out.len() < plan.items.len() {
        let before = out.len();
        for (i, item) in plan.items.iter().enumerate() {
            if !done[i]
                && item
                    .depends_on
                    .iter()
                    .all(|d| keys.get(d.as_str()).is_none_or(|&j| done[j] || j == i))
            {
                done[i] = true;
                out.push(i);
            }
        }
        if out.len() == before {
            // A cycle: append the rest as they are (validation reports it).
            out.extend((0..plan.items.len()).filter(|&i| !done[i]));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::format::{EXAMPLE, parse};
    use super::*;
    use std::path::Path;

    fn plan() -> Plan {
        parse(Path::new("p.toml"), EXAMPLE).unwrap()
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_example_is_valid() {
        assert_eq!(validate(&plan(), &none), []);
    }

    #[test]
    fn problems_are_all_reported() {
        let mut p = plan();
        p.items[0].acceptance.clear();
        p.items[1].size = Size::Xl;
        p.items[1].depends_on.push("fg-nope".into());
        p.items[1].assumptions.push("ghost".into());
        p.items.push(p.items[0].clone());
        let problems: Vec<String> = validate(&p, &none).iter().map(|p| p.to_string()).collect();
        let all = problems.join("\n");
        assert!(
            all.contains("items[0] (users): no acceptance criteria"),
            "{all}"
        );
        assert!(all.contains("size xl is too large"), "{all}");
        assert!(all.contains("depends on 'fg-nope'"), "{all}");
        assert!(all.contains("assumption 'ghost'"), "{all}");
        assert!(all.contains("key 'users' is used twice"), "{all}");
    }

    #[test]
    fn existing_beads_are_accepted_as_dependencies() {
        let mut p = plan();
        p.items[0].depends_on.push("fg-abcd".into());
        let known = |d: &str| (d == "fg-abcd").then(|| d.to_owned());
        assert_eq!(validate(&p, &known), []);
    }

    #[test]
    fn cycles_are_named() {
        let mut p = plan();
        p.items[0].depends_on.push("callback".into());
        let problems = validate(&p, &none);
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("users -> callback -> users")),
            "{problems:?}"
        );
    }

    #[test]
    fn topological_order_puts_dependencies_first() {
        let mut p = plan();
        p.items.swap(0, 1);
        let order: Vec<&str> = topological(&p)
            .into_iter()
            .map(|i| p.items[i].key.as_str())
            .collect();
        assert_eq!(order, ["users", "callback"]);
    }
}
