//! Issue 23 #2: a vault key must not take over `vsync run`'s command. Vaults are pushed to the
//! real local S3 server that `scripts/with-s3.sh` starts (VSYNC_TEST_*), through the core's
//! writer (which takes any key name, as another writer of the format could), and read by the
//! `vsync` binary. Without those variables every test fails: nothing is skipped.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "policy passphrase";

/// A vault holding `kv`, pushed by the core's writer, with its token and passphrase files.
struct Vault {
    dir: tempfile::TempDir,
}

impl Vault {
    fn push(tag: &str, kv: &[(&str, &str)]) -> Result<Vault, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        common::push_with_writer(dir.path(), "run-policy", tag, PASS, kv)?;
        Ok(Vault { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `vsync run ARGS` with only the bootstrap and PATH in its environment; returns (exit code,
    /// stdout, stderr).
    fn run(&self, args: &[&str]) -> Result<(Option<i32>, String, String), Box<dyn std::error::Error>> {
        let out = Command::new(env!("CARGO_BIN_EXE_vsync"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("VSYNC_CONFIG_FILE", self.path("token"))
            .env("VSYNC_PASSPHRASE_FILE", self.path("pw"))
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok((out.status.code(), text(&out.stdout), text(&out.stderr)))
    }
}

/// A directory holding an executable `ls` that prints "planted" and leaves a marker file.
fn planted_ls(dir: &Path) -> std::io::Result<PathBuf> {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin)?;
    let ls = bin.join("ls");
    let marker = dir.join("planted-ran");
    std::fs::write(&ls, format!("#!/bin/sh\necho planted\n: > '{}'\n", marker.display()))?;
    std::fs::set_permissions(&ls, std::fs::Permissions::from_mode(0o755))?;
    Ok(bin)
}

#[test]
fn a_vault_path_is_refused_unless_named() -> TestResult {
    let scratch = tempfile::tempdir()?;
    let bin = planted_ls(scratch.path())?;
    let vault_path = format!("{}:/usr/bin:/bin", bin.display());
    let v = Vault::push("path", &[("PATH", &vault_path), ("APP_KEY", "app-value")])?;
    let marker = scratch.path().join("planted-ran");

    // Refused: InputError (3), the key and why named, the value never shown, nothing started.
    let (code, out, err) = v.run(&["--", "ls", "/"])?;
    assert_eq!(code, Some(3), "stdout {out}, stderr {err}");
    assert!(err.contains("InputError") && err.contains("the vault sets PATH"), "{err}");
    assert!(err.contains("--allow-key PATH") && err.contains("which program runs"), "{err}");
    assert!(!err.contains(&bin.display().to_string()), "the value leaked: {err}");
    assert!(!out.contains("planted") && !marker.exists(), "the planted ls ran");

    // Named with --allow-key: honoured, the vault's PATH finds the planted ls.
    let (code, out, err) = v.run(&["--allow-key", "PATH", "--", "ls", "/"])?;
    assert_eq!((code, out.trim()), (Some(0), "planted"), "{err}");
    assert!(marker.exists());
    std::fs::remove_file(&marker)?;

    // Named with --only: honoured too (and APP_KEY, not listed, is not added).
    let (code, out, err) = v.run(&["--only", "PATH", "--", "sh", "-c", "ls; echo \"[${APP_KEY-unset}]\""])?;
    assert_eq!((code, out.as_str()), (Some(0), "planted\n[unset]\n"), "{err}");

    // An ordinary key needs nothing.
    let (code, out, err) = v.run(&["--only", "APP_KEY", "--", "sh", "-c", "echo \"$APP_KEY\""])?;
    assert_eq!((code, out.trim()), (Some(0), "app-value"), "{err}");
    Ok(())
}

#[test]
fn loader_keys_are_refused_one_by_one_until_each_is_allowed() -> TestResult {
    let v = Vault::push(
        "loaders",
        &[
            ("LD_PRELOAD", "/tmp/evil.so"),
            ("BASH_ENV", "/tmp/evil.sh"),
            ("NODE_OPTIONS", "--import=data:text/javascript,evil"),
            ("PYTHONSTARTUP", "/tmp/evil.py"),
            ("VSYNC_NODE_ADDON", "/tmp/evil.node"),
            ("OK_KEY", "fine"),
        ],
    )?;
    let mut allowed: Vec<&str> = Vec::new();
    for key in ["LD_PRELOAD", "BASH_ENV", "NODE_OPTIONS", "PYTHONSTARTUP", "VSYNC_NODE_ADDON"] {
        let mut args: Vec<&str> = allowed.iter().flat_map(|k| ["--allow-key", *k]).collect();
        args.extend(["--", "sh", "-c", "echo started"]);
        let (code, out, err) = v.run(&args)?;
        assert_eq!(code, Some(3), "{key}: stdout {out}, stderr {err}");
        assert!(err.contains(&format!("the vault sets {key},")), "{key}: {err}");
        assert!(!out.contains("started"), "{key}: the command started");
        assert!(!err.contains("/tmp/evil") && !err.contains("data:text"), "a value leaked: {err}");
        allowed.push(key);
    }
    // All named (comma-separated form): the command gets them.
    let (code, out, err) = v.run(&[
        "--allow-key",
        "LD_PRELOAD,BASH_ENV,NODE_OPTIONS",
        "--allow-key",
        "PYTHONSTARTUP,VSYNC_NODE_ADDON",
        "--",
        "/usr/bin/env",
        "-u",
        "LD_PRELOAD",
        "sh",
        "-c",
        "echo \"$OK_KEY $BASH_ENV $VSYNC_NODE_ADDON\"",
    ])?;
    assert_eq!((code, out.trim()), (Some(0), "fine /tmp/evil.sh /tmp/evil.node"), "{err}");
    Ok(())
}

#[test]
fn a_key_that_is_not_a_variable_name_is_refused_whatever_is_named() -> TestResult {
    let v = Vault::push("forged", &[("X\nLD_PRELOAD", "/tmp/evil.so"), ("OK_KEY", "fine")])?;
    for args in [vec![], vec!["--allow-key", "LD_PRELOAD"]] {
        let mut args = args;
        args.extend(["--", "sh", "-c", "echo started"]);
        let (code, out, err) = v.run(&args)?;
        assert_eq!(code, Some(3), "stdout {out}, stderr {err}");
        assert!(err.contains(r#""X\nLD_PRELOAD""#) && err.contains("[A-Za-z_][A-Za-z0-9_]*"), "{err}");
        assert!(!out.contains("started") && !err.contains("/tmp/evil"), "{out} {err}");
        // The report is its two lines: the key cannot forge a third.
        assert_eq!(err.lines().filter(|l| !l.starts_with("vsync: warning")).count(), 2, "{err}");
    }
    // --only leaves it out: the rest of the vault is usable.
    let (code, out, err) = v.run(&["--only", "OK_KEY", "--", "sh", "-c", "echo $OK_KEY"])?;
    assert_eq!((code, out.trim()), (Some(0), "fine"), "{err}");
    // An --allow-key value that is no name is a usage error (2), before anything is read.
    let (code, _, err) = v.run(&["--allow-key", "X-Y", "--", "true"])?;
    assert_eq!(code, Some(2), "{err}");
    Ok(())
}
