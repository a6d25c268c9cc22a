//! Issue 23 #9: `vsync dev-server` keeps every object inside its bucket, caps request bodies and
//! refuses to serve other machines with its well-known default secret. Each test starts its own
//! server on 127.0.0.1 (two buckets in a scratch data directory) and talks to it with the core's
//! S3 client, signed with SigV4 like any client; the data directory is then inspected directly.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use vsync_core::{s3, Config};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SECRET: &str = "dev-server-keys-test-secret";
const ACCESS: &str = "dev-keys-access";
const CAP: usize = 4096;

/// A running dev server, killed on drop.
struct Server {
    child: Child,
    endpoint: String,
    data: tempfile::TempDir,
}

impl Server {
    fn start() -> Result<Server, Box<dyn std::error::Error>> {
        Server::start_with(&[])
    }

    fn start_with(extra: &[&std::ffi::OsStr]) -> Result<Server, Box<dyn std::error::Error>> {
        let data = tempfile::tempdir()?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_vsync"))
            .env_clear()
            .env("VSYNC_DEV_SECRET_KEY", SECRET)
            .args(["dev-server", "--port", "0", "--access-key", ACCESS, "--bucket", "bucket-a", "--bucket", "other-b"])
            .args(["--max-object-bytes", &CAP.to_string(), "--data"])
            .arg(data.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // The endpoint line comes first; the server prints it once it listens.
        let mut endpoint = None;
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(e) = line.strip_prefix("VSYNC_DEV_ENDPOINT=") {
                endpoint = Some(e.to_string());
            }
            if line.starts_with("VSYNC_DEV_ACCESS_KEY=") {
                break;
            }
        }
        let endpoint = endpoint.ok_or("the dev server did not announce its endpoint")?;
        Ok(Server { child, endpoint, data })
    }

    fn config(&self) -> Config {
        Config {
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            bucket: "bucket-a".into(),
            access_key_id: ACCESS.into(),
            secret_access_key: SECRET.to_string().into(),
            ambient_credentials: false,
            prefix: String::new(),
            env: "dev".into(),
            salt: "salt".into(),
            iterations: 1000,
        }
    }

    /// PUT `key` (no prefix) in bucket-a; `Err` carries the client's error message.
    fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        let key = key.to_string();
        s3::run(&self.config(), Duration::from_secs(20), |store| async move { store.put(&key, body, None).await })
            .map_err(|e| e.message().to_string())
    }

    /// Every file under the data directory, relative to it.
    fn files(&self) -> Vec<PathBuf> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else if let Ok(rel) = p.strip_prefix(root) {
                    out.push(rel.to_path_buf());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data.path(), self.data.path(), &mut out);
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn keys_with_dot_segments_stay_out_of_other_buckets() -> TestResult {
    let server = Server::start()?;
    for key in ["../other-b/manifest", "../escape-1", "..", ".", "a/../../other-b/x", "/abs", "a//b", "./a"] {
        let e = server.put(key, b"planted".to_vec()).err().ok_or(format!("PUT {key:?} was accepted"))?;
        assert!(e.contains("400"), "PUT {key:?}: {e}");
    }
    // Nothing landed anywhere: not in the other bucket, not beside the metadata files.
    assert!(std::fs::read_dir(server.data.path().join("other-b"))?.next().is_none(), "{:?}", server.files());
    assert!(!server.files().iter().any(|f| f.to_string_lossy().contains("escape")), "{:?}", server.files());
    // The server is still up and ordinary keys work (`..` inside a segment is a name, not a step).
    server.put("app/prod/manifest", b"ok".to_vec())?;
    server.put("a..b/..c", b"ok".to_vec())?;
    assert_eq!(std::fs::read(server.data.path().join("bucket-a/app/prod/manifest"))?, b"ok");
    assert!(std::fs::read_dir(server.data.path().join("other-b"))?.next().is_none());
    Ok(())
}

#[test]
fn the_request_log_is_private_to_its_owner() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    // It names access key ids and session tokens: no other local user may read it.
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("requests.log");
    let server = Server::start_with(&["--request-log".as_ref(), log.as_os_str()])?;
    server.put("app/prod/manifest", b"ok".to_vec())?;
    assert_eq!(std::fs::metadata(&log)?.permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&log)?.lines().any(|l| l.starts_with(&format!("{ACCESS} "))));
    Ok(())
}

#[test]
fn bodies_over_the_cap_are_refused() -> TestResult {
    let server = Server::start()?;
    server.put("at-cap", vec![7; CAP])?;
    let e = server.put("over-cap", vec![7; CAP + 1]).err().ok_or("a body over the cap was accepted")?;
    assert!(e.contains("400"), "{e}");
    assert!(server.data.path().join("bucket-a/at-cap").exists());
    assert!(!server.data.path().join("bucket-a/over-cap").exists());
    Ok(())
}

#[test]
fn a_non_loopback_host_with_the_default_secret_is_refused() -> TestResult {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vsync"))
        .env_clear()
        .args(["dev-server", "--host", "0.0.0.0", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Bound the wait: before the fix the server ran (and this test would hang without it).
    let pid = child.id();
    let (done, timed_out) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if timed_out.recv_timeout(Duration::from_secs(60)) == Err(mpsc::RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    });
    let mut out = String::new();
    child.stdout.take().ok_or("no stdout")?.read_to_string(&mut out)?;
    let mut err = String::new();
    child.stderr.take().ok_or("no stderr")?.read_to_string(&mut err)?;
    let status = child.wait()?;
    let _ = done.send(());
    let _ = watchdog.join();
    assert_eq!(status.code(), Some(2), "stdout {out:?}, stderr {err:?}");
    assert!(out.is_empty(), "it announced itself: {out}");
    assert!(err.contains("not a loopback address") && err.contains("VSYNC_DEV_SECRET_KEY"), "{err}");
    Ok(())
}
