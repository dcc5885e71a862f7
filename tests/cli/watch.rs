//! `forge watch`: refused without a terminal; the view of a real repository (waiting,
//! failed and ready) as an insta snapshot; and, on a pseudo-terminal, a running step's
//! progress changing live, then `q` restoring the terminal.

use std::process::Stdio;

use crate::env::{NOW, TestEnv, clean_command, forge_bin, wait_for_marker};

#[test]
fn watch_refuses_without_a_terminal_and_points_to_status() {
    let env = TestEnv::new();
    let run = env.forge(&["watch"]).fails_with(3);
    assert!(run.stderr.contains("needs a terminal"), "{}", run.stderr);
    assert!(run.stderr.contains("forge status"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// Waits (up to 25 s, inside the harness's 30 s timeout) until the test creates `name`
/// beside the repository.
fn wait_for(name: &str) -> String {
    format!(
        "i=0; while [ ! -e \"$FORGE_REPO/../{name}\" ] && [ $i -lt 250 ]; do sleep 0.1; \
         i=$((i+1)); done; "
    )
}

#[test]
fn the_view_of_a_repository_with_waiting_failed_and_ready_work() {
    let env = TestEnv::new();
    env.script_harness("edits", "echo 'editing the file'; echo more >> README");
    env.script_harness("fails", "echo 'giving up'; exit 1");
    env.sandbox_write_beside_repo();
    let waits = env.create(&["Say more in the readme", "-p", "1"]);
    let fails = env.create(&["Fix the flaky test", "-p", "2"]);
    env.create(&["Write the changelog", "-p", "3"]);
    let blocked = env.create(&["Release", "-p", "1"]);
    env.forge(&["bead", "dep", "add", &blocked, &waits]).ok();
    env.commit_all("set up");
    env.forge(&["step", "--harness", "edits", &waits]).ok();
    env.forge(&["step", "--harness", "fails", &fails])
        .fails_with(4);

    let (_, layout) = forge::workspace::open_repo(&env.repo).unwrap();
    let config = forge::config::Config::load(&layout.config()).unwrap();
    let now = forge::clock::parse_rfc3339(NOW).unwrap();
    let mut watcher = forge::watch::model::Watcher::from_parts(
        layout,
        config,
        forge::redact::Redactor::default(),
        forge::clock::Clock::Fixed(now),
    )
    .unwrap();
    let mut snap = watcher.refresh();
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    assert_eq!(snap.waiting.len(), 1, "{snap:?}");
    assert_eq!(snap.failed.len(), 1, "{snap:?}");
    // The head is a real commit id: shown, but not part of the snapshot.
    assert_eq!(snap.waiting[0].head.len(), 12, "{snap:?}");
    snap.waiting[0].head = "HEAD".into();
    let state = forge::watch::view::ViewState {
        selected: Some(snap.waiting[0].step.clone()),
        message: String::new(),
    };
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 22)).unwrap();
    terminal
        .draw(|f| forge::watch::view::render(f, &snap, &state))
        .unwrap();
    insta::assert_snapshot!("a_repository_watched", terminal.backend().to_string());
}

mod pty {
    use rexpect::session::spawn_command;

    use super::*;

    /// `forge watch` on a pseudo-terminal of 120 x 40 (rexpect's has no size: `stty` gives
    /// it one before forge starts).
    fn watch_session(env: &TestEnv) -> rexpect::session::PtySession {
        let mut cmd = clean_command("sh", &env.home);
        cmd.args(["-c", "stty cols 120 rows 40 && exec \"$0\" watch"])
            .arg(forge_bin())
            .current_dir(&env.repo)
            .env("FORGE_NOW", NOW)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("PAGER", "cat");
        spawn_command(cmd, Some(30_000)).unwrap()
    }

    fn beside(env: &TestEnv, name: &str) -> std::path::PathBuf {
        env.repo.parent().unwrap().join(name)
    }

    #[test]
    fn watch_shows_a_running_steps_progress_live_and_quits_cleanly() {
        let env = TestEnv::new();
        // A harness that says one thing, waits for the test, says another, waits again.
        let script = format!(
            "echo 'progress: firststage'; : > \"$FORGE_REPO/../started\"; {}\
             echo 'progress: LATERPHASE'; : > \"$FORGE_REPO/../second\"; {}\
             echo x > x.txt",
            wait_for("go"),
            wait_for("go2")
        );
        env.script_harness("slow", &script);
        env.sandbox_write_beside_repo();
        let bead = env.create(&["Take a while"]);
        env.commit_all("set up");
        let mut step = env
            .command(&["step", "--harness", "slow", &bead])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_marker(&beside(&env, "started"), "the harness");

        let mut p = watch_session(&env);
        // ratatui writes only the cells that changed, moving the cursor over the rest: the
        // words looked for are single words, different in every position.
        p.exp_string("firststage").unwrap();
        std::fs::write(beside(&env, "go"), "").unwrap();
        wait_for_marker(&beside(&env, "second"), "the harness's second line");
        p.exp_string("LATERPHASE").unwrap();
        p.send("q").unwrap();
        p.flush().unwrap();
        let rest = p.exp_eof().unwrap();
        // The alternate screen is left and the cursor shown again.
        assert!(rest.contains("\x1b[?1049l"), "{rest:?}");
        assert!(rest.contains("\x1b[?25h"), "{rest:?}");
        let status = p.process().wait().unwrap();
        assert!(
            matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
            "{status:?}"
        );

        std::fs::write(beside(&env, "go2"), "").unwrap();
        assert!(step.wait().unwrap().success());
    }
}
