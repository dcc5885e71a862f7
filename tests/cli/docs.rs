//! Man pages and completions are generated from the clap definition and committed; this
//! fails when the committed copies are stale. Regenerate with
//! `cargo run -- generate --out .`.

use std::path::Path;

use crate::env::TestEnv;

#[test]
fn committed_man_pages_and_completions_are_current() {
    let env = TestEnv::bare();
    let out = tempfile::tempdir().unwrap();
    env.forge(&["generate", "--out", out.path().to_str().unwrap()])
        .ok();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["man", "completions"] {
        let generated: Vec<_> = walkdir::WalkDir::new(out.path().join(dir))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .collect();
        for e in &generated {
            let rel = e.path().strip_prefix(out.path()).unwrap();
            let committed = std::fs::read(root.join(rel)).unwrap_or_default();
            assert!(
                committed == std::fs::read(e.path()).unwrap(),
                "{} is stale: run `cargo run -- generate --out .` and commit",
                rel.display()
            );
            checked += 1;
        }
        let committed = walkdir::WalkDir::new(root.join(dir))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .count();
        assert_eq!(
            committed,
            generated.len(),
            "{dir}/ holds files forge no longer generates"
        );
    }
    assert!(checked > 10, "only {checked} files generated");
}

#[test]
fn help_documents_exit_codes() {
    let env = TestEnv::bare();
    let help = env.forge(&["--help"]).ok().stdout;
    for line in [
        "5    a .forge/ file is invalid",
        "6    unknown or ambiguous id",
        "9    not a git repository",
    ] {
        assert!(help.contains(line), "{line} missing from --help");
    }
    let man =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/forge.1")).unwrap();
    assert!(man.contains("Exit status"), "the man page lacks exit codes");
}

#[test]
fn version_and_usage_errors() {
    let env = TestEnv::bare();
    assert!(env.forge(&["--version"]).ok().stdout.starts_with("forge "));
    env.forge(&["no-such-command"]).fails_with(2);
}

/// `forge-config(5)` documents every key of `.forge/config.toml` (the unit tests of
/// `src/config_reference/` hold the reference to the config structs) and the prompt
/// template's variables, and forge(1) points to it.
#[test]
fn the_config_reference_is_a_man_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("man/forge-config.5"))
        .expect("man/forge-config.5 is generated and committed");
    assert!(page.contains(".TH FORGE\\-CONFIG 5"), "{page}");
    for needle in [
        "[harness.NAME]",
        "[[gates]]",
        "pass_env",
        "home_files",
        "max_diff_lines",
        "prompt_template",
        "{title}",
        "{feedback}",
        "{rules}",
        "{prompt}",
        "Default:",
        "Example:",
    ] {
        assert!(page.contains(needle), "forge-config(5) lacks {needle}");
    }
    let forge = std::fs::read_to_string(root.join("man/forge.1")).unwrap();
    let see_also = forge.split(".SH \"SEE ALSO\"").nth(1).unwrap_or_default();
    assert!(
        see_also.contains("forge\\-config\\fR(5)"),
        "forge(1) does not name forge-config(5) under SEE ALSO"
    );
}

/// `cargo install` users learn how to install the man pages and completions.
#[test]
fn generate_help_says_where_the_files_go() {
    let env = TestEnv::bare();
    let help = env.forge(&["generate", "--help"]).ok().stdout;
    for needle in ["man/", "MANPATH", "bash-completion", "zsh", "fish"] {
        assert!(
            help.contains(needle),
            "`forge generate --help` lacks {needle}:\n{help}"
        );
    }
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains("forge generate --out"), "README");
    assert!(
        readme.contains("forge-config"),
        "README does not mention forge-config(5)"
    );
}

/// The README's quick start, after its `cargo install`, runs as written (with the forge
/// under test on PATH) and ends with a step that worked.
#[test]
fn the_readme_quick_start_works() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Install and try it")
        .nth(1)
        .expect("README has an \"Install and try it\" section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a ```sh block");
    let script = block
        .strip_prefix("cargo install --locked --path .\n")
        .unwrap_or_else(|| panic!("the quick start starts with its own line `cargo install --locked --path .`:\n{block}"));
    let commit = script.find("git commit").expect("the quick start commits");
    let step = script
        .find("forge step")
        .expect("the quick start runs a step");
    assert!(
        commit < step,
        "the quick start must commit before `forge step`"
    );

    let env = TestEnv::bare();
    let tmp = tempfile::tempdir().unwrap();
    let bin = crate::env::forge_bin();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = crate::env::clean_command("sh", &env.home)
        .args(["-ec", script])
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let run = crate::env::to_run(out);
    assert_eq!(
        run.code, 0,
        "the quick start failed:\n{script}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let repo = walkdir::WalkDir::new(tmp.path())
        .max_depth(2)
        .into_iter()
        .flatten()
        .find(|e| e.file_name() == ".forge")
        .expect("the quick start made a forge repository")
        .path()
        .parent()
        .unwrap()
        .to_owned();
    let steps = crate::env::clean_command(&bin, &env.home)
        .args(["--json", "steps"])
        .current_dir(&repo)
        .output()
        .unwrap();
    let steps: serde_json::Value = serde_json::from_slice(&steps.stdout).unwrap();
    assert!(
        steps.to_string().contains("merged"),
        "the quick start's step was not merged: {steps:#}"
    );
}
