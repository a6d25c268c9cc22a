//! Issue 12, read side, against the real S3-compatible server of scripts/with-s3.sh (through a
//! scripted fault server where a failure is needed): size caps, the retry policy, hostile
//! tokens. Missing VSYNC_TEST_* variables fail the tests: they are never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::net::{backend, http_reply, s3_error, FaultServer, Reply};
use common::test_config;
use vsync_core::limits::MAX_POINTER_BYTES;
use vsync_core::payload::VaultData;
use vsync_core::{open_with, s3, writer, Config, ErrorKind, OpenOptions};

const READ_ATTEMPTS: u32 = s3::READ_RETRY.max_attempts;

const PASS: &str = "robustness passphrase";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn config() -> Config {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    test_config(format!("robustness/{}-{n}/", std::process::id()), "prod")
}

/// A config with a vault pushed (gen 1, one key, one 100 KiB asset).
fn pushed() -> Config {
    let c = config();
    let mut d = VaultData::default();
    d.kv.insert("K".into(), "value".to_string().into());
    d.assets.insert("blob".into(), vec![0x5a; 100 << 10].into());
    writer::push(&c, PASS, &d, None, Duration::from_secs(30)).unwrap();
    c
}

fn through(c: &Config, server: &FaultServer) -> Config {
    let mut c = c.clone();
    c.endpoint = server.endpoint();
    c
}

fn open(c: &Config, timeout: Duration) -> Result<vsync_core::Vault, vsync_core::Error> {
    open_with(&c.encode(), PASS, OpenOptions { timeout, ..OpenOptions::default() })
}

fn is_get(line: &str, name: &str) -> bool {
    line.starts_with("GET ") && line.contains(&format!("/{name}"))
}

/// A request for a runtime-layout bundle (`v=<ts>`; the `=` is percent-encoded on the wire).
fn is_bundle(line: &str) -> bool {
    line.contains("/v%3D") || line.contains("/v=")
}

// ---- size caps (issue 12 #5) ----

#[test]
fn an_oversized_manifest_is_refused_from_its_content_length() {
    let c = pushed();
    // A well-formed manifest padded to 1 MiB: before the cap it was read whole and accepted.
    let ts = s3::run(&c, Duration::from_secs(30), |store| async move {
        let m = store.get("manifest").await?.unwrap();
        let mut body = m.body[..23].to_vec();
        body.extend_from_slice(br#"{"gen":1}"#);
        body.resize(1 << 20, b' ');
        store.put("manifest", body, Some(1)).await?;
        Ok(String::from_utf8_lossy(&m.body[8..23]).into_owned())
    })
    .unwrap();
    assert_eq!(ts.len(), 15);
    let e = open(&c, Duration::from_secs(30)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt, "{e}");
    assert!(e.message().contains("manifest") && e.message().contains(&MAX_POINTER_BYTES.to_string()), "{e}");
    assert!(e.message().contains("1048576 bytes"), "the declared size is reported: {e}");
}

#[test]
fn the_bundle_cap_is_configurable_per_open() {
    let c = pushed();
    let e = open_with(&c.encode(), PASS, OpenOptions { max_bundle_bytes: Some(64 << 10), ..OpenOptions::default() })
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains("VSYNC_MAX_BUNDLE_BYTES"), "{e}");
    let v = open_with(&c.encode(), PASS, OpenOptions { max_bundle_bytes: Some(1 << 20), ..OpenOptions::default() })
        .unwrap();
    assert_eq!(v.get_as_content("blob").unwrap().len(), 100 << 10);
}

#[test]
fn a_body_without_length_is_capped_while_streaming() {
    // The manifest GET answers a chunked body of 256 MiB that never ends properly.
    let chunk_len = 64 << 10;
    let mut chunk = format!("{chunk_len:x}\r\n").into_bytes();
    chunk.extend(std::iter::repeat_n(b'a', chunk_len));
    chunk.extend_from_slice(b"\r\n");
    let total_chunks = 4096;
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    let server = FaultServer::start(None, move |_, _| Reply::Stream {
        head: head.clone(),
        chunk: chunk.clone(),
        count: total_chunks,
    });
    let c = through(&config(), &server);
    let e = open(&c, Duration::from_secs(30)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt, "{e}");
    assert_eq!(server.requests(), 1, "an oversized object is final, not retried");
    // The reader stopped at the cap: the server could not write the whole body (what it wrote
    // beyond the cap sits in socket buffers, a few MiB at most).
    let sent = server.streamed();
    assert!(sent < total_chunks * chunk_len / 8, "the reader stopped early: {sent} bytes sent");
}

// ---- the retry policy ----

#[test]
fn slowdown_and_server_errors_are_retried_until_success() {
    let c = pushed();
    // The first two manifest GETs get 503 SlowDown, the next 500; then everything is forwarded.
    let manifest_gets = AtomicUsize::new(0);
    let server = FaultServer::start(Some(backend()), move |_, line| {
        if is_get(line, "manifest") {
            match manifest_gets.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => return Reply::Raw(s3_error("503 Slow Down", "SlowDown")),
                2 => return Reply::Raw(s3_error("500 Internal Server Error", "InternalError")),
                _ => {}
            }
        }
        Reply::Forward
    });
    let v = open(&through(&c, &server), Duration::from_secs(30)).unwrap();
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), "value");
    let log = server.log();
    assert_eq!(log.iter().filter(|l| is_get(l, "manifest")).count(), 4, "{log:?}");
    assert_eq!(log.len(), 5, "4 manifest GETs + 1 bundle GET: {log:?}");
}

#[test]
fn a_truncated_body_is_retried() {
    let c = pushed();
    let first = AtomicUsize::new(0);
    let server = FaultServer::start(Some(backend()), move |_, line| {
        if line.starts_with("GET ") && is_bundle(line) && first.fetch_add(1, Ordering::SeqCst) == 0 {
            // Announces 1000 bytes, sends 10, closes.
            let mut r = http_reply("200 OK", "", &[b'x'; 1000]);
            r.truncate(r.len() - 990);
            return Reply::Raw(r);
        }
        Reply::Forward
    });
    let v = open(&through(&c, &server), Duration::from_secs(30)).unwrap();
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), "value");
    assert_eq!(server.log().iter().filter(|l| is_bundle(l)).count(), 2, "{:?}", server.log());
}

#[test]
fn forbidden_and_missing_are_answered_at_once() {
    let server = FaultServer::start(None, |_, _| Reply::Raw(s3_error("403 Forbidden", "AccessDenied")));
    let e = open(&through(&config(), &server), Duration::from_secs(30)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(e.message().contains("403"), "{e}");
    assert_eq!(server.requests(), 1, "403 is not retried");

    let server = FaultServer::start(None, |_, _| Reply::Raw(s3_error("404 Not Found", "NoSuchKey")));
    let e = open(&through(&config(), &server), Duration::from_secs(30)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ManifestNotFound);
    assert_eq!(server.requests(), 2, "manifest then latest, once each");

    let server = FaultServer::start(None, |_, _| Reply::Raw(s3_error("404 Not Found", "NoSuchBucket")));
    let e = open(&through(&config(), &server), Duration::from_secs(30)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert_eq!(server.requests(), 1);
}

#[test]
fn persistent_server_errors_give_up_after_the_attempt_budget() {
    let server = FaultServer::start(None, |_, _| Reply::Raw(s3_error("503 Slow Down", "SlowDown")));
    let start = Instant::now();
    let e = open(&through(&config(), &server), Duration::from_secs(60)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(e.message().contains("503") && e.message().contains(&format!("after {READ_ATTEMPTS} attempts")), "{e}");
    assert_eq!(server.requests(), READ_ATTEMPTS as usize);
    // The backoff waits sum to at most 50+100+200+400+800 ms + 4 x 1 s.
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
}

#[test]
fn retries_never_wait_past_the_deadline() {
    let server = FaultServer::start(None, |_, _| Reply::Raw(s3_error("503 Slow Down", "SlowDown")));
    let deadline = Duration::from_millis(300);
    let start = Instant::now();
    let e = open(&through(&config(), &server), deadline).map(|_| ()).unwrap_err();
    // Within the deadline + 1 s (scheduling slack on a loaded machine), with the real cause.
    assert!(start.elapsed() < deadline + Duration::from_secs(1), "{:?}", start.elapsed());
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(server.requests() >= 1 && server.requests() < READ_ATTEMPTS as usize, "{}", server.requests());
}

#[test]
fn a_connection_refused_is_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c = config();
    c.endpoint = format!("http://127.0.0.1:{port}");
    let e = open(&c, Duration::from_secs(30)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(e.message().contains(&format!("after {READ_ATTEMPTS} attempts")), "{e}");
}

// ---- hostile tokens (issue 12 #7) ----

#[test]
fn a_token_with_a_line_break_is_corrupt_not_a_panic() {
    let mut c = config();
    c.region = "us-east-1\r\nX-Injected: 1".into();
    let e = open(&c, Duration::from_secs(5)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains("`region`"), "{e}");
    let mut c = config();
    c.access_key_id = "AKIA\nEVIL".into();
    assert_eq!(open(&c, Duration::from_secs(5)).map(|_| ()).unwrap_err().kind(), ErrorKind::BundleCorrupt);
}

#[test]
fn unusual_but_valid_tokens_never_panic() {
    // Values that pass the token checks reach the signer and the URL builder: each must end in
    // an error of the taxonomy, never a panic.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = format!("http://127.0.0.1:{port}");
    type Mutation = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("non-ASCII region", Box::new(|c| c.region = "régïon-東京".into())),
        ("non-ASCII key id", Box::new(|c| c.access_key_id = "ÄKÏД".into())),
        ("bucket dots", Box::new(|c| c.bucket = "..".into())),
        ("prefix traversal", Box::new(|c| c.prefix = "../../ %00 ?x=1#frag/".into())),
        ("no scheme", Box::new(|c| c.endpoint = "127.0.0.1:9".into())),
        ("ftp scheme", Box::new(|c| c.endpoint = "ftp://127.0.0.1:9".into())),
        ("bad port", Box::new(|c| c.endpoint = "http://127.0.0.1:99999".into())),
        ("not a URL", Box::new(|c| c.endpoint = "::::".into())),
        ("path endpoint", Box::new(|c| c.endpoint = "http://127.0.0.1:9/a/b?c=d".into())),
    ];
    for (what, mutate) in cases {
        let mut c = config();
        c.endpoint = refused.clone();
        mutate(&mut c);
        let r = std::panic::catch_unwind(|| open(&c, Duration::from_secs(10)).map(|_| ()));
        let e = r.unwrap_or_else(|_| panic!("{what}: open panicked")).unwrap_err();
        assert!(e.kind().is_taxonomy(), "{what}: {e}");
    }
}
