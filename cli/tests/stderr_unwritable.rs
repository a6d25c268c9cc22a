//! Issue 23 #8: when stderr cannot be written — `2>/dev/full`, or a pipe whose reader has gone
//! (`2>&1 | head -1`) — vsync still exits with its normal code (it used to panic: 101), and
//! `vsync run` still starts its command after a warning it could not print. Vaults live on the
//! real local S3 server that `scripts/with-s3.sh` starts (VSYNC_TEST_*); nothing is skipped.
#![cfg(unix)]

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vsync_core::payload::VaultData;
use vsync_core::{writer, Config};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "stderr passphrase";

fn test_var(n: &str) -> Result<String, String> {
    std::env::var(n)
        .map_err(|_| format!("{n} is not set: run these tests through scripts/with-s3.sh (./scripts/task test:cli)"))
}

/// The two unwritable stderrs: /dev/full (ENOSPC) and a pipe with no reader (EPIPE).
fn unwritable_stderrs() -> Result<Vec<(&'static str, Stdio)>, Box<dyn std::error::Error>> {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full")?;
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills both descriptors on success; each is owned exactly once below.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: fresh descriptors from pipe(2), not owned elsewhere.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read_end);
    Ok(vec![("/dev/full", Stdio::from(full)), ("a closed pipe", Stdio::from(write_end))])
}

/// A pushed vault's token and passphrase files (mode 0600) in a scratch directory.
fn pushed_vault() -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let config = Config {
        endpoint: test_var("VSYNC_TEST_ENDPOINT")?,
        region: "us-east-1".into(),
        bucket: test_var("VSYNC_TEST_BUCKET")?,
        access_key_id: test_var("VSYNC_TEST_ACCESS_KEY")?,
        secret_access_key: test_var("VSYNC_TEST_SECRET_KEY")?.into(),
        prefix: format!("stderr-{nanos}-{}/", std::process::id()),
        env: "prod".into(),
        salt: writer::random_salt(),
        iterations: 600_000,
    };
    let mut data = VaultData::default();
    data.kv.insert("APP_KEY".into(), "app-value".to_string().into());
    writer::push(&config, PASS, &data, None, Duration::from_secs(60)).map_err(|e| format!("push failed: {e:?}"))?;
    for (name, content) in [("token", config.encode()), ("pw", PASS.to_string())] {
        let p = dir.path().join(name);
        std::fs::write(&p, content)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(dir)
}

fn vsync(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vsync"));
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("VSYNC_CONFIG_FILE", dir.join("token"))
        .env("VSYNC_PASSPHRASE_FILE", dir.join("pw"))
        .stdin(Stdio::null());
    c
}

#[test]
fn errors_keep_their_exit_code_when_stderr_is_unwritable() -> TestResult {
    let dir = pushed_vault()?;
    for (what, stderr) in unwritable_stderrs()? {
        let out = vsync(dir.path()).args(["get", "MISSING"]).stderr(stderr).output()?;
        assert_eq!(out.status.code(), Some(19), "vsync get MISSING 2>{what}");
    }
    // No server needed: no config at all is a ConfigMissingError (11).
    for (what, stderr) in unwritable_stderrs()? {
        let out = Command::new(env!("CARGO_BIN_EXE_vsync"))
            .env_clear()
            .args(["status"])
            .stdin(Stdio::null())
            .stderr(stderr)
            .output()?;
        assert_eq!(out.status.code(), Some(11), "vsync status (no config) 2>{what}");
    }
    Ok(())
}

#[test]
fn run_starts_its_command_after_a_warning_it_cannot_print() -> TestResult {
    let dir = pushed_vault()?;
    // A token file readable by others: the core warns about its mode, and goes on.
    std::fs::set_permissions(dir.path().join("token"), std::fs::Permissions::from_mode(0o644))?;
    let warned = vsync(dir.path()).args(["run", "--", "sh", "-c", "echo \"started $APP_KEY\""]).output()?;
    assert!(String::from_utf8_lossy(&warned.stderr).contains("group/world-readable"), "no warning to lose");
    for (what, stderr) in unwritable_stderrs()? {
        let out =
            vsync(dir.path()).args(["run", "--", "sh", "-c", "echo \"started $APP_KEY\""]).stderr(stderr).output()?;
        assert_eq!(
            (out.status.code(), String::from_utf8_lossy(&out.stdout).trim()),
            (Some(0), "started app-value"),
            "vsync run 2>{what}"
        );
    }
    Ok(())
}
