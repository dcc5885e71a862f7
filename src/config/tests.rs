//! Tests of config loading: paths that must stay inside the worktree, protected path
//! patterns, defaults and the file forge init writes.

use super::paths::stays_inside;
use super::*;

#[test]
fn copy_and_prompt_template_stay_inside() {
    for ok in [".env", "./.env", "config/local.toml", "a/./b"] {
        assert!(stays_inside(ok), "{ok}");
    }
    for bad in ["/abs/file", "../x", "a/../../b", "a/..", "", ".", "./", "/"] {
        assert!(!stays_inside(bad), "{bad}");
    }
}

#[test]
fn escaping_paths_are_refused_at_load_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let cases = [
        (
            "schema = 1\n[worktree]\ncopy = [\".env\",\n  \"/abs/file\"]\n",
            4,
            "[worktree] copy: \"/abs/file\" is an absolute path",
        ),
        (
            "schema = 1\n\n[worktree]\ncopy = [\"../x\"]\n",
            4,
            "[worktree] copy: \"../x\" contains '..'",
        ),
        (
            "schema = 1\n[step]\nprompt_template = \"/etc/passwd\"\n",
            3,
            "[step] prompt_template: \"/etc/passwd\" is an absolute path",
        ),
        (
            "schema = 1\n[policy]\nprotected_paths = [\"ci/**\",\n  \"src/{a,b\"]\n",
            4,
            "[policy] protected_paths: \"src/{a,b\" is not a gitignore pattern",
        ),
    ];
    for (text, want_line, want) in cases {
        std::fs::write(&path, text).unwrap();
        match Config::load(&path).unwrap_err() {
            crate::error::Error::Parse {
                path: p,
                line,
                message,
                ..
            } => {
                assert_eq!(p, path);
                assert_eq!(line, want_line, "{message}");
                assert!(message.starts_with(want), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    std::fs::write(&path, "schema = 1\n[worktree]\ncopy = [\".env\"]\n").unwrap();
    assert_eq!(Config::load(&path).unwrap().worktree.copy, [".env"]);
}

#[test]
fn zero_timeouts_and_zero_tick_steps_are_refused_at_load_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let cases = [
        (
            "schema = 1\n[[gates]]\nname = \"t\"\nrun = \"true\"\ntimeout = 0\n",
            5,
            11,
            "a timeout is 1 to 604800",
        ),
        (
            "schema = 1\n[worktree]\nsetup = \"make\"\nsetup_timeout = 0\n",
            4,
            17,
            "a timeout is 1 to 604800",
        ),
        (
            "schema = 1\n\n[harness.x]\npreset = \"claude\"\ntimeout = 0\n",
            5,
            11,
            "a timeout is 1 to 604800",
        ),
        (
            "schema = 1\n[harness.x]\npreset = \"claude\"\ntimeout = 9999999\n",
            4,
            11,
            "9999999 is out of range",
        ),
        ("schema = 1\n[tick]\nsteps = 0\n", 3, 9, "[tick] steps = 0"),
    ];
    for (text, want_line, want_column, want) in cases {
        std::fs::write(&path, text).unwrap();
        match Config::load(&path).unwrap_err() {
            crate::error::Error::Parse {
                path: p,
                line,
                column,
                message,
            } => {
                assert_eq!(p, path);
                assert_eq!((line, column), (want_line, want_column), "{message}");
                assert!(message.contains(want), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn invalid_utf8_is_a_bad_file_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, b"schema = 1\n# caf\xe9\n").unwrap();
    match Config::load(&path).unwrap_err() {
        crate::error::Error::Parse { line, column, .. } => assert_eq!((line, column), (2, 6)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn default_config_parses() {
    let c: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
    assert_eq!(c.schema, 1);
    assert!(c.secrets.env.is_empty());
}

#[test]
fn acp_settings_on_another_preset_are_refused_with_their_line() {
    let text = "schema = 1\n\n[harness.c]\npreset = \"claude\"\n\n[harness.c.permissions]\nexecute = \"allow\"\n";
    let e = Config::parse(Path::new("/r/.forge/config.toml"), text).unwrap_err();
    let said = e.to_string();
    assert!(said.starts_with("/r/.forge/config.toml:6"), "{said}");
    assert!(said.contains("only the acp preset uses"), "{said}");
    let ok = text.replace("\"claude\"", "\"acp\"");
    Config::parse(Path::new("/r/.forge/config.toml"), &ok).unwrap();
}
