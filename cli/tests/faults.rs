//! The fault-injection suite, writer side (`./scripts/task test:faults`; docs/faults.md): the
//! `vsync` CLI pushes and rotates through scripts/faults/faultproxy.py while the reply of each
//! PUT is withheld (the store acts, the answer is lost), the store is partitioned right after a
//! write, or it ignores conditional writes. Every case asserts that the CLI's exit code and
//! message tell the truth, and that the vault is then readable with what the CLI said.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vsync_core::{open_with, Config, ErrorKind, OpenOptions};

mod common;

#[path = "../../core/tests/common/faultproxy.rs"]
mod faultproxy;
use faultproxy::{rule, FaultProxy};

const PASS: &str = "fault-suite old passphrase";
const PASS2: &str = "fault-suite new passphrase";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A vault at a fresh prefix (pushed straight to the server, gen 1, K=v1), and files for the
/// CLI: tokens for the direct and the proxied endpoint, passphrases, a .env with K=v2.
struct Vault {
    dir: tempfile::TempDir,
    direct: Config,
    proxy: FaultProxy,
}

fn write_private(path: &Path, content: &str) {
    common::write_private(path, content).unwrap();
}

impl Vault {
    fn new(rules: Value) -> Vault {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let direct = common::dev_server().unwrap().config(
            format!("cli-faults/{}-{n}/", std::process::id()),
            "dev",
            vsync_core::writer::random_salt(),
            1_000,
        );
        let mut d = vsync_core::payload::VaultData::default();
        d.kv.insert("K".into(), "v1".to_string().into());
        vsync_core::writer::push(&direct, PASS, &d, None, Duration::from_secs(30)).unwrap();
        let proxy = FaultProxy::start(rules);
        let dir = tempfile::tempdir().unwrap();
        let mut proxied = direct.clone();
        proxied.endpoint = proxy.endpoint();
        write_private(&dir.path().join("token"), &proxied.encode());
        write_private(&dir.path().join("pw"), PASS);
        write_private(&dir.path().join("pw2"), PASS2);
        write_private(&dir.path().join(".env"), "K=v2\n");
        Vault { dir, direct, proxy }
    }

    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn vsync(&self, args: &[&str]) -> Output {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_vsync"));
        c.env_clear().args(args).args(["--config-file", &self.p("token")]);
        if !args.contains(&"--timeout") {
            c.args(["--timeout", "5"]);
        }
        c.output().unwrap()
    }

    fn push(&self, extra: &[&str]) -> Output {
        let (pw, env) = (self.p("pw"), self.p(".env"));
        let mut args = vec!["push", "--passphrase-file", &pw, "--env-file", &env];
        args.extend(extra);
        self.vsync(&args)
    }

    fn rotate(&self, extra: &[&str]) -> Output {
        let (pw, pw2) = (self.p("pw"), self.p("pw2"));
        let mut args = vec!["rotate-passphrase", "--passphrase-file", &pw, "--new-passphrase-file", &pw2];
        args.extend(extra);
        self.vsync(&args)
    }

    /// What a reader with `token` and `pass` gets: (generation, K) or the error class.
    fn read(&self, token: &Config, pass: &str) -> Result<(u64, String), ErrorKind> {
        let mut c = token.clone();
        c.endpoint = self.direct.endpoint.clone();
        let v = open_with(&c.encode(), pass, OpenOptions::default()).map_err(|e| e.kind())?;
        let k = v.get_env("K", &mut |_| None).map_err(|e| e.kind())?.map(|z| z.to_string()).unwrap_or_default();
        Ok((v.generation().map_err(|e| e.kind())?, k))
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(o: &Output) -> String {
    format!("exit {:?}\nstdout: {}\nstderr: {}", o.status.code(), text(&o.stdout), text(&o.stderr))
}

const PROBE: &str = r"/\.vsync-write-probe$";
const BUNDLE: &str = "/v%3D[0-9-]+$";
const MANIFEST: &str = "/manifest$";
const META: &str = r"/latest\.meta$";

fn withheld(path: &str) -> Value {
    json!([rule("PUT", path, json!({"kind": "withhold_reply"}))])
}

// ---------------------------------------------------------------------------------------------
// Push: the reply of each PUT is lost (every attempt's).

/// Pushes with the replies to the PUTs of `path` withheld, and checks the exit code.
fn push_with_the_reply_lost(path: &str, code: i32) -> (Vault, Output) {
    let v = Vault::new(withheld(path));
    let o = v.push(&[]);
    assert_eq!(o.status.code(), Some(code), "{}", show(&o));
    (v, o)
}

#[test]
fn push_with_the_probe_reply_lost_says_nothing_changed_and_nothing_did() {
    let (v, o) = push_with_the_reply_lost(PROBE, 13);
    assert!(
        text(&o.stderr).contains("the manifest was not moved: readers still get the previous vault"),
        "{}",
        show(&o)
    );
    assert_eq!(v.read(&v.direct, PASS), Ok((1, "v1".into())));
    assert_eq!(v.proxy.count("PUT", "/manifest"), 0);
}

#[test]
fn push_with_the_bundle_reply_lost_checks_the_bundle_and_goes_on() {
    let (v, o) = push_with_the_reply_lost(BUNDLE, 0);
    assert!(text(&o.stdout).starts_with("pushed gen=2 "), "{}", show(&o));
    assert_eq!(v.read(&v.direct, PASS), Ok((2, "v2".into())));
}

#[test]
fn push_with_the_manifest_reply_lost_reads_back_and_says_it_landed() {
    let (v, o) = push_with_the_reply_lost(MANIFEST, 0);
    assert!(text(&o.stdout).starts_with("pushed gen=2 "), "{}", show(&o));
    assert!(text(&o.stderr).contains("reading it back shows it landed"), "{}", show(&o));
    assert_eq!(v.read(&v.direct, PASS), Ok((2, "v2".into())));
    assert!(v.proxy.count("PUT", "/manifest") >= 1);
}

#[test]
fn push_with_the_latest_meta_reply_lost_says_the_manifest_moved() {
    let (v, o) = push_with_the_reply_lost(META, 0);
    assert!(text(&o.stderr).contains("latest.meta") && text(&o.stderr).contains("readers get gen 2"), "{}", show(&o));
    assert_eq!(v.read(&v.direct, PASS), Ok((2, "v2".into())));
}

#[test]
fn push_cut_off_after_the_manifest_write_is_unconfirmed_and_says_how_to_check() {
    let v = Vault::new(json!([rule("PUT", MANIFEST, json!({"kind": "withhold_reply", "then": {"kind": "hang"}}))]));
    let start = Instant::now();
    let o = v.push(&["--timeout", "2"]);
    assert_eq!(o.status.code(), Some(21), "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("WriteUnconfirmedError") && err.contains("vsync status"), "{}", show(&o));
    // The write's deadline, then the read-back's, plus scheduling slack.
    assert!(start.elapsed() < Duration::from_secs(2 + 2 + 3), "took {:?}", start.elapsed());
    // The store did act: `vsync status` (here: a reader) sees gen 2.
    assert_eq!(v.read(&v.direct, PASS), Ok((2, "v2".into())));
}

#[test]
fn push_refused_on_the_manifest_says_nothing_changed() {
    let v = Vault::new(json!([rule("PUT", MANIFEST, json!({"kind": "status", "status": 403}))]));
    let o = v.push(&[]);
    assert_eq!(o.status.code(), Some(13), "{}", show(&o));
    assert!(text(&o.stderr).contains("the manifest was not moved"), "{}", show(&o));
    assert_eq!(v.read(&v.direct, PASS), Ok((1, "v1".into())));
    assert_eq!(v.proxy.count("DELETE", ""), 1, "the unused bundle is removed");
}

// ---------------------------------------------------------------------------------------------
// Rotate with a new salt (issue 12, finding 1): the new token is shown before the manifest
// moves, and whatever happens after, the message says which token opens the vault.

fn new_token(o: &Output) -> Config {
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "stdout is the new token: {}", show(o));
    Config::decode(out.trim()).unwrap()
}

#[test]
fn rotate_new_salt_with_the_manifest_reply_lost_tells_the_truth() {
    let v = Vault::new(withheld(MANIFEST));
    let file = v.dir.path().join("new.token");
    let o = v.rotate(&["--new-salt", "--new-token-file", &file.to_string_lossy()]);
    // Before the fix: exit 13, "nothing was changed", no token printed, and every reader locked
    // out (the manifest had moved to a bundle sealed under a salt nobody had).
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(text(&o.stderr).contains("reading it back shows it landed"), "{}", show(&o));
    let token = new_token(&o);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token.encode());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(v.read(&token, PASS2), Ok((2, "v1".into())));
    assert_eq!(v.read(&v.direct, PASS), Err(ErrorKind::WrongPassphrase));
}

#[test]
fn rotate_new_salt_cut_off_after_the_manifest_write_keeps_the_token_in_hand() {
    let v = Vault::new(json!([rule("PUT", MANIFEST, json!({"kind": "withhold_reply", "then": {"kind": "hang"}}))]));
    let o = v.rotate(&["--new-salt", "--timeout", "2"]);
    assert_eq!(o.status.code(), Some(21), "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("vsync status") && err.contains("new token"), "{}", show(&o));
    // It landed, and the token that opens it was printed before the write.
    let token = new_token(&o);
    assert_eq!(v.read(&token, PASS2), Ok((2, "v1".into())));
}

#[test]
fn rotate_new_salt_refused_on_the_manifest_says_the_new_token_is_not_in_use() {
    let v = Vault::new(json!([rule("PUT", MANIFEST, json!({"kind": "status", "status": 403}))]));
    let o = v.rotate(&["--new-salt"]);
    assert_eq!(o.status.code(), Some(13), "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("the manifest was not moved") && err.contains("is not in use"), "{}", show(&o));
    let token = new_token(&o);
    assert_eq!(v.read(&v.direct, PASS), Ok((1, "v1".into())), "the current token still opens it");
    assert_eq!(v.read(&token, PASS2), Err(ErrorKind::WrongPassphrase), "the printed one does not (yet)");
}

#[test]
fn rotate_with_each_reply_lost_tells_the_truth() {
    // (rule, expected exit, what readers get afterwards with the new passphrase or the old)
    for (path, code) in [(PROBE, 13), (BUNDLE, 0), (MANIFEST, 0), (META, 0)] {
        let v = Vault::new(withheld(path));
        let o = v.rotate(&[]);
        assert_eq!(o.status.code(), Some(code), "{path}: {}", show(&o));
        if code == 0 {
            assert!(text(&o.stdout).starts_with("rotated gen=2 "), "{path}: {}", show(&o));
            assert_eq!(v.read(&v.direct, PASS2), Ok((2, "v1".into())), "{path}");
        } else {
            assert!(text(&o.stderr).contains("the manifest was not moved"), "{path}: {}", show(&o));
            assert_eq!(v.read(&v.direct, PASS), Ok((1, "v1".into())), "{path}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrent writers and stores without conditional writes.

#[test]
fn parallel_guarded_pushes_one_wins_the_others_are_told() {
    const WRITERS: usize = 4;
    // Every manifest write is held 300 ms, so the pushes overlap where it matters.
    let v = Vault::new(json!([rule("PUT", MANIFEST, json!({"kind": "delay", "seconds": 0.3}))]));
    for i in 0..WRITERS {
        write_private(&v.dir.path().join(format!("w{i}.env")), &format!("K=writer-{i}\n"));
    }
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_vsync"))
                .env_clear()
                .args(["push", "--config-file", &v.p("token"), "--passphrase-file", &v.p("pw")])
                .args(["--env-file", &v.p(&format!("w{i}.env")), "--expect-gen", "1"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let winners: Vec<usize> = (0..WRITERS).filter(|&i| outs[i].status.code() == Some(0)).collect();
    assert_eq!(winners.len(), 1, "{}", outs.iter().map(show).collect::<Vec<_>>().join("\n"));
    for (i, o) in outs.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(o.status.code(), Some(20), "{}", show(o));
            assert!(text(&o.stderr).contains("ConflictError") && text(&o.stderr).contains("gen 2"), "{}", show(o));
        }
    }
    assert_eq!(v.read(&v.direct, PASS), Ok((2, format!("writer-{}", winners[0]))));
}

#[test]
fn a_store_without_conditional_writes_is_refused_unless_single_writer() {
    let v = Vault::new(json!([rule("PUT", ".*", json!({"kind": "ignore_preconditions"}))]));
    let o = v.push(&[]);
    assert_eq!(o.status.code(), Some(22), "{}", show(&o));
    assert!(
        text(&o.stderr).contains("ConditionalWritesUnsupportedError") && text(&o.stderr).contains("--single-writer")
    );
    assert_eq!(v.read(&v.direct, PASS), Ok((1, "v1".into())), "nothing was written");
    let o = v.push(&["--single-writer"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(v.read(&v.direct, PASS), Ok((2, "v2".into())));
}
