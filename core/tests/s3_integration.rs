//! The core against a real S3-compatible server (scripts/with-s3.sh starts it and exports
//! VSYNC_TEST_*). Missing variables fail the tests: they are never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::test_config;
use vsync_core::payload::{encode_zip_payload, VaultData};
use vsync_core::s3::{PutIf, PutOutcome};
use vsync_core::writer::{self, PushError, WriteOptions};
use vsync_core::{open, open_with, s3, Config, ErrorKind, Layout, OpenOptions, Source};

const PASS: &str = "integration passphrase";
const SECRET_VALUE: &str = "s3cr3t-value-never-printed";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A config for a fresh prefix in the test bucket.
fn config() -> Config {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    test_config(format!("core-it/{}-{n}/", std::process::id()), "prod")
}

fn data(pairs: &[(&str, &str)]) -> VaultData {
    let mut d = VaultData::default();
    for (k, v) in pairs {
        d.kv.insert(k.to_string(), v.to_string().into());
    }
    d.assets.insert("tls/ca.pem".into(), b"CERT\x00\x01".to_vec().into());
    d
}

fn push(c: &Config, d: &VaultData) -> writer::Pushed {
    writer::push(c, PASS, d, None, Duration::from_secs(30)).unwrap_or_else(|e| panic!("push: {e}"))
}

fn open_err(c: &Config, pass: &str) -> vsync_core::Error {
    open_with(&c.encode(), pass, OpenOptions::default()).map(|_| ()).unwrap_err()
}

#[test]
fn push_then_open_values_sources_generation() {
    let c = config();
    let first = push(&c, &data(&[("DATABASE_URL", "postgres://db"), ("API_TOKEN", SECRET_VALUE)]));
    assert_eq!(first.gen, 1);
    let mut opts = OpenOptions::default();
    opts.defaults.insert("PORT".into(), "8080".into());
    let v = open_with(&c.encode(), PASS, opts).unwrap();
    assert_eq!(v.layout(), Some(Layout::Runtime));
    assert_eq!(v.generation().unwrap(), 1);
    let mut env = |k: &str| (k == "LOG_LEVEL").then(|| "debug".to_string());
    let r = v.resolve("DATABASE_URL", &mut env).unwrap();
    assert_eq!((r.value.unwrap().as_str(), r.source), ("postgres://db", Source::Vault));
    assert_eq!(v.env_source("LOG_LEVEL", &mut env).unwrap(), Source::Env);
    assert_eq!(v.get_env("PORT", &mut env).unwrap().unwrap().as_str(), "8080");
    assert_eq!(v.env_source("NOPE", &mut env).unwrap(), Source::Missing);
    assert_eq!(v.keys().unwrap(), vec!["DATABASE_URL", "API_TOKEN"]);
    assert_eq!(&v.get_as_content("tls/ca.pem").unwrap()[..], b"CERT\x00\x01");
    assert!(!format!("{v:?} {v}").contains(SECRET_VALUE));

    // A second push is seen by remote_generation (one HEAD) and has_new_version.
    assert!(!v.has_new_version().unwrap());
    let second = push(&c, &data(&[("DATABASE_URL", "postgres://db2")]));
    assert_eq!(second.gen, 2);
    assert!(second.ts > first.ts, "bundle names move forward");
    assert_eq!(v.remote_generation().unwrap(), 2);
    assert!(v.has_new_version().unwrap());
    // The open handle still answers from what it read.
    assert_eq!(v.get_env("DATABASE_URL", &mut env).unwrap().unwrap().as_str(), "postgres://db");
    let v2 = open_with(&c.encode(), PASS, OpenOptions::default()).unwrap();
    assert_eq!(v2.get_env("DATABASE_URL", &mut env).unwrap().unwrap().as_str(), "postgres://db2");
    assert_eq!(v2.generation().unwrap(), 2);
}

#[test]
fn open_reads_the_environment_and_files() {
    let c = config();
    push(&c, &data(&[("K", "v")]));
    let dir = tempfile::tempdir().unwrap();
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
    std::fs::set_permissions(&pass_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let env: HashMap<String, String> = [
        ("VSYNC_CONFIG".to_string(), c.encode()),
        ("VSYNC_PASSPHRASE_FILE".to_string(), pass_file.to_string_lossy().into_owned()),
    ]
    .into();
    let v = open(&|k| env.get(k).cloned(), OpenOptions::default()).unwrap();
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), "v");
    let e = open(&|_| None, OpenOptions::default()).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConfigMissing);
}

#[test]
fn cli_layout_opens() {
    let c = config();
    let zip = encode_zip_payload("vault/", "prod", "A=1\nB=\"two\"\n", &[("cert.pem", b"PEM")]);
    let key = vsync_core::envelope::derive_key(PASS, &c.salt, c.iterations);
    s3::run(&c, Duration::from_secs(30), |store| async move {
        writer::write_cli_layout(&store, &key, &zip, "20260301-101010", Some(4)).await
    })
    .unwrap();
    let v = open_with(&c.encode(), PASS, OpenOptions::default()).unwrap();
    assert_eq!(v.layout(), Some(Layout::Cli));
    assert_eq!(v.generation().unwrap(), 4);
    assert_eq!(v.get_env("B", &mut |_| None).unwrap().unwrap().as_str(), "two");
    assert_eq!(&v.get_as_content("cert.pem").unwrap()[..], b"PEM");
    assert_eq!(v.remote_generation().unwrap(), 4);
    // Our writer pushing over a CLI-layout vault continues its generation.
    let next = push(&c, &data(&[("A", "3")]));
    assert_eq!(next.gen, 5);
}

#[test]
fn rollback_of_the_bundle_is_refused() {
    let c = config();
    let first = push(&c, &data(&[("V", "old")]));
    let second = push(&c, &data(&[("V", "new")]));
    // An attacker with write access copies the old bundle over the new one.
    s3::run(&c, Duration::from_secs(30), |store| async move {
        let old = store.get(&format!("v={}", first.ts)).await?.unwrap().body;
        store.put(&format!("v={}", second.ts), old, None).await
    })
    .unwrap();
    assert_eq!(open_err(&c, PASS).kind(), ErrorKind::BundleCorrupt);
}

#[test]
fn every_s3_failure_class() {
    let c = config();
    // Nothing pushed.
    let e = open_err(&c, PASS);
    assert_eq!(e.kind(), ErrorKind::ManifestNotFound);
    assert!(e.message().contains("vsync push"));
    push(&c, &data(&[("K", SECRET_VALUE)]));
    // Wrong passphrase.
    assert_eq!(open_err(&c, "wrong").kind(), ErrorKind::WrongPassphrase);
    // Wrong secret key: a real 403 from the server.
    let mut bad = c.clone();
    bad.secret_access_key = "not-the-secret".to_string().into();
    let e = open_err(&bad, PASS);
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(e.message().contains("403"), "{}", e.message());
    // Nothing listening.
    let mut closed = c.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    closed.endpoint = format!("http://127.0.0.1:{port}");
    assert_eq!(open_err(&closed, PASS).kind(), ErrorKind::S3Unreachable);
    // Torn bucket: the bundle the manifest names is gone.
    let ts = s3::run(&c, Duration::from_secs(30), |store| async move {
        let st = writer::remote_state(&store).await?;
        let ts = st.ts.unwrap();
        store.delete(&format!("v={ts}")).await?;
        Ok(ts)
    })
    .unwrap();
    let e = open_err(&c, PASS);
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains(&ts));
}

/// A TCP proxy to `target` that forwards until frozen, then holds new connections unanswered
/// until dropped. Without a target it is frozen from the start: a server that never answers,
/// so connections to it hang for as long as the test lives and only a deadline can end a call.
struct FreezableProxy {
    port: u16,
    frozen: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl FreezableProxy {
    fn start(target: Option<String>) -> FreezableProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (frozen, stop) = (Arc::new(AtomicBool::new(target.is_none())), Arc::new(AtomicBool::new(false)));
        let (frozen_flag, stop_flag) = (frozen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let target = match &target {
                    Some(target) if !frozen_flag.load(Ordering::SeqCst) => target,
                    _ => {
                        held.push(client); // never answered, never closed until the proxy is dropped
                        continue;
                    }
                };
                let Ok(upstream) = std::net::TcpStream::connect(target) else { continue };
                let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let (mut client, mut upstream) = (client, upstream);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client, &mut upstream);
                    let _ = upstream.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FreezableProxy { port, frozen, stop }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag and drops what it holds.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[test]
fn open_is_bounded_by_its_deadline() {
    let silent = FreezableProxy::start(None);
    let mut c = config();
    c.endpoint = format!("http://127.0.0.1:{}", silent.port);
    let opts = OpenOptions { timeout: Duration::from_millis(400), ..OpenOptions::default() };
    let start = Instant::now();
    let e = open_with(&c.encode(), PASS, opts).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    // The server never answers, so only the deadline can have ended the call: the message says so.
    assert!(e.message().contains("did not answer within 400ms"), "{}", e.message());
    // The bound protects against hanging for as long as the server holds the connection (the
    // whole test): the deadline + 10 s of slack for a loaded machine (key derivation included).
    assert!(start.elapsed() < Duration::from_millis(400) + Duration::from_secs(10), "{:?}", start.elapsed());
}

/// The per-call deadline (Go passes its context's) can shorten a remote call, never extend
/// it past the handle's own timeout (docs/deadlines.md).
#[test]
fn a_per_call_deadline_never_extends_the_handle_timeout() {
    let c = config();
    push(&c, &data(&[("K", "v")]));
    let proxy = FreezableProxy::start(Some(c.endpoint.trim_start_matches("http://").to_string()));
    let mut through = c.clone();
    through.endpoint = format!("http://127.0.0.1:{}", proxy.port);
    let opts = OpenOptions { timeout: Duration::from_secs(3), ..OpenOptions::default() };
    let v = open_with(&through.encode(), PASS, opts).unwrap();
    assert_eq!(v.remote_generation_within(Duration::from_secs(60)).unwrap(), 1);
    proxy.freeze();
    // The proxy now holds every connection: only a deadline ends a call, and its message names it.
    let longer = v.remote_generation_within(Duration::from_secs(60)).unwrap_err();
    assert_eq!(longer.kind(), ErrorKind::S3Unreachable);
    assert!(longer.message().contains("did not answer within 3s"), "{}", longer.message());
    let sooner = v.has_new_version_within(Duration::from_millis(300)).unwrap_err();
    assert_eq!(sooner.kind(), ErrorKind::S3Unreachable);
    assert!(sooner.message().contains("did not answer within 300ms"), "{}", sooner.message());
}

#[test]
fn lost_update_guard() {
    let c = config();
    push(&c, &data(&[("K", "1")]));
    match writer::push(&c, PASS, &data(&[("K", "2")]), Some(0), Duration::from_secs(30)) {
        Err(PushError::Conflict { expected: 0, found: 1 }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(writer::push(&c, PASS, &data(&[("K", "2")]), Some(1), Duration::from_secs(30)).unwrap().gen, 2);
}

#[test]
fn rotation_changes_passphrase_and_salt() {
    let c = config();
    push(&c, &data(&[("K", "v")]));
    let mut new_cfg = c.clone();
    new_cfg.salt = writer::random_salt();
    let opts = WriteOptions::new(Duration::from_secs(30));
    let r = writer::rotate(&c, PASS, &new_cfg, "new passphrase", &opts, &mut |_| Ok(())).unwrap();
    assert_eq!(r.gen, 2);
    let v = open_with(&new_cfg.encode(), "new passphrase", OpenOptions::default()).unwrap();
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), "v");
    assert_eq!(v.generation().unwrap(), 2);
    assert_eq!(open_err(&new_cfg, PASS).kind(), ErrorKind::WrongPassphrase);
    match writer::rotate(&c, "bad", &new_cfg, "x", &opts, &mut |_| Ok(())) {
        Err(PushError::Vsync(e)) => assert_eq!(e.kind(), ErrorKind::WrongPassphrase),
        other => panic!("expected WrongPassphrase, got {other:?}"),
    }
}

#[test]
fn concurrent_readers_and_close() {
    let c = config();
    push(&c, &data(&[("K", "v")]));
    let v = Arc::new(open_with(&c.encode(), PASS, OpenOptions::default()).unwrap());
    // Close once every reader is in its loop (an event, not a sleep): it races with the reads.
    let reading = Arc::new(std::sync::Barrier::new(5));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let v = v.clone();
            let reading = reading.clone();
            std::thread::spawn(move || {
                let mut ok = 0;
                reading.wait();
                for _ in 0..20_000 {
                    match v.get_env("K", &mut |_| None) {
                        Ok(Some(x)) => {
                            assert_eq!(x.as_str(), "v");
                            ok += 1;
                        }
                        Ok(None) => panic!("value vanished without close"),
                        Err(e) => assert_eq!(e.kind(), ErrorKind::Closed),
                    }
                }
                ok
            })
        })
        .collect();
    reading.wait();
    v.close();
    let total: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total <= 80_000);
    assert_eq!(v.get_env("K", &mut |_| None).map(|_| ()).unwrap_err().kind(), ErrorKind::Closed);
}

/// A test per error variant: none of the messages carries the passphrase, the secret key or a
/// value, even when those were the inputs that failed.
#[test]
fn no_secret_in_any_message() {
    let c = config();
    let secret_key = c.secret_access_key.to_string();
    push(&c, &data(&[("K", SECRET_VALUE)]));
    let mut seen = HashMap::new();
    let mut record = |e: vsync_core::Error| {
        seen.insert(e.kind(), format!("{e} {e:?}"));
    };
    record(open_with(&c.encode(), "", OpenOptions::default()).map(|_| ()).unwrap_err());
    record(open_with("vsync-cfg-v1:ab+c", PASS, OpenOptions::default()).map(|_| ()).unwrap_err());
    let mut bad = c.clone();
    bad.secret_access_key = format!("{secret_key}-wrong").into();
    record(open_err(&bad, PASS));
    let mut empty = c.clone();
    empty.prefix.push_str("empty/");
    record(open_err(&empty, PASS));
    record(open_err(&c, &format!("{PASS}-wrong")));
    record(open_with("vsync-cfg-v1:bm90IGd6aXA", PASS, OpenOptions::default()).map(|_| ()).unwrap_err());
    record(
        vsync_core::hooks::decrypt_envelope(b"RQE2____________________________", PASS, &c.salt, 1)
            .map(|_| ())
            .unwrap_err(),
    );
    let v = open_with(&c.encode(), PASS, OpenOptions::default()).unwrap();
    record(v.get_as_content("nope").map(|_| ()).unwrap_err());
    v.close();
    record(v.get_env("K", &mut |_| None).map(|_| ()).unwrap_err());
    // Every kind a core operation can produce (the boundary kinds are raised by bindings only).
    let produced = ErrorKind::ALL.iter().filter(|k| !k.is_boundary()).count();
    assert_eq!(seen.len(), produced, "every variant was produced: {:?}", seen.keys());
    for (kind, text) in seen {
        for secret in [PASS, secret_key.as_str(), SECRET_VALUE] {
            assert!(!text.contains(secret), "{kind:?} message contains a secret: {text}");
        }
    }
}

/// Finding 2 of issue 12: two pushes with the same `--expect-gen` both succeeded (3 of 5
/// rounds) and same-second pushes shared `v=<ts>`, so one writer's data silently replaced the
/// other's. Now: per round, exactly one of N guarded pushes wins, every other one is told
/// `Conflict` naming the generation now there, and readers get the winner's data intact.
#[test]
fn parallel_guarded_pushes_at_most_one_wins_none_lost() {
    const WRITERS: usize = 6;
    for round in 0..5 {
        let mut c = config();
        c.iterations = 1_000;
        push(&c, &data(&[("K", "base")]));
        let barrier = Arc::new(std::sync::Barrier::new(WRITERS));
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (c, barrier) = (c.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let d = data(&[("K", &format!("writer-{i}"))]);
                    barrier.wait();
                    (i, writer::push(&c, PASS, &d, Some(1), Duration::from_secs(30)))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter_map(|(i, r)| r.as_ref().ok().map(|p| (*i, p.clone()))).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one guarded push wins: {results:?}");
        let (winner, pushed) = &winners[0];
        assert_eq!(pushed.gen, 2);
        for (i, r) in &results {
            match r {
                Ok(_) => assert_eq!(i, winner),
                Err(PushError::Conflict { expected: 1, found: 2 }) => {}
                Err(e) => panic!("round {round}: writer {i} failed with something else than a conflict: {e}"),
            }
        }
        let v = open_with(&c.encode(), PASS, OpenOptions::default()).unwrap();
        assert_eq!(v.generation().unwrap(), 2);
        let value = v.get_env("K", &mut |_| None).unwrap().unwrap();
        assert_eq!(value.as_str(), format!("writer-{winner}"), "readers get the winner's data");
    }
}

/// Unguarded pushes (no `--expect-gen`) racing: each one either lands with its own generation
/// and its own bundle, or is told it lost. Nothing is replaced silently.
#[test]
fn parallel_unguarded_pushes_never_share_a_generation_or_bundle() {
    const WRITERS: usize = 5;
    let mut c = config();
    c.iterations = 1_000;
    let barrier = Arc::new(std::sync::Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (c, barrier) = (c.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (i, writer::push(&c, PASS, &data(&[("K", &format!("w{i}"))]), None, Duration::from_secs(30)))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut landed: Vec<(u64, String, usize)> = Vec::new();
    for (i, r) in &results {
        match r {
            Ok(p) => landed.push((p.gen, p.ts.clone(), *i)),
            Err(PushError::Conflict { .. }) => {}
            Err(e) => panic!("writer {i}: {e}"),
        }
    }
    assert!(!landed.is_empty(), "{results:?}");
    landed.sort();
    let gens: Vec<u64> = landed.iter().map(|l| l.0).collect();
    let expected: Vec<u64> = (1..=landed.len() as u64).collect();
    assert_eq!(gens, expected, "every landed push has its own generation, in order: {landed:?}");
    let mut names: Vec<&String> = landed.iter().map(|l| &l.1).collect();
    names.dedup();
    assert_eq!(names.len(), landed.len(), "every landed push has its own bundle: {landed:?}");
    let last = landed.last().unwrap();
    let v = open_with(&c.encode(), PASS, OpenOptions::default()).unwrap();
    assert_eq!(v.generation().unwrap(), last.0);
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), format!("w{}", last.2));
}

/// The local server honours conditional writes atomically per key (the `vsync dev-server`
/// layer in front of s3s-fs): of N concurrent creates exactly one is stored, and of N
/// concurrent `If-Match` replacements of one version exactly one is stored.
#[test]
fn conditional_puts_are_atomic_per_key() {
    const WRITERS: usize = 8;
    let c = config();
    let race = |name: String, condition: PutIf| -> Vec<PutOutcome> {
        let barrier = Arc::new(std::sync::Barrier::new(WRITERS));
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (c, barrier, name, condition) = (c.clone(), barrier.clone(), name.clone(), condition.clone());
                std::thread::spawn(move || {
                    s3::run(&c, Duration::from_secs(30), |store| async move {
                        barrier.wait();
                        // Distinct bytes per write: an ETag is the content's MD5, so a write of
                        // the bytes already there would leave the ETag (and `If-Match`) unchanged.
                        let body = format!("{name} {condition:?} writer {i}").into_bytes();
                        store.put_if(&name, body, None, &condition).await.map_err(|f| f.error)
                    })
                    .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let stored = |outcomes: &[PutOutcome]| outcomes.iter().filter(|o| matches!(o, PutOutcome::Stored { .. })).count();
    for round in 0..5 {
        let created = race(format!("create-{round}"), PutIf::Absent);
        assert_eq!(stored(&created), 1, "round {round}: one create wins: {created:?}");
        let etag = s3::run(&c, Duration::from_secs(30), |store| async move {
            Ok(store.head_version(&format!("create-{round}")).await?.and_then(|v| v.etag))
        })
        .unwrap()
        .expect("an ETag");
        let replaced = race(format!("create-{round}"), PutIf::Matches(etag));
        assert_eq!(stored(&replaced), 1, "round {round}: one replacement wins: {replaced:?}");
    }
    // If-Match on a key that does not exist is a refused precondition, not a write.
    let missing = race("never-created".into(), PutIf::Matches("\"0123\"".into()));
    assert_eq!(stored(&missing), 0);
}

/// Issue 12 finding 7: `gen + 1` on the unauthenticated `gen` metadata must not wrap (release
/// builds) or panic (debug builds): a clear error, and nothing written.
#[test]
fn generation_overflow_is_a_clear_error_and_writes_nothing() {
    let mut c = config();
    c.iterations = 1_000;
    let first = push(&c, &data(&[("K", "v")]));
    s3::run(&c, Duration::from_secs(30), |store| async move {
        let m = store.get("manifest").await?.unwrap().body;
        store.put("manifest", m, Some(u64::MAX)).await
    })
    .unwrap();
    match writer::push(&c, PASS, &data(&[("K", "v2")]), None, Duration::from_secs(30)) {
        Err(PushError::Vsync(e)) => {
            assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
            assert!(e.message().contains(&u64::MAX.to_string()), "{}", e.message());
        }
        other => panic!("expected a BundleCorrupt error, got {other:?}"),
    }
    // Readers refuse the tampered manifest: its metadata disagrees with the generation sealed in
    // the bundle (issue 23 #3, SPEC §4).
    let e = open_with(&c.encode(), PASS, OpenOptions::default()).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains("sealed at generation 1"), "{}", e.message());
    let state =
        s3::run(&c, Duration::from_secs(30), |store| async move { writer::remote_state(&store).await }).unwrap();
    assert_eq!(state.ts.as_deref(), Some(first.ts.as_str()), "the manifest was left as it was");
    assert_eq!(state.gen, u64::MAX);
}
