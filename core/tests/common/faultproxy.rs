//! Drives `scripts/faults/faultproxy.py` (the fault suite's scriptable proxy) from Rust tests:
//! one proxy process per test, in front of the real S3 server that scripts/with-s3.sh started,
//! so each test's request counts are its own. Shared by core/tests/faults.rs and
//! cli/tests/faults.rs (included with `#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};

/// The repository root (both crates that include this file sit one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running proxy; killed when dropped (it also exits by itself when its stdin closes).
pub struct FaultProxy {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    control: u16,
    scheme: &'static str,
}

/// One request the proxy saw and the action it applied.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub action: String,
}

impl FaultProxy {
    /// A plain-HTTP proxy in front of the test server (`VSYNC_TEST_ENDPOINT`).
    pub fn start(rules: Value) -> FaultProxy {
        Self::spawn(&rules, None)
    }

    /// A proxy that serves TLS with `cert`/`key` (PEM) in front of the test server.
    pub fn start_tls(rules: Value, cert: &Path, key: &Path) -> FaultProxy {
        Self::spawn(&rules, Some((cert, key)))
    }

    fn spawn(rules: &Value, tls: Option<(&Path, &Path)>) -> FaultProxy {
        let upstream = std::env::var("VSYNC_TEST_ENDPOINT")
            .expect("VSYNC_TEST_ENDPOINT is not set: run under scripts/with-s3.sh (./scripts/task test:faults)");
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let mut cmd = Command::new("python3");
        cmd.arg(repo_root().join("scripts/faults/faultproxy.py")).args([
            "--upstream",
            &upstream,
            "--rules",
            &rules.to_string(),
        ]);
        if let Some((cert, key)) = tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start python3");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("proxy banner");
        let field = |name: &str| -> u16 {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("unexpected proxy banner {line:?}"))
        };
        let (port, control) = (field("port="), field("control="));
        FaultProxy { child, _stdin: stdin, port, control, scheme: if tls.is_some() { "https" } else { "http" } }
    }

    /// The endpoint clients use to go through the proxy.
    pub fn endpoint(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// The same endpoint under the name `localhost` (for TLS name checks).
    pub fn endpoint_named(&self, host: &str) -> String {
        format!("{}://{host}:{}", self.scheme, self.port)
    }

    fn control(&self, method: &str, path: &str, body: &str) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.control)).expect("control connection");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: control\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("control request");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("control response");
        let json = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(json).unwrap_or_else(|e| panic!("control answer {resp:?}: {e}"))
    }

    /// Replace the rules (their hit counters restart).
    pub fn set_rules(&self, rules: Value) {
        self.control("PUT", "/rules", &rules.to_string());
    }

    /// Forget the requests seen so far.
    pub fn reset(&self) {
        self.control("POST", "/reset", "");
    }

    pub fn seen(&self) -> Vec<Seen> {
        let stats = self.control("GET", "/stats", "");
        stats["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| Seen {
                method: r["method"].as_str().unwrap_or("").into(),
                path: r["path"].as_str().unwrap_or("").into(),
                action: r["action"].as_str().unwrap_or("").into(),
            })
            .collect()
    }

    /// Connections accepted (TLS: counted before the handshake, so a refused one counts).
    pub fn connections(&self) -> u64 {
        self.control("GET", "/stats", "")["connections"].as_u64().unwrap_or(0)
    }

    /// Requests with this method whose (percent-encoded) path ends with `suffix`.
    pub fn count(&self, method: &str, suffix: &str) -> usize {
        self.seen().iter().filter(|r| r.method == method && r.path.ends_with(suffix)).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A rule: `method` requests whose path matches `path` (a regex) get `action`.
pub fn rule(method: &str, path: &str, action: Value) -> Value {
    json!({"method": method, "path": path, "action": action})
}

/// The suite's TLS material (scripts/faults/make-certs.sh), generated once per test process
/// under the target directory. A child process of a case (which trusts the parent's CA through
/// `SSL_CERT_FILE`) uses the parent's, named by `VSYNC_FAULT_CERTS`.
pub fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(dir) = std::env::var("VSYNC_FAULT_CERTS") {
            return PathBuf::from(dir);
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fault-certs-{}", std::process::id()));
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/faults/make-certs.sh"))
            .arg(&dir)
            .status()
            .expect("run make-certs.sh");
        assert!(status.success(), "scripts/faults/make-certs.sh failed");
        dir
    })
}
