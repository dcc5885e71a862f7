//! A harness's own loopback servers (opencode's HTTP server on 127.0.0.1:4096, language
//! servers, test servers it starts): reachable where it has a network namespace of its own,
//! whose loopback is not the host's; the host's loopback services stay out of reach, and
//! hosts outside the allowlist stay refused. Without a namespace the host's loopback is the
//! harness's, and Landlock's port rule is what keeps it out (tested on the trampoline).

use serde_json::Value;

use super::Server;
use super::userns::reachable_forge;
use crate::env::TestEnv;

/// Starts a TCP server and an HTTP server on the harness's 127.0.0.1, connects to them
/// directly and through urllib (which honours the proxy variables and `NO_PROXY`), then
/// tries the host's listener on `HOST_PORT` both ways and a host outside the allowlist.
/// Writes what happened to `net.json` in the worktree.
const PROBE: &str = r#"python3 - <<'PY'
import http.server, json, os, socket, threading, urllib.request
HOST_PORT = int("@HOST_PORT@")
res = {"no_proxy": os.environ.get("NO_PROXY"), "no_proxy_lower": os.environ.get("no_proxy")}
def connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"ping\n")
            return "connected " + s.recv(64).decode()
    except OSError as e:
        return type(e).__name__
def get(url):
    try:
        return "ok " + urllib.request.urlopen(url, timeout=5).read().decode()
    except Exception as e:
        return type(e).__name__ + " " + str(getattr(e, "code", ""))
try:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    def serve():
        c, _ = srv.accept()
        c.sendall(b"pong")
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    res["own_tcp"] = connect(srv.getsockname()[1])
except OSError as e:
    res["own_tcp"] = "bind " + type(e).__name__
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"own-http"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
try:
    h = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=h.serve_forever, daemon=True).start()
    res["own_http"] = get(f"http://127.0.0.1:{h.server_port}/")
    res["own_http_localhost"] = get(f"http://localhost:{h.server_port}/")
except OSError as e:
    res["own_http"] = "bind " + type(e).__name__
res["host_tcp"] = connect(HOST_PORT)
res["host_http"] = get(f"http://127.0.0.1:{HOST_PORT}/")
res["outside_http"] = get("http://192.0.2.1/")
json.dump(res, open("net.json", "w"), indent=1)
PY"#;

/// Runs the probe as the default harness with `[sandbox]` `sandbox`; the checkpoint, what
/// the probe found, and the policy's `network_enforced`.
fn probe(sandbox: &str, host_port: u16) -> (Value, Value, String) {
    let env = TestEnv::new();
    super::set_sandbox(&env, Some(sandbox));
    env.script_harness("net", &PROBE.replace("@HOST_PORT@", &host_port.to_string()));
    env.default_harness("net");
    env.create(&["Probe the loopback"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step"]).json();
    let cp = run["checkpoint"].clone();
    let branch = cp["branch"].as_str().unwrap_or_default().to_owned();
    let net = env.git(&["show", &format!("{branch}:net.json")]);
    let net: Value = serde_json::from_str(&net).unwrap_or_else(|e| panic!("{e}: {net}\n{cp}"));
    let started = env
        .events()
        .into_iter()
        .find(|e| e["kind"] == "harness.started")
        .unwrap();
    let enforced = started["data"]["policy"]["network_enforced"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (cp, net, enforced)
}

/// The tests run where a network namespace is available (root, or unprivileged user
/// namespaces): the harness's loopback is its own.
#[test]
fn a_harness_reaches_its_own_loopback_servers_and_not_the_hosts() {
    let host = Server::start();
    let (cp, net, enforced) = probe(super::ON, host.port);
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    assert!(enforced.contains("network namespace"), "{enforced}");
    assert!(enforced.contains("own loopback"), "{enforced}");
    // Its own servers: directly, and by HTTP clients that go direct to loopback.
    assert_eq!(net["own_tcp"], "connected pong", "{net}");
    assert_eq!(net["own_http"], "ok own-http", "{net}");
    assert_eq!(net["own_http_localhost"], "ok own-http", "{net}");
    for var in ["no_proxy", "no_proxy_lower"] {
        let v = net[var].as_str().unwrap_or_default();
        for name in ["127.0.0.1", "localhost", "::1"] {
            assert!(v.split(',').any(|n| n == name), "{var}={v}");
        }
    }
    // The host's loopback service is not the harness's, either way.
    assert!(
        !net["host_tcp"].as_str().unwrap().starts_with("connected"),
        "{net}"
    );
    assert!(
        !net["host_http"].as_str().unwrap().starts_with("ok"),
        "{net}"
    );
    assert_eq!(host.requests(), Vec::<String>::new());
    // Hosts outside the allowlist are still refused by the proxy.
    assert_eq!(net["outside_http"], "HTTPError 403", "{net}");
}

/// `network = "none"` is no TCP at all, the harness's own loopback included.
#[test]
fn network_none_allows_no_tcp_even_on_the_harness_own_loopback() {
    let host = Server::start();
    let (cp, net, enforced) = probe("mode = \"on\"\nnetwork = \"none\"\n", host.port);
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    assert!(enforced.contains("no TCP"), "{enforced}");
    assert_eq!(net["own_tcp"], "PermissionError", "{net}");
    assert!(
        !net["own_http"].as_str().unwrap().starts_with("ok"),
        "{net}"
    );
    assert!(
        !net["host_tcp"].as_str().unwrap().starts_with("connected"),
        "{net}"
    );
    assert_eq!(host.requests(), Vec::<String>::new());
}

/// A loopback port the allowlist names (a local model server) is the host's, in the
/// namespace too: a client going direct to it (as `NO_PROXY` tells it to) reaches it
/// through the proxy.
#[test]
fn an_allowlisted_host_loopback_port_is_reached_through_the_proxy() {
    let host = Server::start();
    let (cp, net, _) = probe(&super::on_allowing(host.port, "allowlist"), host.port);
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    assert_eq!(net["own_http"], "ok own-http", "{net}");
    assert_eq!(net["host_http"], format!("ok {}", super::BODY), "{net}");
    assert!(!host.requests().is_empty());
}

/// What the sandboxed program prints: whether it reached a server of its own on loopback.
const OWN_SERVER: &str = r#"
import socket, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
threading.Thread(target=lambda: srv.accept()[0].close(), daemon=True).start()
try:
    socket.create_connection(("127.0.0.1", srv.getsockname()[1]), timeout=3).close()
    print("reached")
except OSError as e:
    print("refused", e.errno)
"#;

/// Runs [`OWN_SERVER`] through `forge __sandbox`, network allowlist with the proxy on
/// `port`, with or without a namespace of its own.
fn own_server(netns: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let policy = serde_json::json!({
        "abi": 7,
        "read": ["/usr", "/lib", "/lib64", "/bin", "/etc", "/proc/self"],
        "write": ["/dev/null"],
        "network": "allowlist",
        "proxy_port": 9,
        "scoped": true,
        "memory_bytes": null,
        "max_processes": null,
        "netns": if netns { serde_json::json!({ "forward": null }) } else { Value::Null },
    });
    let out = std::process::Command::new(forge)
        .arg("__sandbox")
        .arg(policy.to_string())
        .args(["python3", "-c", OWN_SERVER])
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn in_its_own_namespace_the_port_rule_does_not_apply() {
    assert_eq!(own_server(true).trim(), "reached");
}

#[test]
fn without_a_namespace_the_port_rule_keeps_loopback_closed() {
    // The control: loopback is the host's, and only the proxy's port is reachable.
    assert_eq!(own_server(false).trim(), "refused 13");
}
