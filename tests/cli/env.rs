//! `TestEnv`: a temporary git repository and a way to run forge in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tempfile::TempDir;

pub const NOW: &str = "2026-11-21T09:00:00Z";

/// The start of a script harness that keeps its prompt for [`TestEnv::prompts`].
pub const KEEP_PROMPT: &str = "cat > \"$FORGE_REPO/../prompt-$(date +%s%N).txt\"";

pub struct TestEnv {
    _tmp: TempDir,
    pub home: PathBuf,
    pub repo: PathBuf,
    pub extra_env: Vec<(String, String)>,
    /// How many forge commands were made: each gets the next `FORGE_SEED`.
    commands: AtomicU64,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The `--json` error envelope: the last line on stderr (warnings come before it).
    pub fn error_json(&self) -> Value {
        serde_json::from_str(self.stderr.trim().lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", self.stderr))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "forge failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails_with(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn forge_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_forge"))
}

/// A clean environment: nothing from the developer's machine leaks into a test.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Tester")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Tester")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-21T09:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-21T09:00:00Z");
    cmd
}

impl TestEnv {
    /// A fresh git repository with one commit, not yet initialised for forge.
    pub fn bare() -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Ada Tester\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        let env = TestEnv {
            _tmp: tmp,
            home,
            repo,
            extra_env: Vec::new(),
            commands: AtomicU64::new(0),
        };
        env.git(&["init", "-q"]);
        std::fs::write(env.repo.join("README"), "hello\n").unwrap();
        env.git(&["add", "README"]);
        env.git(&["commit", "-q", "-m", "initial"]);
        env
    }

    /// A clone of `remote` (a bare repository where forge is initialised and committed),
    /// with its own HOME, as another machine would have it. Its commands' seeds start
    /// after `seeds` (distinct per clone: a seed and the pinned clock make a run id, and
    /// two machines never make the same one).
    pub fn clone_of(remote: &Path, seeds: u64) -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Ada Tester\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        let out = clean_command("git", &home)
            .args(["clone", "-q"])
            .arg(remote)
            .arg(&repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestEnv {
            _tmp: tmp,
            home,
            repo,
            extra_env: Vec::new(),
            commands: AtomicU64::new(seeds),
        }
    }

    /// A fresh repository with `forge init` done.
    pub fn new() -> TestEnv {
        let env = TestEnv::bare();
        env.forge(&["init"]).ok();
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.repo.join(rel)
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = clean_command("git", &self.home)
            .args(args)
            .current_dir(&self.repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = clean_command(forge_bin(), &self.home);
        // Ids are reproducible: each command gets its own seed, 1, 2, 3... in the order the
        // test makes them. Not one seed for the whole test: every command would draw the
        // same ids (each bead id would collide with the last one's and grow a digit), and
        // under the pinned clock the seed is also what orders runs that start in the same
        // second (`ledger::writer::new_run_id`).
        let seed = self.commands.fetch_add(1, Ordering::Relaxed) + 1;
        cmd.args(args)
            .current_dir(&self.repo)
            .env("FORGE_NOW", NOW)
            .env("FORGE_SEED", seed.to_string())
            .env("NO_COLOR", "1");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn forge(&self, args: &[&str]) -> Run {
        to_run(self.command(args).output().unwrap())
    }

    /// Creates a bead and returns its id.
    pub fn create(&self, args: &[&str]) -> String {
        let mut all = vec!["--json", "bead", "create"];
        all.extend_from_slice(args);
        let run = self.forge(&all).ok();
        run.json()["id"].as_str().unwrap().to_owned()
    }

    /// Every file under `.forge/` with its bytes, for byte-identical comparisons.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        walkdir::WalkDir::new(self.path(".forge"))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
            .collect()
    }

    /// Ids in `forge ready --json` order.
    pub fn ready(&self) -> Vec<String> {
        ids(&self.forge(&["--json", "ready"]).ok().json()["ready"])
    }
}

pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl TestEnv {
    /// Appends to `.forge/config.toml` (the default config has no [[gates]] or harnesses).
    pub fn configure(&self, toml: &str) {
        let path = self.path(".forge/config.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(path, text).unwrap();
    }

    /// Replaces the first `from` in `.forge/config.toml` with `to`; the text must be there,
    /// so that a changed default config fails the test instead of silently not applying.
    pub fn edit_config(&self, from: &str, to: &str) {
        let path = self.path(".forge/config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "config.toml has no '{from}'");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// Lets sandboxed harnesses write the directory that holds the repository and HOME,
    /// where fakes record what they saw (pids, prompts, environments). Containment tests
    /// never call this.
    pub fn sandbox_write_beside_repo(&self) {
        let dir = self.repo.parent().unwrap();
        self.edit_config(
            "# write = []",
            &format!("write = [{}]", toml_string(dir.to_str().unwrap())),
        );
    }

    /// Makes `[harness.NAME]` the one `forge step` runs by default.
    pub fn default_harness(&self, name: &str) {
        self.edit_config("# harness = \"claude\"", &format!("harness = \"{name}\""));
    }

    /// What a harness that keeps its prompt did keep, oldest first: the files
    /// `prompt-<nanoseconds>.txt` beside the repository (a script harness writes them with
    /// [`KEEP_PROMPT`]).
    pub fn prompts(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.repo.parent().unwrap())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("prompt-"))
            .map(|e| e.path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Every ledger event, as `forge --json ledger show` lists them.
    pub fn events(&self) -> Vec<Value> {
        self.forge(&["--json", "ledger", "show"]).ok().json()["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `forge --json show ID`.
    pub fn show(&self, id: &str) -> Value {
        self.forge(&["--json", "show", id]).ok().json()
    }

    /// Configures `[harness.NAME]` as a `command` preset running `sh -c SCRIPT`.
    pub fn script_harness(&self, name: &str, script: &str) {
        self.configure(&format!(
            "[harness.{name}]\npreset = \"command\"\ncommand = [\"sh\", \"-c\", {}]\ntimeout = 30\n",
            toml_string(script)
        ));
    }

    /// Commits everything in the main working tree (so that tests start from a clean one).
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

pub fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Waits until `path` exists: a marker a fake harness writes once it has started, so that
/// a test never guesses with a sleep how long a loaded machine takes to get there. The
/// deadline is generous; missing it fails the test, naming `what`.
pub fn wait_for_marker(path: &Path, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A `sh` fragment for fake harnesses: creates the marker `started` beside the repository,
/// then waits (25 s at most, inside the script harness's 30 s timeout) until the test
/// creates `go` there. The test decides when the harness may go on, instead of a sleep.
pub const WAIT_FOR_GO: &str = ": > \"$FORGE_REPO/../started\"; i=0; \
     while [ ! -e \"$FORGE_REPO/../go\" ] && [ $i -lt 250 ]; do sleep 0.1; i=$((i+1)); done; ";

/// The live processes (not zombies) whose environment holds `entry` (`NAME=value`), by pid
/// as this test sees them: what a run left behind, found whatever PID namespace its
/// processes were in and whatever pids they recorded there.
pub fn processes_with_env(entry: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let live = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next())
                    != Some("Z")
            });
            live && std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|e| e == entry.as_bytes()))
        })
        .collect();
    found.sort();
    found
}
