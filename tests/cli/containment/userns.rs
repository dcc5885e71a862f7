//! The harness's own network namespace when forge is not root: through a user namespace,
//! where the kernel allows unprivileged ones (it does where these tests run). Tested on the
//! trampoline itself, run as an unprivileged user (`nobody` when the tests run as root),
//! with a policy that lets TCP through only to one port: Landlock alone would let it reach
//! a listener on that port in forge's namespace; inside its own, nothing listens there.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env::forge_bin;

/// What the sandboxed program prints: its uid, whether it reached the port, and the
/// network interfaces it sees.
const PROGRAM: &str = r#"
import os, socket, sys
print("uid", os.getuid())
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    print("reached")
except OSError as e:
    print("refused", e.errno)
for line in open("/proc/self/net/dev").read().splitlines()[2:]:
    print("interface", line.split(":")[0].strip())
"#;

/// forge's binary where an unprivileged user can run it (the build directory may not be
/// reachable for them).
pub(super) fn reachable_forge(dir: &Path) -> PathBuf {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.join("forge");
    if std::fs::hard_link(forge_bin(), &exe).is_err() {
        std::fs::copy(forge_bin(), &exe).unwrap();
    }
    exe
}

/// Runs the program through `forge __sandbox` as an unprivileged user, TCP allowed only to
/// `port`, with or without a network namespace.
fn sandboxed(forge: &Path, port: u16, netns: bool) -> (String, u32) {
    let policy = serde_json::json!({
        "abi": 7,
        "read": ["/usr", "/lib", "/lib64", "/bin", "/etc", "/proc/self"],
        "write": ["/dev/null"],
        "network": "allowlist",
        "proxy_port": port,
        "scoped": true,
        "memory_bytes": null,
        "max_processes": null,
        "netns": if netns { serde_json::json!({ "forward": null }) } else { serde_json::Value::Null },
    });
    let mut cmd = Command::new(forge);
    cmd.arg("__sandbox")
        .arg(policy.to_string())
        .arg("python3")
        .args(["-c", PROGRAM, &port.to_string()])
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    let uid = if rustix::process::geteuid().is_root() {
        cmd.uid(65534).gid(65534); // std drops the supplementary groups too
        65534
    } else {
        rustix::process::getuid().as_raw()
    };
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the trampoline failed ({}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (text, uid)
}

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn an_unprivileged_harness_gets_a_namespace_with_only_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let (listener, port) = listener();
    listener.set_nonblocking(true).unwrap();
    let (out, uid) = sandboxed(&forge, port, true);
    assert!(out.contains(&format!("uid {uid}\n")), "{out}");
    assert!(out.contains("refused 111"), "ECONNREFUSED inside: {out}");
    let interfaces: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("interface "))
        .collect();
    assert_eq!(interfaces, ["lo"], "{out}");
    // Nothing reached the listener in the test's namespace.
    let mut buf = [0u8; 1];
    assert!(
        listener
            .accept()
            .map(|(mut s, _)| s.read(&mut buf))
            .is_err(),
        "a connection arrived from the namespace"
    );
}

#[test]
fn without_the_namespace_the_port_rule_alone_lets_it_reach_the_host() {
    // The control: what the namespace is for.
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let (_listener, port) = listener();
    let (out, _) = sandboxed(&forge, port, false);
    assert!(out.contains("reached"), "{out}");
}
