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
