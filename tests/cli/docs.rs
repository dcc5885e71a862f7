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
