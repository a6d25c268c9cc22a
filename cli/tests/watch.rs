//! `vsync run --watch` (issue 26), driven as a process against the real local S3 server that
//! `scripts/with-s3.sh` starts, with the fault proxy (scripts/faults/faultproxy.py) in front of it
//! where polls must fail. Pushes go straight to the server with the core's writer.
//!
//! Every wait is for an event — a line on the command's stdout or vsync's stderr, a request the
//! proxy saw — bounded by [`LIMIT`]; the only timing assertions are bounds (the interval plus
//! slack). The command reads its stdin, so it ends when a test goes away; vsync run is started
//! in its own process group, which a watchdog kills after [`LIMIT`].
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::json;
use vsync_core::payload::VaultData;
use vsync_core::writer::{self, WriteOptions};
use vsync_core::Config;

mod common;

#[path = "../../core/tests/common/faultproxy.rs"]
mod faultproxy;
use faultproxy::FaultProxy;

const PASS: &str = "watch passphrase one";
const PASS2: &str = "watch passphrase two, after the rotation";
/// Any one wait of these tests (and the watchdog's bound on a process).
const LIMIT: Duration = Duration::from_secs(90);
/// The poll interval of these tests.
const INTERVAL: Duration = Duration::from_millis(500);
/// What a restart may take beyond one interval (plus jitter) on a loaded machine: the poll
/// itself, the open (a KDF and three GETs), the old command's exit and the new one's start.
const SLACK: Duration = Duration::from_secs(30);

fn var(n: &str) -> String {
    std::env::var(n)
        .unwrap_or_else(|_| panic!("{n} is not set: run through scripts/with-s3.sh (./scripts/task test:cli)"))
}

fn write_private(path: &Path, content: &[u8]) {
    common::write_private(path, content).unwrap();
}

/// Replace `path` in one step (a rename, as a Kubernetes Secret volume updates its files).
fn replace_private(path: &Path, content: &[u8]) {
    let tmp = path.with_extension("new");
    write_private(&tmp, content);
    std::fs::rename(&tmp, path).unwrap();
}

fn data(k: &str, asset: &[u8]) -> VaultData {
    let mut d = VaultData::default();
    d.kv.insert("K".into(), k.to_string().into());
    d.assets.insert("ca.pem".into(), asset.to_vec().into());
    d
}

/// A vault at a fresh prefix (gen 1, K=v1), the token and passphrase files `vsync run` reads,
/// and optionally a fault proxy the token points at.
struct Store {
    dir: tempfile::TempDir,
    direct: Config,
    proxy: Option<FaultProxy>,
}

impl Store {
    fn new(proxied: bool) -> Store {
        static N: AtomicUsize = AtomicUsize::new(0);
        let direct = common::dev_server().unwrap().config(
            format!("cli-watch/{}-{}/", std::process::id(), N.fetch_add(1, Ordering::SeqCst)),
            "dev",
            writer::random_salt(),
            1_000,
        );
        let s =
            Store { dir: tempfile::tempdir().unwrap(), direct, proxy: proxied.then(|| FaultProxy::start(json!([]))) };
        assert_eq!(s.push("v1", b"asset one"), 1);
        s.write_token(&s.direct);
        write_private(&s.path("pw"), PASS.as_bytes());
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The token file for `config`, pointed at the proxy when there is one.
    fn write_token(&self, config: &Config) {
        let mut c = config.clone();
        if let Some(p) = &self.proxy {
            c.endpoint = p.endpoint();
        }
        replace_private(&self.path("token"), c.encode().as_bytes());
    }

    fn push(&self, k: &str, asset: &[u8]) -> u64 {
        self.push_with(&self.direct, PASS, k, asset)
    }

    fn push_with(&self, config: &Config, pass: &str, k: &str, asset: &[u8]) -> u64 {
        writer::push(config, pass, &data(k, asset), None, Duration::from_secs(30)).unwrap().gen
    }

    fn proxy(&self) -> &FaultProxy {
        self.proxy.as_ref().expect("a proxied store")
    }

    /// Manifest requests the proxy has seen (each poll makes one).
    fn manifest_requests(&self) -> usize {
        self.proxy().seen().iter().filter(|s| s.path.ends_with("/manifest")).count()
    }

    /// `vsync run --watch` with this store's files, the test interval, `extra` flags, then
    /// `-- sh -c SCRIPT`.
    fn watch(&self, extra: &[&str], script: &str) -> Watched {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vsync"));
        c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()));
        c.env("VSYNC_CONFIG_FILE", self.path("token")).env("VSYNC_PASSPHRASE_FILE", self.path("pw"));
        c.args(["run", "--watch", "--watch-interval", &format!("{}", INTERVAL.as_secs_f64())]);
        c.args(["--asset", "ca.pem=CA_FILE"]).args(extra).args(["--", "sh", "-c", script]);
        c.process_group(0);
        Watched::start(c)
    }
}

/// A command that prints `K=<value> <pid> <asset file>` and waits for its stdin to end.
const PRINT_AND_WAIT: &str = "echo \"K=$K $$ $CA_FILE\"; read line; exit 0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// `vsync run --watch` running, its stdout and stderr read line by line on threads.
struct Watched {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<(Stream, String)>,
    /// Every stderr line so far.
    stderr: Vec<String>,
    /// How many of them `expect` has looked at.
    stderr_seen: usize,
    stop_watchdog: Option<mpsc::Sender<()>>,
}

impl Watched {
    fn start(mut cmd: Command) -> Watched {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let read = |stream: Stream, r: Box<dyn Read + Send>, tx: mpsc::Sender<(Stream, String)>| {
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            });
        };
        read(Stream::Out, Box::new(child.stdout.take().unwrap()), tx.clone());
        read(Stream::Err, Box::new(child.stderr.take().unwrap()), tx);
        let group = Pid::from_raw(child.id() as i32);
        let (stop, rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if rx.recv_timeout(LIMIT * 3) == Err(mpsc::RecvTimeoutError::Timeout) {
                eprintln!("watchdog: killing process group {group}");
                let _ = killpg(group, Signal::SIGKILL);
            }
        });
        let stdin = child.stdin.take();
        Watched { child, stdin, lines, stderr: Vec::new(), stderr_seen: 0, stop_watchdog: Some(stop) }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The next line on `stream` that satisfies `want`, within `bound`; the other stream's lines
    /// are kept (stderr) or must not appear (a stdout line means a command started: an error
    /// unless `want` is for stdout).
    fn expect(&mut self, stream: Stream, bound: Duration, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + bound;
        if stream == Stream::Err {
            // stderr lines that arrived while waiting for stdout come first.
            while self.stderr_seen < self.stderr.len() {
                self.stderr_seen += 1;
                if want(&self.stderr[self.stderr_seen - 1]) {
                    return self.stderr[self.stderr_seen - 1].clone();
                }
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((s, line)) => {
                    if s == Stream::Err {
                        self.stderr.push(line.clone());
                        if stream == Stream::Err {
                            self.stderr_seen = self.stderr.len();
                        }
                    }
                    if s == stream && want(&line) {
                        return line;
                    }
                    assert!(
                        s == Stream::Err || stream == Stream::Out,
                        "a command started while none should have: {line:?}; stderr: {:#?}",
                        self.stderr
                    );
                }
                Err(e) => {
                    panic!("no matching {stream:?} line within {bound:?} ({e}); stderr so far: {:#?}", self.stderr)
                }
            }
        }
    }

    /// The command's `K=<value> <pid> <asset file>` line.
    fn command_line(&mut self, bound: Duration) -> (String, i32, PathBuf) {
        let line = self.expect(Stream::Out, bound, |l| l.starts_with("K="));
        let mut parts = line.splitn(3, ' ');
        let k = parts.next().unwrap().trim_start_matches("K=").to_string();
        let pid = parts.next().unwrap().parse().unwrap();
        (k, pid, PathBuf::from(parts.next().unwrap()))
    }

    /// Take in what arrived so far without waiting.
    fn drain(&mut self) -> Vec<(Stream, String)> {
        let got: Vec<(Stream, String)> = self.lines.try_iter().collect();
        for (s, l) in &got {
            if *s == Stream::Err {
                self.stderr.push(l.clone());
            }
        }
        got
    }

    /// Wait for the exit (stdin left open unless `close_stdin`); returns the exit code, and
    /// every line not consumed before.
    fn wait(mut self, close_stdin: bool) -> (Option<i32>, Vec<(Stream, String)>, Vec<String>) {
        if close_stdin {
            drop(self.stdin.take());
        }
        let status = self.child.wait().unwrap();
        drop(self.stop_watchdog.take());
        // The readers end at the end of both streams: everything that was written is in.
        let mut rest = Vec::new();
        while let Ok(item) = self.lines.recv_timeout(LIMIT) {
            if item.0 == Stream::Err {
                self.stderr.push(item.1.clone());
            }
            rest.push(item);
        }
        (status.code(), rest, self.stderr)
    }
}

fn restart_lines(stderr: &[String]) -> Vec<&String> {
    stderr.iter().filter(|l| l.contains("the command was restarted")).collect()
}

/// vsync run --watch exited 0, having reported `failure` on exactly one line of stderr and
/// restarted the command exactly once, across `transition` ("generation 1 → 2").
fn assert_one_failure_one_restart(code: Option<i32>, stderr: &[String], failure: &str, transition: &str) {
    assert_eq!(code, Some(0), "{stderr:#?}");
    assert_eq!(stderr.iter().filter(|l| l.contains(failure)).count(), 1, "{stderr:#?}");
    let restarts = restart_lines(stderr);
    assert_eq!(restarts.len(), 1, "{stderr:#?}");
    assert!(restarts[0].contains(transition), "{restarts:?}");
}

/// The bound on a restart after a push: one interval, its +10 % jitter, and the slack.
fn restart_bound() -> Duration {
    INTERVAL.mul_f64(1.1) + SLACK
}

#[test]
fn a_push_restarts_the_command_with_the_new_value_and_assets() {
    let s = Store::new(false);
    let mut w = s.watch(&[], PRINT_AND_WAIT);
    let (k, pid1, asset1) = w.command_line(LIMIT);
    assert_eq!(k, "v1");
    assert_eq!(std::fs::read(&asset1).unwrap(), b"asset one");
    assert_eq!(s.push("v2", b"asset two"), 2);
    let pushed = Instant::now();
    let (k, pid2, asset2) = w.command_line(restart_bound());
    assert!(pushed.elapsed() < restart_bound(), "restarted within one interval plus slack: {:?}", pushed.elapsed());
    assert_eq!(k, "v2", "the new command has the new value");
    assert_ne!(pid1, pid2, "a new command was started");
    assert!(kill(Pid::from_raw(pid1), None).is_err(), "the old command is gone");
    let line = w.expect(Stream::Err, LIMIT, |l| l.contains("the command was restarted"));
    assert!(line.contains("generation 1 → 2") && line.contains("SIGTERM"), "{line}");
    assert!(!asset1.exists() && !asset1.parent().unwrap().exists(), "generation 1's asset directory is gone");
    assert_eq!(std::fs::read(&asset2).unwrap(), b"asset two", "generation 2's asset file is there");
    assert_eq!(std::fs::metadata(&asset2).unwrap().permissions().mode() & 0o777, 0o600);
    // The end of stdin ends the command (exit 0): the watch ends with it.
    let (code, rest, stderr) = w.wait(true);
    assert_eq!(code, Some(0), "{stderr:#?}");
    assert!(rest.iter().all(|(s, _)| *s == Stream::Err), "no further command: {rest:?}");
    assert_eq!(restart_lines(&stderr).len(), 1, "{stderr:#?}");
    assert!(!asset2.parent().unwrap().exists(), "the asset directory goes with the last command");
    assert!(!stderr.iter().any(|l| l.contains("v1") || l.contains("v2") || l.contains(PASS)), "{stderr:#?}");
}

#[test]
fn a_command_that_ignores_the_restart_signal_is_killed_after_the_grace_period() {
    let s = Store::new(false);
    let mut w = s.watch(&["--restart-grace", "1"], &format!("trap '' TERM; {PRINT_AND_WAIT}"));
    let (_, pid1, _) = w.command_line(LIMIT);
    s.push("v2", b"asset two");
    let (k, pid2, _) = w.command_line(restart_bound() + Duration::from_secs(1));
    assert_eq!(k, "v2");
    assert_ne!(pid1, pid2);
    let line = w.expect(Stream::Err, LIMIT, |l| l.contains("the command was restarted"));
    assert!(line.contains("generation 1 → 2") && line.contains("SIGKILL after the 1.0 s grace period"), "{line}");
    let (code, _, stderr) = w.wait(true);
    assert_eq!(code, Some(0), "{stderr:#?}");
}

#[test]
fn failing_polls_leave_the_command_alone_and_a_later_push_restarts_it_once() {
    let s = Store::new(true);
    // --timeout bounds each poll (the hang).
    let mut w = s.watch(&["--timeout", "3"], PRINT_AND_WAIT);
    let (k, pid1, _) = w.command_line(LIMIT);
    assert_eq!(k, "v1");
    let faults = [
        json!({"kind": "hang"}),
        json!({"kind": "status", "status": 503, "code": "SlowDown"}),
        json!({"kind": "reset_before"}),
    ];
    for fault in faults {
        s.proxy().set_rules(json!([{"path": "/manifest$", "action": fault}]));
        // Several failed polls in a row (each one line); the command untouched meanwhile.
        for _ in 0..3 {
            let line = w.expect(Stream::Err, LIMIT, |l| l.contains("polling the store failed"));
            assert!(line.contains("S3UnreachableError") && line.contains("the command keeps running"), "{line}");
        }
    }
    // DNS: the token file now names a host that does not resolve (it is read at each poll).
    let mut unresolvable = s.direct.clone();
    unresolvable.endpoint = "http://vsync-watch-test.invalid:9000".into();
    replace_private(&s.path("token"), unresolvable.encode().as_bytes());
    for _ in 0..3 {
        let line = w.expect(Stream::Err, LIMIT, |l| l.contains("polling the store failed"));
        assert!(line.contains("S3UnreachableError"), "{line}");
    }
    assert!(kill(Pid::from_raw(pid1), None).is_ok(), "the command kept running through the failures");
    assert!(restart_lines(&w.stderr).is_empty(), "{:#?}", w.stderr);
    // Healed, then a push: one restart.
    s.write_token(&s.direct);
    s.proxy().set_rules(json!([]));
    assert_eq!(s.push("v2", b"asset two"), 2);
    let (k, pid2, _) = w.command_line(restart_bound());
    assert_eq!(k, "v2");
    assert_ne!(pid1, pid2);
    let (code, rest, stderr) = w.wait(true);
    assert_eq!(code, Some(0), "{stderr:#?}");
    assert!(rest.iter().all(|(s, _)| *s == Stream::Err), "one restart only: {rest:?}");
    assert_eq!(restart_lines(&stderr).len(), 1, "{stderr:#?}");
    for secret in [PASS, &var("VSYNC_TEST_SECRET_KEY")] {
        assert!(!stderr.iter().any(|l| l.contains(secret)), "{stderr:#?}");
    }
}

#[test]
fn a_rotation_with_a_new_salt_restarts_only_once_the_files_are_updated() {
    let s = Store::new(true);
    let mut w = s.watch(&[], PRINT_AND_WAIT);
    let (_, pid1, _) = w.command_line(LIMIT);
    let mut rotated = s.direct.clone();
    rotated.salt = writer::random_salt();
    let options = WriteOptions::new(Duration::from_secs(30));
    let gen = writer::rotate(&s.direct, PASS, &rotated, PASS2, &options, &mut |_| Ok(())).unwrap().gen;
    assert_eq!(gen, 2);
    // The files still hold the old token and passphrase: reported once, no restart.
    let line = w.expect(Stream::Err, LIMIT, |l| l.contains("cannot open generation 2"));
    assert!(line.contains("WrongPassphraseError") && line.contains("keeps running on generation 1"), "{line}");
    let seen = s.manifest_requests();
    wait_for("three more polls", || s.manifest_requests() >= seen + 3);
    w.drain();
    assert!(kill(Pid::from_raw(pid1), None).is_ok(), "the command kept running");
    // The operator updates the mounted files: the next poll restarts onto generation 2.
    write_private(&s.path("pw"), PASS2.as_bytes());
    s.write_token(&rotated);
    let (k, pid2, _) = w.command_line(restart_bound());
    assert_eq!(k, "v1", "the rotation kept the values");
    assert_ne!(pid1, pid2);
    let (code, _, stderr) = w.wait(true);
    assert_one_failure_one_restart(code, &stderr, "cannot open generation 2", "generation 1 → 2");
    assert!(!stderr.iter().any(|l| l.contains(PASS) || l.contains(PASS2)), "{stderr:#?}");
}

#[test]
fn a_torn_bundle_is_not_started_and_the_next_good_push_is() {
    let s = Store::new(true);
    let mut w = s.watch(&[], PRINT_AND_WAIT);
    let (_, pid1, _) = w.command_line(LIMIT);
    // A torn push of generation 2 with plain S3 PUTs: half a bundle, then a manifest naming it.
    vsync_core::s3::run(&s.direct, Duration::from_secs(30), |store| async move {
        let state = writer::remote_state(&store).await?;
        let current = store.get(&format!("v={}", state.ts.clone().unwrap())).await?.unwrap().body;
        let ts = writer::next_timestamp(state.ts.as_deref());
        store.put(&format!("v={ts}"), current[..current.len() / 2].to_vec(), None).await?;
        let manifest = vsync_core::envelope::seal_manifest(&ts, json!({"gen": 2, "ts": ts}).to_string().as_bytes())?;
        store.put("manifest", manifest, Some(2)).await
    })
    .unwrap();
    let line = w.expect(Stream::Err, LIMIT, |l| l.contains("cannot open generation 2"));
    // Half a bundle fails authentication: the core cannot tell it from a wrong key.
    assert!(line.contains("BundleCorruptError") || line.contains("WrongPassphraseError"), "{line}");
    let seen = s.manifest_requests();
    wait_for("three more polls", || s.manifest_requests() >= seen + 3);
    w.drain();
    assert!(kill(Pid::from_raw(pid1), None).is_ok(), "the old command keeps running");
    assert_eq!(s.push("v3", b"asset three"), 3);
    let (k, pid2, asset) = w.command_line(restart_bound());
    assert_eq!(k, "v3");
    assert_ne!(pid1, pid2);
    assert_eq!(std::fs::read(asset).unwrap(), b"asset three");
    let (code, _, stderr) = w.wait(true);
    assert_one_failure_one_restart(code, &stderr, "cannot open generation", "generation 1 → 3");
}

#[test]
fn sigterm_during_the_restart_grace_stops_the_command_and_starts_nothing() {
    let s = Store::new(false);
    // The restart signal is USR1, which the command reports and survives: it proves that vsync
    // is inside the grace period (60 s) when the SIGTERM comes.
    let script = "trap 'echo got USR1' USR1; echo \"K=$K $$ $CA_FILE\"; \
                  i=0; while [ $i -lt 600 ]; do sleep 0.1 >/dev/null & wait $!; i=$((i+1)); done";
    let mut w = s.watch(&["--restart-signal", "USR1", "--restart-grace", "60"], script);
    let (_, _, asset) = w.command_line(LIMIT);
    s.push("v2", b"asset two");
    w.expect(Stream::Out, restart_bound(), |l| l == "got USR1");
    kill(w.pid(), Signal::SIGTERM).unwrap();
    let (code, rest, stderr) = w.wait(false);
    assert_eq!(code, Some(143), "stopped by the SIGTERM: 128+15; {stderr:#?}");
    assert!(rest.iter().all(|(s, _)| *s == Stream::Err), "nothing was started: {rest:?}");
    assert!(restart_lines(&stderr).is_empty(), "{stderr:#?}");
    assert!(!asset.parent().unwrap().exists(), "the asset directory is removed");
}

#[test]
fn a_command_that_exits_by_itself_ends_the_watch_with_its_code() {
    let s = Store::new(false);
    let w = s.watch(&[], "echo \"K=$K $$ $CA_FILE\"; exit 3");
    let (code, rest, stderr) = w.wait(true);
    assert_eq!(code, Some(3), "{stderr:#?}");
    assert_eq!(rest.iter().filter(|(s, _)| *s == Stream::Out).count(), 1, "started once, not restarted: {rest:?}");
    assert!(stderr.is_empty(), "{stderr:#?}");
}

#[test]
fn watch_flags_usage() {
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_vsync")).env_clear().arg("run").args(args).output().unwrap();
    // --watch with --exec: nobody would remain to watch (a usage error, before anything opens).
    assert_eq!(run(&["--watch", "--exec", "--", "true"]).status.code(), Some(2));
    assert_eq!(run(&["--watch-interval", "5", "--", "true"]).status.code(), Some(2), "needs --watch");
    for bad in [["--watch-interval", "0"], ["--watch-interval", "x"], ["--restart-signal", "KILL"]] {
        let mut args = vec!["--watch"];
        args.extend(bad);
        args.extend(["--", "true"]);
        assert_eq!(run(&args).status.code(), Some(2), "{bad:?}");
    }
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    for needle in ["--watch", "--watch-interval", "--restart-grace", "--restart-signal", "KillMode=mixed"] {
        assert!(help.contains(needle), "`vsync run --help` does not mention {needle}");
    }
}

/// Wait for `ready` (checked every 20 ms: an observed event, not a sleep to synchronise on).
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
