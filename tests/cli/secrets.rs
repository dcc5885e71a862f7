//! Secrets never reach .forge/: values of secret-looking variables, variables named in
//! config, and well-known token shapes are redacted before anything is written.

use crate::env::TestEnv;

const ENV_CANARY: &str = "canary-env-7f3a9c2e41";
const NAMED_CANARY: &str = "canary-named-55aa01";
const GITHUB_CANARY: &str = "ghp_CanaryCanaryCanaryCanaryCanary012345";

fn files_containing(env: &TestEnv, needle: &str) -> Vec<String> {
    env.snapshot()
        .into_iter()
        .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains(needle))
        .map(|(p, _)| p.display().to_string())
        .collect()
}

#[test]
fn canaries_never_reach_forge_files() {
    let mut env = TestEnv::new();
    env.edit_config("env = []", "env = [\"DEPLOY_PHRASE\"]");
    env.extra_env
        .push(("MY_SERVICE_TOKEN".into(), ENV_CANARY.into()));
    env.extra_env
        .push(("DEPLOY_PHRASE".into(), NAMED_CANARY.into()));

    let description = format!(
        "token {ENV_CANARY} and {NAMED_CANARY} and {GITHUB_CANARY} and postgres://u:hunter2pass@db/x"
    );
    let id = env.create(&[
        &format!("title with {ENV_CANARY}"),
        "-d",
        &description,
        "-l",
        NAMED_CANARY,
    ]);
    env.forge(&[
        "bead",
        "update",
        &id,
        "-a",
        &format!("criterion {GITHUB_CANARY}"),
    ])
    .ok();
    env.forge(&[
        "bead",
        "close",
        &id,
        "--reason",
        &format!("done, see {ENV_CANARY}"),
    ])
    .ok();

    for canary in [ENV_CANARY, NAMED_CANARY, GITHUB_CANARY, "hunter2pass"] {
        assert_eq!(
            files_containing(&env, canary),
            Vec::<String>::new(),
            "{canary} leaked"
        );
    }
    let shown = env.show(&id);
    let description = shown["description"].as_str().unwrap();
    assert!(
        description.contains("[REDACTED:MY_SERVICE_TOKEN]"),
        "{description}"
    );
    assert!(
        description.contains("[REDACTED:DEPLOY_PHRASE]"),
        "{description}"
    );
    assert!(
        description.contains("postgres://u:[REDACTED]@db/x"),
        "{description}"
    );
    // The ledger still verifies: redaction happens before hashing.
    env.forge(&["ledger", "verify"]).ok();
}

const DSN_CANARY: &str = "canary-dsn-4e1f9b77";
const DBPASS_CANARY: &str = "canary-dbpass-8c2d31";
const CONFIG_TOKEN_CANARY: &str = "canary-cfgtoken-5b7a66";
const KEY_CANARY: &str = "sk-ant-api03-CanaryKeyCanaryKeyCanaryKey0123";

/// A `claude` harness (an executable script in the test's temp dir, printing Claude Code's
/// stream-json) that fails with an error saying `message`, a shell word that may expand
/// variables from its environment.
fn failing_harness(env: &TestEnv, message: &str, extra: &str) {
    use std::os::unix::fs::PermissionsExt;
    // In a directory of its own: the sandbox lets a harness read its installation.
    let script = env.repo.join("../agent/leaky-agent");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nmsg=\"{message}\"\n\
             echo '{{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\",\"model\":\"m\",\"tools\":[]}}'\n\
             printf '{{\"type\":\"assistant\",\"message\":{{\"role\":\"assistant\",\"content\":[{{\"type\":\"text\",\"text\":\"%s\"}}]}},\"session_id\":\"s-1\"}}\\n' \"$msg\"\n\
             echo \"$msg\" >&2\n\
             printf '{{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"result\":\"%s\",\"session_id\":\"s-1\"}}\\n' \"$msg\"\n\
             exit 1\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.configure(&format!(
        "[harness.leaky]\npreset = \"claude\"\ncommand = [{:?}]\ntimeout = 30\n{extra}",
        script.canonicalize().unwrap().display().to_string()
    ));
    env.default_harness("leaky");
    // Failures in a row would trip the breaker and stop the ticks from running the step.
    env.edit_config("breaker = 3", "breaker = 0");
}

/// Runs `step` and `tick`, as text and as JSON, and returns everything they printed.
fn step_and_tick(env: &TestEnv) -> Vec<(String, String)> {
    let mut printed = Vec::new();
    for args in [
        &["step"][..],
        &["--json", "step"],
        &["tick"],
        &["--json", "tick"],
    ] {
        let run = env.forge(args);
        assert!(
            [0, 4].contains(&run.code),
            "{args:?}: exit {}\n{}\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
        printed.push((
            format!("{args:?}"),
            format!("{}\n{}", run.stdout, run.stderr),
        ));
    }
    printed
}

fn assert_nowhere(env: &TestEnv, printed: &[(String, String)], canary: &str, except: &[&str]) {
    for (args, out) in printed {
        assert!(!out.contains(canary), "{canary} printed by {args}:\n{out}");
    }
    for (path, bytes) in env.snapshot() {
        if except.iter().any(|e| path.ends_with(e)) {
            continue;
        }
        assert!(
            !String::from_utf8_lossy(&bytes).contains(canary),
            "{canary} in {}",
            path.display()
        );
    }
}

#[test]
fn pass_env_values_never_reach_forge_files_or_output() {
    let mut env = TestEnv::new();
    failing_harness(
        &env,
        "database at $DATABASE_URL refused $DB_PASS; service said $SERVICE_TOKEN",
        &format!(
            "pass_env = [\"DATABASE_URL\", \"DB_PASS\"]\nenv = {{ SERVICE_TOKEN = \"{CONFIG_TOKEN_CANARY}\" }}\n"
        ),
    );
    env.extra_env
        .push(("DATABASE_URL".into(), DSN_CANARY.into()));
    env.extra_env.push(("DB_PASS".into(), DBPASS_CANARY.into()));
    env.create(&["Migrate the schema"]);
    env.commit_all("forge set up");

    let printed = step_and_tick(&env);
    // The harness did say them: redacted, by name.
    let step_json = &printed[1].1;
    assert!(step_json.contains("[REDACTED:DATABASE_URL]"), "{step_json}");
    assert!(step_json.contains("[REDACTED:DB_PASS]"), "{step_json}");
    assert!(
        step_json.contains("[REDACTED:SERVICE_TOKEN]"),
        "{step_json}"
    );
    assert_nowhere(&env, &printed, DSN_CANARY, &[]);
    assert_nowhere(&env, &printed, DBPASS_CANARY, &[]);
    // Written by a person into config.toml; nowhere else.
    assert_nowhere(&env, &printed, CONFIG_TOKEN_CANARY, &["config.toml"]);
    env.forge(&["ledger", "verify"]).ok();
}

#[test]
fn a_harness_error_quoting_a_key_is_not_printed() {
    let env = TestEnv::new();
    // Assembled at run time: the script holds no key-shaped text.
    failing_harness(
        &env,
        "upstream said: bad credentials sk-ant-api03-$(echo CanaryKey)CanaryKeyCanaryKey0123",
        "",
    );
    env.create(&["Call the service"]);
    env.commit_all("forge set up");
    let printed = step_and_tick(&env);
    assert!(
        printed[1].1.contains("bad credentials [REDACTED]"),
        "{}",
        printed[1].1
    );
    assert_nowhere(&env, &printed, KEY_CANARY, &[]);
}

#[test]
fn errors_are_printed_through_the_redactor() {
    let mut env = TestEnv::new();
    env.extra_env
        .push(("MY_SERVICE_TOKEN".into(), ENV_CANARY.into()));
    for args in [
        &["show", ENV_CANARY][..],
        &["--json", "show", GITHUB_CANARY],
    ] {
        let run = env.forge(args).fails_with(6);
        assert!(run.stderr.contains("REDACTED"), "{}", run.stderr);
        for canary in [ENV_CANARY, GITHUB_CANARY] {
            assert!(!run.stderr.contains(canary), "{}", run.stderr);
            assert!(!run.stdout.contains(canary), "{}", run.stdout);
        }
    }
}

/// `forge log` prints the raw harness log through the redactor (text and `--json`).
#[test]
fn the_harness_log_is_printed_redacted() {
    let mut env = TestEnv::new();
    let canary = "tok-canary-9f8e7d6c5b4a";
    env.extra_env.push(("SOME_API_TOKEN".into(), canary.into()));
    env.script_harness(
        "leaky",
        &format!("echo \"the key is {canary}\"; echo x > f.txt"),
    );
    env.default_harness("leaky");
    env.create(&["Leak"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step"]).json();
    let step = run["checkpoint"]["step"].as_str().unwrap().to_owned();
    let raw =
        std::fs::read_to_string(env.path(&format!(".git/forge/steps/{step}/harness.log"))).unwrap();
    assert!(
        raw.contains(canary),
        "the raw log keeps what the harness said"
    );
    for args in [
        vec!["log", step.as_str()],
        vec!["--json", "log", step.as_str()],
    ] {
        let out = env.forge(&args).ok();
        assert!(!out.stdout.contains(canary), "{args:?}: {}", out.stdout);
        assert!(
            out.stdout.contains("the key is"),
            "{args:?}: {}",
            out.stdout
        );
    }
}
