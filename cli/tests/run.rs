//! `vsync run -- COMMAND`, driven as a process against the real local S3 server that
//! `scripts/with-s3.sh` starts (VSYNC_TEST_ENDPOINT, VSYNC_TEST_ACCESS_KEY, VSYNC_TEST_SECRET_KEY,
//! VSYNC_TEST_BUCKET). Without those variables every test fails: nothing is skipped.
//!
//! Children signal readiness by printing a line that the test reads from a pipe; nothing waits
//! on a sleep. Every process is started in its own process group, which a watchdog kills after
//! 60 s so that a hung test fails instead of blocking the run.
#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

mod common;
use common::{test_var, text, unique_prefix, write_private};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "run passphrase, not for children";
const DB_URL: &str = "postgres://app:s3cr3t-run-password@db:5432/app";
const API_TOKEN: &str = "tok_live_run_4f9a1c";
/// A nested asset name: its file keeps the relative path.
const ASSET: &str = "certs/ca.pem";
/// The watchdog's bound on any one process of these tests.
const LIMIT: Duration = Duration::from_secs(60);

fn asset_bytes() -> Vec<u8> {
    (0..=255u8).rev().chain([0, 0, 10]).collect()
}

/// The binary with only PATH from the caller (no stray VSYNC_* or AWS_*).
fn vsync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vsync"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()));
    c.process_group(0);
    c
}

/// A pushed vault: its token and passphrase files, and a scratch directory.
struct Pushed {
    dir: tempfile::TempDir,
    token: String,
    secret_key: String,
}

impl Pushed {
    /// Push `dotenv` and the asset [`ASSET`] under a fresh prefix.
    fn new(tag: &str, dotenv: &str) -> Result<Pushed, Box<dyn std::error::Error>> {
        let p = Pushed::token_only(tag)?;
        std::fs::write(p.path("vault.env"), dotenv)?;
        std::fs::write(p.path("ca.pem"), asset_bytes())?;
        let out = vsync()
            .env("VSYNC_CONFIG_FILE", p.path("token"))
            .env("VSYNC_PASSPHRASE_FILE", p.path("pw"))
            .args(["push", "--env-file"])
            .arg(p.path("vault.env"))
            .arg("--asset")
            .arg(format!("{ASSET}={}", p.path("ca.pem").display()))
            .output()?;
        if out.status.code() != Some(0) {
            return Err(format!("push failed: {}", text(&out.stderr)).into());
        }
        Ok(p)
    }

    /// A token for a prefix where nothing was pushed.
    fn token_only(tag: &str) -> Result<Pushed, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let secret_key = test_var("VSYNC_TEST_SECRET_KEY")?;
        let out = vsync()
            .args(["runtime-token", "--region", "us-east-1", "--env", "dev", "--prefix", &unique_prefix("run", tag)])
            .args(["--endpoint", &test_var("VSYNC_TEST_ENDPOINT")?, "--bucket", &test_var("VSYNC_TEST_BUCKET")?])
            .args(["--access-key-id", &test_var("VSYNC_TEST_ACCESS_KEY")?, "--secret-access-key", &secret_key])
            .output()?;
        if out.status.code() != Some(0) {
            return Err(format!("runtime-token failed: {}", text(&out.stderr)).into());
        }
        let token = text(&out.stdout).trim_end().to_string();
        write_private(&dir.path().join("token"), token.as_bytes())?;
        write_private(&dir.path().join("pw"), format!("{PASS}\n").as_bytes())?;
        Ok(Pushed { dir, token, secret_key })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `setsid ARGV` (a session of its own, without a controlling terminal, as under systemd or
    /// in a container) with the caller's PATH and the bootstrap files in the environment.
    fn setsid(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("setsid");
        c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        c.env("VSYNC_CONFIG_FILE", self.path("token")).env("VSYNC_PASSPHRASE_FILE", self.path("pw"));
        c.args(argv);
        c
    }

    /// `vsync run` with the bootstrap in VSYNC_CONFIG_FILE / VSYNC_PASSPHRASE_FILE, then `args`.
    fn run(&self, args: &[&str]) -> Command {
        let mut c = vsync();
        c.env("VSYNC_CONFIG_FILE", self.path("token")).env("VSYNC_PASSPHRASE_FILE", self.path("pw"));
        c.arg("run").args(args);
        c
    }

    /// Neither stream may hold the passphrase, the S3 secret key, the token or a vault value.
    fn assert_no_secret(&self, outputs: &[&str]) {
        for o in outputs {
            for secret in [PASS, self.secret_key.as_str(), self.token.as_str(), DB_URL, API_TOKEN] {
                assert!(!o.contains(secret), "a secret leaked into vsync's output: {o}");
            }
        }
    }
}

/// A running process group with its stdin/stdout piped, killed (whole group) after [`LIMIT`].
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stop_watchdog: Option<mpsc::Sender<()>>,
}

impl Running {
    fn start(mut cmd: Command) -> Result<Running, Box<dyn std::error::Error>> {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let stdin = child.stdin.take();
        let group = Pid::from_raw(i32::try_from(child.id())?);
        let (tx, rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if rx.recv_timeout(LIMIT) == Err(mpsc::RecvTimeoutError::Timeout) {
                eprintln!("watchdog: killing process group {group} after {LIMIT:?}");
                let _ = killpg(group, Signal::SIGKILL);
            }
        });
        Ok(Running { child, stdin, stdout, stop_watchdog: Some(tx) })
    }

    fn pid(&self) -> Result<Pid, Box<dyn std::error::Error>> {
        Ok(Pid::from_raw(i32::try_from(self.child.id())?))
    }

    /// The next line the child printed (blocking: the child prints it when it is ready).
    fn line(&mut self) -> Result<String, Box<dyn std::error::Error>> {
        let mut l = String::new();
        if self.stdout.read_line(&mut l)? == 0 {
            return Err("the command's stdout ended early".into());
        }
        Ok(l.trim_end().to_string())
    }

    fn signal(&self, sig: Signal) -> TestResult {
        kill(self.pid()?, sig)?;
        Ok(())
    }

    /// Close stdin, wait for the exit; returns (exit code, rest of stdout, stderr).
    fn finish(mut self) -> Result<(Option<i32>, String, String), Box<dyn std::error::Error>> {
        drop(self.stdin.take());
        self.wait_for_exit()
    }

    /// Wait for the exit with stdin still open, for a command that a signal should end: one that
    /// also ends at the end of its input could otherwise exit 0 before vsync relays the signal
    /// (a CI failure: SIGTERM to vsync run, stdin closed at once, the command's `read` won).
    fn wait_for_exit(mut self) -> Result<(Option<i32>, String, String), Box<dyn std::error::Error>> {
        let mut out = String::new();
        self.stdout.read_to_string(&mut out)?;
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err)?;
        }
        let status = self.child.wait()?;
        drop(self.stop_watchdog.take());
        Ok((status.code(), out, err))
    }
}

/// Run to completion under the watchdog; returns (exit code, stdout, stderr).
fn output(cmd: Command) -> Result<(Option<i32>, String, String), Box<dyn std::error::Error>> {
    Running::start(cmd)?.finish()
}

/// `env` output as a map (the values of these tests have no line breaks).
fn env_map(out: &str) -> HashMap<String, String> {
    out.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const BOOTSTRAP: [&str; 4] = ["VSYNC_CONFIG", "VSYNC_CONFIG_FILE", "VSYNC_PASSPHRASE", "VSYNC_PASSPHRASE_FILE"];

#[test]
fn the_child_gets_the_chain_and_not_the_bootstrap() -> TestResult {
    let p = Pushed::new("chain", &format!("DATABASE_URL={DB_URL}\nAPI_TOKEN=\"{API_TOKEN}\"\nSHARED=from-vault\n"))?;
    std::fs::write(p.path("defaults.env"), "PORT=8080\nSHARED=from-defaults\nONLY_ENV=from-defaults\nEMPTY=x\n")?;
    let mut cmd = p.run(&["--defaults-file", &p.path("defaults.env").to_string_lossy(), "--", "env"]);
    cmd.env("SHARED", "from-env").env("ONLY_ENV", "from-env").env("EMPTY", "");
    let (code, out, err) = output(cmd)?;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "", "vsync run prints nothing of its own when all is well");
    let env = env_map(&out);
    let get = |k: &str| env.get(k).map(String::as_str);
    // Vault → environment → defaults, as in the libraries (SPEC §8).
    assert_eq!(get("DATABASE_URL"), Some(DB_URL));
    assert_eq!(get("API_TOKEN"), Some(API_TOKEN));
    assert_eq!(get("SHARED"), Some("from-vault"), "the vault wins over the environment");
    assert_eq!(get("ONLY_ENV"), Some("from-env"), "the environment wins over the defaults");
    assert_eq!(get("EMPTY"), Some(""), "an empty variable counts as set");
    assert_eq!(get("PORT"), Some("8080"), "the defaults fill what neither sets");
    assert!(get("PATH").is_some_and(|v| !v.is_empty()), "the caller's environment is kept");
    for var in BOOTSTRAP {
        assert_eq!(get(var), None, "{var} reached the child");
    }
    Ok(())
}

#[test]
fn bootstrap_variables_are_removed_unless_kept() -> TestResult {
    let p = Pushed::new("bootstrap", &format!("DATABASE_URL={DB_URL}\n"))?;
    // Direct variables (not _FILE) are removed too.
    let direct = |extra: &[&str]| {
        let mut c = vsync();
        c.env("VSYNC_CONFIG", &p.token).env("VSYNC_PASSPHRASE", PASS).arg("run").args(extra).args(["--", "env"]);
        c
    };
    let (code, out, err) = output(direct(&[]))?;
    assert_eq!(code, Some(0), "{err}");
    let env = env_map(&out);
    assert_eq!(env.get("DATABASE_URL").map(String::as_str), Some(DB_URL));
    assert!(!out.contains(PASS) && !out.contains(&p.token), "the bootstrap reached the child: {out}");
    for var in BOOTSTRAP {
        assert!(!env.contains_key(var), "{var} reached the child");
    }
    let (code, out, _) = output(direct(&["--keep-bootstrap"]))?;
    assert_eq!(code, Some(0));
    let env = env_map(&out);
    assert_eq!(env.get("VSYNC_PASSPHRASE").map(String::as_str), Some(PASS));
    assert_eq!(env.get("VSYNC_CONFIG"), Some(&p.token));
    let (code, out, _) = output(p.run(&["--keep-bootstrap", "--", "env"]))?;
    assert_eq!(code, Some(0));
    let env = env_map(&out);
    assert_eq!(env.get("VSYNC_PASSPHRASE_FILE").map(PathBuf::from), Some(p.path("pw")));
    assert_eq!(env.get("VSYNC_CONFIG_FILE").map(PathBuf::from), Some(p.path("token")));
    Ok(())
}

#[test]
fn only_adds_the_named_keys_and_requires_each() -> TestResult {
    let p = Pushed::new("only", &format!("DATABASE_URL={DB_URL}\nAPI_TOKEN={API_TOKEN}\nLOG_LEVEL=debug\n"))?;
    std::fs::write(p.path("defaults.env"), "PORT=8080\n")?;
    let defaults = p.path("defaults.env").to_string_lossy().into_owned();
    let mut cmd = p.run(&["--defaults-file", &defaults, "--only", "DATABASE_URL,PORT", "--only", "HOME", "--", "env"]);
    cmd.env("HOME", "/home/x");
    let (code, out, err) = output(cmd)?;
    assert_eq!(code, Some(0), "{err}");
    let env = env_map(&out);
    assert_eq!(env.get("DATABASE_URL").map(String::as_str), Some(DB_URL));
    assert_eq!(env.get("PORT").map(String::as_str), Some("8080"));
    assert_eq!(env.get("HOME").map(String::as_str), Some("/home/x"));
    assert!(!env.contains_key("API_TOKEN") && !env.contains_key("LOG_LEVEL"), "{out}");
    // A name that nothing resolves: NotFoundError (19) before the command starts.
    let (code, out, err) = output(p.run(&["--only", "DATABASE_URL,NO_SUCH_KEY", "--", "echo", "started"]))?;
    assert_eq!(code, Some(19), "{err}");
    assert_eq!(out, "", "the command must not start");
    assert!(err.contains("NotFoundError") && err.contains("NO_SUCH_KEY"), "{err}");
    p.assert_no_secret(&[&err]);
    Ok(())
}

#[test]
fn a_child_reads_a_thousand_keys() -> TestResult {
    let dotenv: String = (0..1000).map(|i| format!("KEY_{i:04}=value-{i}-{}\n", "x".repeat(i % 50))).collect();
    let p = Pushed::new("thousand", &dotenv)?;
    let (code, out, err) = output(p.run(&["--", "env"]))?;
    assert_eq!(code, Some(0), "{err}");
    let env = env_map(&out);
    for i in 0..1000 {
        let want = format!("value-{i}-{}", "x".repeat(i % 50));
        assert_eq!(env.get(&format!("KEY_{i:04}")), Some(&want), "KEY_{i:04}");
    }
    assert_eq!(env.keys().filter(|k| k.starts_with("KEY_")).count(), 1000);
    Ok(())
}

#[test]
fn exit_codes_are_the_childs_or_vsyncs_before_it_starts() -> TestResult {
    let p = Pushed::new("codes", &format!("DATABASE_URL={DB_URL}\n"))?;
    let code = |cmd: Command| -> Result<(Option<i32>, String, String), Box<dyn std::error::Error>> {
        let r = output(cmd)?;
        p.assert_no_secret(&[&r.2]);
        Ok(r)
    };
    assert_eq!(code(p.run(&["--", "sh", "-c", "exit 42"]))?.0, Some(42));
    assert_eq!(code(p.run(&["--", "sh", "-c", "exit 0"]))?.0, Some(0));
    // Ended by a signal: 128 + N.
    assert_eq!(code(p.run(&["--", "sh", "-c", "kill -TERM $$"]))?.0, Some(143));
    assert_eq!(code(p.run(&["--", "sh", "-c", "kill -KILL $$"]))?.0, Some(137));
    // The command cannot start: 127 not found, 126 not executable.
    let (c, _, err) = code(p.run(&["--", "no-such-command-vsync-test"]))?;
    assert_eq!(c, Some(127), "{err}");
    assert!(err.contains("CommandError") && err.contains("no-such-command-vsync-test"), "{err}");
    let not_exec = p.path("not-executable.sh");
    std::fs::write(&not_exec, "#!/bin/sh\necho hi\n")?;
    std::fs::set_permissions(&not_exec, std::fs::Permissions::from_mode(0o644))?;
    let (c, _, err) = code(p.run(&["--", &not_exec.to_string_lossy()]))?;
    assert_eq!(c, Some(126), "{err}");

    // Errors before the command starts: vsync's codes, and the command never runs.
    let marker = p.path("started");
    let touch = format!("touch {}", marker.display());
    let mut none = vsync();
    none.args(["run", "--", "sh", "-c", &touch]);
    let (c, _, err) = code(none)?;
    assert_eq!(c, Some(11), "{err}");
    assert!(err.contains("ConfigMissingError") && err.contains("VSYNC_CONFIG"), "{err}");
    let mut no_pass = vsync();
    no_pass.env("VSYNC_CONFIG", &p.token).args(["run", "--", "sh", "-c", &touch]);
    assert_eq!(code(no_pass)?.0, Some(11));
    let mut wrong = vsync();
    wrong.env("VSYNC_CONFIG", &p.token).env("VSYNC_PASSPHRASE", "wrong").args(["run", "--", "sh", "-c", &touch]);
    let (c, _, err) = code(wrong)?;
    assert_eq!(c, Some(15), "{err}");
    assert!(err.contains("WrongPassphraseError"), "{err}");
    let empty = Pushed::token_only("codes-empty")?;
    let (c, _, err) = code(empty.run(&["--", "sh", "-c", &touch]))?;
    assert_eq!(c, Some(14), "{err}");
    let mut bad_token = vsync();
    bad_token.env("VSYNC_CONFIG", "{\"v\":1}").env("VSYNC_PASSPHRASE", PASS).args(["run", "--", "sh", "-c", &touch]);
    assert_eq!(code(bad_token)?.0, Some(11));
    let (c, _, err) = code(p.run(&["--defaults-file", "/nonexistent/defaults.env", "--", "sh", "-c", &touch]))?;
    assert_eq!(c, Some(3), "{err}");
    let (c, _, err) = code(p.run(&["--asset", "no-such-asset=F", "--", "sh", "-c", &touch]))?;
    assert_eq!(c, Some(19), "{err}");
    // Usage errors (2): no command, a bad --asset, --exec with --asset.
    assert_eq!(code(p.run(&[]))?.0, Some(2));
    assert_eq!(code(p.run(&["--asset", "noequals", "--", "true"]))?.0, Some(2));
    assert_eq!(code(p.run(&["--exec", "--asset", &format!("{ASSET}=F"), "--", "true"]))?.0, Some(2));
    assert!(!marker.exists(), "a command ran although vsync failed before starting it");
    Ok(())
}

#[test]
fn stays_the_parent_by_default_and_execs_on_request() -> TestResult {
    let p = Pushed::new("exec", &format!("DATABASE_URL={DB_URL}\n"))?;
    let mut r = Running::start(p.run(&["--", "sh", "-c", "echo $PPID $$"]))?;
    let vsync_pid = r.pid()?.as_raw().to_string();
    let line = r.line()?;
    let (ppid, pid) = line.split_once(' ').ok_or("no pids")?;
    assert_eq!(ppid, vsync_pid, "the command is vsync's child");
    assert_ne!(pid, vsync_pid);
    assert_eq!(r.finish()?.0, Some(0));

    let mut r = Running::start(p.run(&["--exec", "--", "sh", "-c", "echo $$ \"$DATABASE_URL\"; exit 7"]))?;
    let vsync_pid = r.pid()?.as_raw().to_string();
    assert_eq!(r.line()?, format!("{vsync_pid} {DB_URL}"), "--exec: the command replaced vsync, same pid");
    let (code, _, err) = r.finish()?;
    assert_eq!(code, Some(7), "{err}");
    Ok(())
}

/// A child that prints its pid and the asset file's path, then waits for a line on stdin.
fn start_with_asset(p: &Pushed) -> Result<(Running, Pid, PathBuf), Box<dyn std::error::Error>> {
    let mut r = Running::start(p.run(&[
        "--asset",
        "certs/ca.pem=CA_FILE",
        "--",
        "sh",
        "-c",
        "echo \"$$ $CA_FILE\"; read line; exit 0",
    ]))?;
    let line = r.line()?;
    let (pid, path) = line.split_once(' ').ok_or("no pid and path")?;
    Ok((r, Pid::from_raw(pid.parse()?), PathBuf::from(path)))
}

/// The directory that `vsync run` made for the asset `certs/ca.pem`.
fn asset_dir(file: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    Ok(file.parent().and_then(Path::parent).ok_or("no parent")?.to_path_buf())
}

#[test]
fn asset_files_are_private_and_removed_when_the_child_exits() -> TestResult {
    let p = Pushed::new("asset", &format!("DATABASE_URL={DB_URL}\n"))?;
    let (r, _, file) = start_with_asset(&p)?;
    let dir = asset_dir(&file)?;
    assert!(file.ends_with(ASSET), "the file keeps the asset's name: {}", file.display());
    assert_eq!(std::fs::read(&file)?, asset_bytes());
    assert_eq!(std::fs::metadata(&file)?.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&dir)?.permissions().mode() & 0o777, 0o700);
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(name.starts_with("vsync-run-"), "{}", dir.display());
    if Path::new("/dev/shm").is_dir() {
        assert!(dir.starts_with("/dev/shm"), "on /dev/shm when present: {}", dir.display());
    }
    let (code, _, err) = r.finish()?;
    assert_eq!(code, Some(0), "{err}");
    assert!(!dir.exists(), "the asset directory outlived the command");

    // A key's value is an asset too (get_as_content), and one asset may fill two variables.
    let script = "cat \"$DB_FILE\"; echo; [ \"$A\" = \"$B\" ] && od -An -tx1 \"$A\" | head -n1";
    let mut cmd = p.run(&["--asset", "DATABASE_URL=DB_FILE", "--asset", "certs/ca.pem=A", "--asset", "certs/ca.pem=B"]);
    cmd.args(["--", "sh", "-c", script]);
    let (code, out, err) = output(cmd)?;
    assert_eq!(code, Some(0), "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(DB_URL));
    assert_eq!(lines.next().map(|l| l.split_whitespace().take(2).collect::<Vec<_>>()), Some(vec!["ff", "fe"]));
    Ok(())
}

#[test]
fn asset_files_are_removed_when_the_child_is_killed() -> TestResult {
    asset_files_go_with_the_command("asset-kill", |_, child| Ok(kill(child, Signal::SIGKILL)?), 137)
}

#[test]
fn asset_files_are_removed_when_vsync_run_is_terminated() -> TestResult {
    // An orchestrator stops vsync run: the command gets the SIGTERM, and its files go with it.
    asset_files_go_with_the_command("asset-term", |r, _| r.signal(Signal::SIGTERM), 143)
}

/// Starts a command with an asset file, ends it with `end` (given vsync run and the command's
/// pid), and checks the exit code and that the asset directory is gone.
fn asset_files_go_with_the_command(
    tag: &str,
    end: impl FnOnce(&Running, Pid) -> TestResult,
    expected_code: i32,
) -> TestResult {
    let p = Pushed::new(tag, &format!("DATABASE_URL={DB_URL}\n"))?;
    let (r, child, file) = start_with_asset(&p)?;
    assert!(file.exists());
    end(&r, child)?;
    let (code, _, err) = r.wait_for_exit()?;
    assert_eq!(code, Some(expected_code), "{err}");
    assert!(!asset_dir(&file)?.exists(), "the asset directory outlived the ended command ({tag})");
    Ok(())
}

/// What cli/README.md says about SIGKILL of vsync run itself: the directory stays behind (no
/// process is left to remove it) and the command keeps running, re-parented.
#[test]
fn sigkill_of_vsync_run_leaves_the_directory_as_documented() -> TestResult {
    let p = Pushed::new("asset-sigkill", &format!("DATABASE_URL={DB_URL}\n"))?;
    let (mut r, child, file) = start_with_asset(&p)?;
    let dir = asset_dir(&file)?;
    r.signal(Signal::SIGKILL)?;
    let status = r.child.wait()?;
    assert_eq!(status.code(), None, "vsync run was killed");
    assert!(dir.exists() && file.exists(), "the directory stays after SIGKILL of vsync run");
    assert!(kill(child, None).is_ok(), "the command outlives a SIGKILLed vsync run");
    // Closing stdin ends the command (its `read` sees end of file); then clean up by hand.
    let (code, _, _) = r.finish()?;
    assert_eq!(code, None);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn signals_are_forwarded_and_the_exit_code_is_128_plus_n() -> TestResult {
    let p = Pushed::new("signals", &format!("DATABASE_URL={DB_URL}\n"))?;
    // Traps five signals and reports each; SIGTERM keeps its default action and ends it.
    // `wait` returns as soon as a trapped signal arrives; the sleeps are bounded.
    let script = "for s in INT HUP QUIT USR1 USR2; do trap \"echo got $s\" $s; done; echo ready; \
                  i=0; while [ $i -lt 600 ]; do sleep 0.1 >/dev/null & wait $!; i=$((i+1)); done; exit 99";
    let mut r = Running::start(p.run(&["--", "sh", "-c", script]))?;
    assert_eq!(r.line()?, "ready");
    for (sig, name) in [
        (Signal::SIGINT, "INT"),
        (Signal::SIGHUP, "HUP"),
        (Signal::SIGQUIT, "QUIT"),
        (Signal::SIGUSR1, "USR1"),
        (Signal::SIGUSR2, "USR2"),
    ] {
        r.signal(sig)?;
        assert_eq!(r.line()?, format!("got {name}"), "{name} was not forwarded");
    }
    r.signal(Signal::SIGTERM)?;
    let (code, _, err) = r.finish()?;
    assert_eq!(code, Some(143), "SIGTERM ended the command: 128 + 15; {err}");
    p.assert_no_secret(&[&err]);
    Ok(())
}

/// The command starts as it would without vsync: SIGPIPE at its default (Rust's runtime ignores
/// it in vsync), and a signal that vsync's caller ignored (as `cmd &` in a script ignores
/// SIGINT) still ignored. Read from /proc, so Linux only.
#[cfg(target_os = "linux")]
#[test]
fn the_command_inherits_signal_dispositions_as_without_vsync() -> TestResult {
    let p = Pushed::new("dispositions", &format!("DATABASE_URL={DB_URL}\n"))?;
    let ignored_mask = |out: &str| -> Result<u64, Box<dyn std::error::Error>> {
        let hex = out.lines().find_map(|l| l.strip_prefix("SigIgn:")).ok_or("no SigIgn line")?.trim();
        Ok(u64::from_str_radix(hex, 16)?)
    };
    let bit = |sig: Signal| 1u64 << (sig as u64 - 1);
    let show = "grep SigIgn /proc/$$/status";
    let (code, out, err) = output(p.run(&["--", "sh", "-c", show]))?;
    assert_eq!(code, Some(0), "{err}");
    let mask = ignored_mask(&out)?;
    assert_eq!(mask & bit(Signal::SIGPIPE), 0, "SIGPIPE is ignored in the command");
    assert_eq!(mask & bit(Signal::SIGINT), 0);

    let mut c = Command::new("sh");
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).process_group(0);
    c.env("VSYNC_CONFIG_FILE", p.path("token")).env("VSYNC_PASSPHRASE_FILE", p.path("pw"));
    c.args(["-c", "trap '' INT; exec \"$0\" run -- sh -c \"$1\"", env!("CARGO_BIN_EXE_vsync"), show]);
    let (code, out, err) = output(c)?;
    assert_eq!(code, Some(0), "{err}");
    let mask = ignored_mask(&out)?;
    assert_ne!(mask & bit(Signal::SIGINT), 0, "the caller's ignored SIGINT was not inherited");
    assert_eq!(mask & bit(Signal::SIGPIPE), 0);
    Ok(())
}

#[test]
fn errors_name_the_cause_without_secrets() -> TestResult {
    let p = Pushed::new("messages", &format!("DATABASE_URL={DB_URL}\n"))?;
    let mut wrong = vsync();
    wrong.env("VSYNC_CONFIG", &p.token).env("VSYNC_PASSPHRASE", "a wrong passphrase").args(["run", "--", "true"]);
    let (code, out, err) = output(wrong)?;
    assert_eq!(code, Some(15));
    assert_eq!(out, "");
    assert!(err.contains("vsync: error: WrongPassphraseError") && err.contains("what to do:"), "{err}");
    assert!(!err.contains("a wrong passphrase"));
    p.assert_no_secret(&[&out, &err]);
    let (code, help, _) = output(p.run(&["--help"]))?;
    assert_eq!(code, Some(0));
    for needle in
        ["--defaults-file", "--asset", "--only", "--keep-bootstrap", "--exec", "128+N", "SIGKILL", "ENTRYPOINT"]
    {
        assert!(help.contains(needle), "`vsync run --help` does not mention {needle}");
    }
    Ok(())
}

/// `vsync run -- <wrapper> sh -c CHILD` in a real pseudo-terminal (`script` from util-linux);
/// returns it once CHILD printed "ready <vsync's pid>".
fn in_a_terminal(p: &Pushed, wrapper: &str) -> Result<(Running, Pid), Box<dyn std::error::Error>> {
    let child = "for s in INT USR1; do trap \"echo got $s\" $s; done; echo ready $PPID; \
                 i=0; while [ $i -lt 600 ]; do sleep 0.1 >/dev/null & wait $!; i=$((i+1)); done";
    // `exec`: the session's shell would itself die of the ^C and hang the terminal up.
    let session = format!("exec {} run -- {wrapper} sh -c '{child}'", env!("CARGO_BIN_EXE_vsync"));
    let mut script = Command::new("script");
    script.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).process_group(0);
    script.env("VSYNC_CONFIG_FILE", p.path("token")).env("VSYNC_PASSPHRASE_FILE", p.path("pw"));
    script.args(["-qec", &session, "/dev/null"]);
    let mut r = Running::start(script)?;
    loop {
        let l = r.line()?;
        if let Some(pid) = l.split_whitespace().skip_while(|w| *w != "ready").nth(1) {
            let pid = Pid::from_raw(pid.parse()?);
            return Ok((r, pid));
        }
    }
}

/// A terminal's ^C goes to the whole foreground process group — `vsync run` and the command —
/// so vsync does not relay it (many programs read a second ^C as "quit now"); a command that
/// left that group gets it only through vsync. Whether a relayed duplicate would show up as a
/// second "got INT" depends on scheduling (two pending SIGINTs coalesce), so the duplicate
/// itself is guarded by the unit test of the decision (`terminal_signals_are_told_from_kill`).
#[test]
fn a_terminals_ctrl_c_reaches_the_command_once() -> TestResult {
    let p = Pushed::new("ctrl-c", &format!("DATABASE_URL={DB_URL}\n"))?;
    for wrapper in ["", "setsid"] {
        let (mut r, vsync_pid) = in_a_terminal(&p, wrapper)?;
        let stdin = r.stdin.as_mut().ok_or("no stdin")?;
        stdin.write_all(b"\x03")?;
        stdin.flush()?;
        assert!(r.line()?.ends_with("got INT"), "^C did not reach the command ({wrapper:?})");
        // A marker through vsync (kill(2), relayed): a relayed second SIGINT would come before it.
        kill(vsync_pid, Signal::SIGUSR1)?;
        assert_eq!(r.line()?, "got USR1", "the command got the terminal's ^C twice ({wrapper:?})");
        kill(vsync_pid, Signal::SIGTERM)?;
        let (code, _, err) = r.finish()?;
        assert_eq!(code, Some(143), "script -e passes vsync run's exit code on: {err}");
    }
    Ok(())
}

#[path = "../../core/tests/common/faultproxy.rs"]
mod faultproxy;

/// /proc/self belongs to the effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Wait for `ready` (checked every 20 ms, an event observed, not a sleep to synchronise on),
/// up to [`LIMIT`].
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) -> TestResult {
    let start = std::time::Instant::now();
    while !ready() {
        if start.elapsed() > LIMIT {
            return Err(format!("timed out waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Issue 23.4: as PID 1 (a container's ENTRYPOINT), a signal for which no handler is installed
/// is dropped by the kernel. A SIGTERM that arrived while the vault was opening was lost and the
/// command started anyway; now the handlers come first and vsync exits 143 without starting it.
/// The open is held (the proxy delays the manifest) until the SIGTERM was sent.
#[cfg(target_os = "linux")]
#[test]
fn as_pid_1_a_sigterm_during_the_open_stops_vsync_run_before_the_command() -> TestResult {
    let p = Pushed::new("pid1", &format!("DATABASE_URL={DB_URL}\n"))?;
    let proxy = faultproxy::FaultProxy::start(
        serde_json::json!([{"path": "/manifest$", "action": {"kind": "delay", "seconds": 8}}]),
    );
    let mut config = vsync_core::Config::decode(&p.token)?;
    config.endpoint = proxy.endpoint();
    let proxied = config.encode();
    let marker = p.path("started");
    // A new PID namespace whose PID 1 is vsync run (`-r`: a user namespace when not root).
    let unshare = || {
        let mut c = Command::new("unshare");
        c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).process_group(0);
        if !running_as_root() {
            c.arg("-r");
        }
        c.args(["-fp", "--mount-proc"]);
        c
    };
    let probe = unshare().arg("true").output()?;
    assert!(
        probe.status.success(),
        "this test runs vsync as PID 1 of a new PID namespace: it needs `unshare -fp --mount-proc` (root) or \
         unprivileged user namespaces (`unshare -r`): {}",
        text(&probe.stderr)
    );
    let mut c = unshare();
    c.env("VSYNC_CONFIG", &proxied).env("VSYNC_PASSPHRASE", PASS);
    c.args([env!("CARGO_BIN_EXE_vsync"), "run", "--", "sh", "-c"]);
    c.arg(format!("touch {}", marker.display()));
    let r = Running::start(c)?;
    // unshare forks; its child is vsync run, PID 1 inside.
    let unshare = r.pid()?;
    let children = format!("/proc/{unshare}/task/{unshare}/children");
    let mut vsync_pid = None;
    wait_until("vsync run to start as PID 1 and ask for the manifest", || {
        vsync_pid = std::fs::read_to_string(&children).ok().and_then(|s| s.split_whitespace().next()?.parse().ok());
        vsync_pid.is_some() && proxy.seen().iter().any(|s| s.path.ends_with("/manifest"))
    })?;
    let vsync_pid = Pid::from_raw(vsync_pid.ok_or("no vsync pid")?);
    let status = std::fs::read_to_string(format!("/proc/{vsync_pid}/status"))?;
    assert!(status.lines().any(|l| l.starts_with("NSpid:") && l.ends_with("\t1")), "not PID 1: {status}");
    kill(vsync_pid, Signal::SIGTERM)?;
    let (code, out, err) = r.wait_for_exit()?;
    assert_eq!(code, Some(143), "the SIGTERM during the open ends vsync run: 128+15; {out} {err}");
    assert!(!marker.exists(), "the command started after a SIGTERM that arrived during the open");
    Ok(())
}

/// Issue 23.5: a signal sent to the whole process group (`kill -- -PGID`, `timeout(1)`) reached
/// the command directly and again through vsync (Linux: timeout's child is read from /proc). Without a terminal the command now has a group
/// of its own and gets the signal once, relayed.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_to_the_whole_group_reaches_the_command_once() -> TestResult {
    let p = Pushed::new("group", &format!("DATABASE_URL={DB_URL}\n"))?;
    let script = "n=0; trap 'n=$((n+1)); echo \"TERM $n\"' TERM; trap 'echo \"USR1 $n\"; exit 0' USR1; \
                  echo \"ready $$\"; i=0; while [ $i -lt 600 ]; do sleep 0.1 >/dev/null & wait $!; i=$((i+1)); done";
    // vsync run leads its own process group.
    let mut r = Running::start(p.setsid(&[env!("CARGO_BIN_EXE_vsync"), "run", "--", "sh", "-c", script]))?;
    let vsync_pid = r.pid()?;
    let line = r.line()?;
    let command: i32 = line.strip_prefix("ready ").ok_or("no ready line")?.parse()?;
    assert_eq!(nix::unistd::getpgid(Some(vsync_pid))?, vsync_pid, "setsid made vsync run a group leader");
    assert_ne!(
        nix::unistd::getpgid(Some(Pid::from_raw(command)))?,
        vsync_pid,
        "without a terminal the command has a process group of its own"
    );
    killpg(vsync_pid, Signal::SIGTERM)?;
    assert_one_term(r, vsync_pid, "to the group")?;

    // `timeout 120 vsync run …`: GNU timeout forwards a signal it gets to its child, then to its
    // whole process group (where vsync run, and before the fix the command, are).
    let mut r =
        Running::start(p.setsid(&["timeout", "120", env!("CARGO_BIN_EXE_vsync"), "run", "--", "sh", "-c", script]))?;
    let timeout = r.pid()?;
    assert!(r.line()?.starts_with("ready "));
    let children = std::fs::read_to_string(format!("/proc/{timeout}/task/{timeout}/children"))?;
    let vsync_pid = Pid::from_raw(children.split_whitespace().next().ok_or("timeout has no child")?.parse()?);
    kill(timeout, Signal::SIGTERM)?;
    assert_one_term(r, vsync_pid, "under timeout(1)")
}

/// After one SIGTERM was sent (`how`): the command reports exactly one, then a SIGUSR1 marker
/// relayed through vsync run ends it (a second SIGTERM, e.g. the group's and then vsync's relay,
/// would come before the marker).
fn assert_one_term(mut r: Running, vsync_pid: Pid, how: &str) -> TestResult {
    assert_eq!(r.line()?, "TERM 1");
    kill(vsync_pid, Signal::SIGUSR1)?;
    assert_eq!(r.line()?, "USR1 1", "SIGTERM sent {how}: the command got it more than once");
    let (code, _, err) = r.finish()?;
    assert_eq!(code, Some(0), "{err}");
    Ok(())
}

/// Issue 23.6: the command (same user) read the scrubbed VSYNC_PASSPHRASE and VSYNC_CONFIG from
/// `/proc/$PPID/environ`. vsync run is not dumpable now: that file is root's. Run as an
/// unprivileged user (root may read any process's environ).
#[cfg(target_os = "linux")]
#[test]
fn the_command_cannot_read_vsync_runs_environment() -> TestResult {
    let p = Pushed::new("environ", &format!("DATABASE_URL={DB_URL}\n"))?;
    let script = "if cat /proc/$PPID/environ >/dev/null 2>&1; then echo readable; else echo refused; fi; \
                  cat /proc/$$/environ >/dev/null && echo own-readable";
    let mut c = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_vsync")]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_vsync"))
    };
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).process_group(0);
    c.env("VSYNC_CONFIG", &p.token).env("VSYNC_PASSPHRASE", PASS);
    c.args(["run", "--", "sh", "-c", script]);
    let (code, out, err) = output(c)?;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "refused\nown-readable\n", "the command read its parent's environment (or not its own)");
    p.assert_no_secret(&[&out, &err]);
    Ok(())
}
