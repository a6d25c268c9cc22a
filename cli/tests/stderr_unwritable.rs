//! Issue 23 #8: when stderr cannot be written — `2>/dev/full`, or a pipe whose reader has gone
//! (`2>&1 | head -1`) — vsync still exits with its normal code (it used to panic: 101), and
//! `vsync run` still starts its command after a warning it could not print. Vaults live on the
//! real local S3 server that `scripts/with-s3.sh` starts (VSYNC_TEST_*); nothing is skipped.
#![cfg(unix)]

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

mod common;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "stderr passphrase";

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
    common::push_with_writer(dir.path(), "stderr", "pushed", PASS, &[("APP_KEY", "app-value")])?;
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
