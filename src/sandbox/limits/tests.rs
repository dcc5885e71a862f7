//! Tests of memory and process limits: cgroup discovery and rlimit fallbacks.

use super::*;

const MOUNTINFO: &str = "\
35 24 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
36 24 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 24 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 24 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

#[test]
fn v1_hierarchies_at_the_process_own_cgroup() {
    let own = "4:memory:/runner/abc\n8:pids:/\n0::/\n";
    let none = |_: &Path| None;
    assert_eq!(
        candidates(MOUNTINFO, own, Controller::Memory, &none),
        vec![Place {
            dir: PathBuf::from("/sys/fs/cgroup/memory/runner/abc"),
            v2: false
        }]
    );
    assert_eq!(
        candidates(MOUNTINFO, own, Controller::Pids, &none),
        vec![Place {
            dir: PathBuf::from("/sys/fs/cgroup/pids"),
            v2: false
        }]
    );
}

#[test]
fn v2_at_the_nearest_ancestor_that_enables_the_controller() {
    let mountinfo = "40 24 0:35 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    let own = "0::/user.slice/session-1.scope\n";
    let control = |dir: &Path| {
        Some(match dir.to_str()? {
            "/sys/fs/cgroup" => "cpu memory pids".to_owned(),
            "/sys/fs/cgroup/user.slice" => "memory".to_owned(),
            _ => String::new(),
        })
    };
    assert_eq!(
        candidates(mountinfo, own, Controller::Memory, &control),
        vec![Place {
            dir: PathBuf::from("/sys/fs/cgroup/user.slice"),
            v2: true
        }]
    );
    assert_eq!(
        candidates(mountinfo, own, Controller::Pids, &control),
        vec![Place {
            dir: PathBuf::from("/sys/fs/cgroup"),
            v2: true
        }]
    );
    // Only hugetlb enabled anywhere: nowhere.
    let hugetlb = |_: &Path| Some("hugetlb".to_owned());
    assert!(candidates(mountinfo, own, Controller::Pids, &hugetlb).is_empty());
}

#[test]
fn counters_from_flat_keyed_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("memory.oom_control");
    std::fs::write(&f, "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n").unwrap();
    assert_eq!(counter(&f, "oom_kill"), 3);
    assert_eq!(counter(&f, "oom"), 0);
    assert_eq!(counter(&dir.path().join("absent"), "max"), 0);
}

#[test]
fn hits_name_the_setting() {
    let h = Hits {
        oom_kills: 1,
        fork_refusals: 2,
    };
    let d = h.describe().unwrap();
    assert!(d.contains("memory_mb) killed 1 process;"), "{d}");
    assert!(d.contains("max_processes) refused 2 forks"), "{d}");
    assert_eq!(Hits::default().describe(), None);
}
