//! The assumptions registry.

use crate::env::{TestEnv, forge_bin};

#[test]
fn assume_list_resolve_and_flag() {
    let env = TestEnv::new();
    let bead = env.create(&["Use the v2 API"]);
    let a = env
        .forge(&[
            "--json",
            "assume",
            "the v2 API is stable",
            "--bead",
            &bead,
            "--risk",
            "high",
            "--mitigation",
            "pin the version",
        ])
        .ok()
        .json();
    let id = a["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("as-"), "{id}");
    assert_eq!(a["status"], "open");
    assert_eq!(a["bead"], bead.as_str());
    assert_eq!(a["author"], "Ada Tester <ada@example.com>");
    assert!(env.path(&format!(".forge/assumptions/{id}.toml")).exists());

    let other = env
        .forge(&["--json", "assume", "nobody uses IE"])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let open = env.forge(&["--json", "assumptions", "--open"]).ok().json();
    assert_eq!(open["assumptions"].as_array().unwrap().len(), 2);
    env.forge(&[
        "assumption",
        "resolve",
        &other,
        "--validated",
        "--note",
        "checked analytics",
    ])
    .ok();
    let open = env.forge(&["--json", "assumptions", "--open"]).ok().json();
    assert_eq!(open["assumptions"].as_array().unwrap().len(), 1);

    let done = env
        .forge(&["--json", "assumption", "resolve", &id[3..], "--invalidated"])
        .ok()
        .json();
    assert_eq!(done["assumption"]["status"], "invalidated");
    assert_eq!(done["flagged"], serde_json::json!([bead]));
    let shown = env.show(&bead);
    assert!(
        shown["labels"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("needs-review"))
    );
    let kinds: Vec<String> = env.forge(&["--json", "ledger", "show"]).ok().json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "assumption.raised").count(),
        2
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "assumption.resolved").count(),
        2
    );
    // Exactly one of --validated and --invalidated.
    env.forge(&["assumption", "resolve", &id]).fails_with(2);
    env.forge(&["assumption", "resolve", "as-nope", "--validated"])
        .fails_with(6);
}

#[test]
fn mitigate_creates_a_linked_bead() {
    let env = TestEnv::new();
    let bead = env.create(&["Ship it"]);
    let a = env
        .forge(&[
            "--json",
            "assume",
            "the cache is warm",
            "--bead",
            &bead,
            "--mitigate",
        ])
        .ok()
        .json();
    let check = a["mitigation_bead"].as_str().unwrap();
    let shown = env.show(check);
    assert!(
        shown["title"]
            .as_str()
            .unwrap()
            .contains("the cache is warm")
    );
    assert_eq!(
        shown["deps"],
        serde_json::json!([{"id": bead, "type": "discovered-from"}])
    );
}

#[test]
fn assume_inside_a_step_lands_in_the_main_registry_and_the_approval_view() {
    let mut env = TestEnv::new();
    let bin_dir = forge_bin().parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    env.extra_env.push(("PATH".into(), path));
    env.script_harness(
        "fake",
        "forge assume 'the config format is TOML' --risk high && echo x > x.txt",
    );
    let bead = env.create(&["Read the config"]);
    env.commit_all("set up");
    let step = env
        .forge(&["--json", "step", "--harness", "fake"])
        .ok()
        .json()["checkpoint"]["step"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = env
        .forge(&["--json", "assumptions", "--step", &step])
        .ok()
        .json();
    let a = &list["assumptions"][0];
    assert_eq!(a["text"], "the config format is TOML");
    assert_eq!(a["step"], step.as_str());
    assert_eq!(a["bead"], bead.as_str());
    // Nothing landed in the worktree's copy of .forge/ (which would be a policy violation).
    let wt_assumptions = env.path(&format!(".git/forge/worktrees/{step}/.forge/assumptions"));
    let files: Vec<_> = std::fs::read_dir(&wt_assumptions)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != ".gitkeep")
        .collect();
    assert!(files.is_empty(), "{files:?}");

    let mut cmd = env.command(&["approve", &step]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("assumptions the step raised").unwrap();
    p.exp_string("the config format is TOML").unwrap();
    p.exp_string("approve and merge").unwrap();
    p.send("\x1b[B\x1b[B\x1b[B\x1b[B").unwrap();
    p.send_line("").unwrap();
    p.exp_string("still waits").unwrap();
    p.exp_eof().unwrap();
}
