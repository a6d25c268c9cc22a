//! The fault-injection suite, core side (`./scripts/task test:faults`; docs/faults.md). Each
//! case puts scripts/faults/faultproxy.py between the core and the real S3 server that
//! scripts/with-s3.sh started, injects one fault, and asserts three things: the error class,
//! an elapsed-time bound (stated as what it protects), and how many requests the failure cost.
//!
//! Cases that need process-wide settings (a trust store, a resolver) run their body in a child
//! process of this test binary (`in_child`), so they never leak into the other cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
#[path = "common/faultproxy.rs"]
mod faultproxy;

use common::test_config;
use faultproxy::{certs, repo_root, rule, FaultProxy};
use vsync_core::payload::VaultData;
use vsync_core::writer::{self, PushError, WriteOptions};
use vsync_core::{open_with, Config, Error, ErrorKind, OpenOptions, Vault};

const PASS: &str = "fault-suite passphrase";
/// The deadline every open in this suite runs under.
const DEADLINE: Duration = Duration::from_secs(2);
/// Scheduling slack on a loaded 2-core machine. What the bounds catch costs far more: a retry
/// started after the deadline, a resolver thread joined on drop (10-20 s), a body read without
/// a bound, a redirect followed.
const SLACK: Duration = Duration::from_secs(2);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn fresh_config() -> Config {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let mut c = test_config(format!("faults/{}-{n}/", std::process::id()), "prod");
    // The key derivation is not what these cases measure.
    c.iterations = 1_000;
    c
}

fn data(value: &str) -> VaultData {
    let mut d = VaultData::default();
    d.kv.insert("K".into(), value.to_string().into());
    d.assets.insert("blob.bin".into(), vec![7u8; 4096].into());
    d
}

/// A vault pushed straight to the server, and a proxy with `rules` in front of it.
struct Case {
    direct: Config,
    proxied: Config,
    proxy: FaultProxy,
}

fn case(rules: Value) -> Case {
    let direct = fresh_config();
    writer::push(&direct, PASS, &data("v1"), None, Duration::from_secs(30)).unwrap();
    let proxy = FaultProxy::start(rules);
    let mut proxied = direct.clone();
    proxied.endpoint = proxy.endpoint();
    Case { direct, proxied, proxy }
}

fn open_timed(c: &Config) -> (Result<Vault, Error>, Duration) {
    let start = Instant::now();
    let r = open_with(&c.encode(), PASS, OpenOptions { timeout: DEADLINE, ..OpenOptions::default() });
    (r, start.elapsed())
}

/// Open through the proxy; require `kind` within the deadline + slack.
fn fails(c: &Case, kind: ErrorKind) -> Error {
    let (r, elapsed) = open_timed(&c.proxied);
    let e = r.map(|_| ()).expect_err("the open must fail");
    assert_eq!(e.kind(), kind, "{e}");
    assert!(elapsed < DEADLINE + SLACK, "the deadline bounds the failure: took {elapsed:?} ({e})");
    e
}

/// Open through the proxy; require the vault's value (the fault was absorbed by a retry).
fn succeeds(c: &Case) {
    let (r, elapsed) = open_timed(&c.proxied);
    let v = r.unwrap_or_else(|e| panic!("the open must survive one transient fault: {e}"));
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), "v1");
    assert!(elapsed < DEADLINE + SLACK, "took {elapsed:?}");
}

fn total(c: &Case) -> usize {
    c.proxy.seen().len()
}

const MANIFEST: &str = "/manifest$";
const BUNDLE: &str = "/v%3D[0-9-]+$";

// ---------------------------------------------------------------------------------------------
// Time: a server that does not answer, or answers slowly, costs the deadline and no more.

#[test]
fn hang_costs_the_deadline_and_no_more() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "hang"}))]));
    fails(&c, ErrorKind::S3Unreachable);
    assert!(c.proxy.count("GET", "/manifest") >= 1);
    assert_eq!(c.proxy.count("GET", "") - c.proxy.count("GET", "/manifest"), 0, "nothing after the manifest");
}

#[test]
fn slow_headers_cost_the_deadline_and_no_more() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "slow_headers", "seconds": 30}))]));
    fails(&c, ErrorKind::S3Unreachable);
    assert!(c.proxy.count("GET", "/manifest") >= 1);
}

#[test]
fn slow_body_costs_the_deadline_and_no_more() {
    let c = case(json!([rule("GET", BUNDLE, json!({"kind": "slow_body", "chunk": 64, "interval": 1}))]));
    fails(&c, ErrorKind::S3Unreachable);
    assert_eq!(c.proxy.count("GET", "/manifest"), 1);
    assert!(c.proxy.count("GET", "") >= 2, "the bundle GET was made");
}

// ---------------------------------------------------------------------------------------------
// Transient failures are retried within the deadline; one of them is absorbed.

#[test]
fn reset_before_any_answer_is_retried_then_unreachable() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "reset_before"}))]));
    fails(&c, ErrorKind::S3Unreachable);
    assert!(c.proxy.count("GET", "/manifest") >= 2, "a reset is transient: retried");
}

#[test]
fn one_reset_is_absorbed_by_a_retry() {
    let c = case(json!([{"method": "GET", "path": MANIFEST, "times": 1, "action": {"kind": "reset_before"}}]));
    succeeds(&c);
    assert_eq!(c.proxy.count("GET", "/manifest"), 2);
}

#[test]
fn reset_mid_body_is_retried_then_unreachable() {
    let c = case(json!([rule("GET", BUNDLE, json!({"kind": "reset_mid_body"}))]));
    fails(&c, ErrorKind::S3Unreachable);
    assert!(c.proxy.count("GET", "") - c.proxy.count("GET", "/manifest") >= 2, "{:?}", c.proxy.seen());
}

#[test]
fn truncated_body_is_retried_then_unreachable() {
    let c = case(json!([rule("GET", BUNDLE, json!({"kind": "truncate"}))]));
    fails(&c, ErrorKind::S3Unreachable);
    assert!(c.proxy.count("GET", "") - c.proxy.count("GET", "/manifest") >= 2, "{:?}", c.proxy.seen());
}

#[test]
fn one_truncated_body_is_absorbed_by_a_retry() {
    let c = case(json!([{"method": "GET", "path": BUNDLE, "times": 1, "action": {"kind": "truncate"}}]));
    succeeds(&c);
    assert_eq!(c.proxy.count("GET", "") - c.proxy.count("GET", "/manifest"), 2, "{:?}", c.proxy.seen());
}

#[test]
fn internal_error_500_is_retried_then_unreachable() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "status", "status": 500}))]));
    let e = fails(&c, ErrorKind::S3Unreachable);
    assert!(e.message().contains("500"), "{e}");
    assert!(c.proxy.count("GET", "/manifest") >= 2, "a 500 is transient: retried");
}

#[test]
fn slow_down_503_is_retried_then_unreachable() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "status", "status": 503, "code": "SlowDown"}))]));
    let e = fails(&c, ErrorKind::S3Unreachable);
    assert!(e.message().contains("503"), "{e}");
    assert!(c.proxy.count("GET", "/manifest") >= 2, "SlowDown is transient: retried");
}

#[test]
fn one_slow_down_503_is_absorbed_by_a_retry() {
    let c = case(json!([{"method": "GET", "path": MANIFEST, "times": 1,
                         "action": {"kind": "status", "status": 503, "code": "SlowDown"}}]));
    succeeds(&c);
    assert_eq!(c.proxy.count("GET", "/manifest"), 2);
}

// ---------------------------------------------------------------------------------------------
// Definitive answers are not retried: one request, the right class, a message that helps.

#[test]
fn forbidden_403_is_one_request_with_a_credentials_hint() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "status", "status": 403, "code": "AccessDenied"}))]));
    let e = fails(&c, ErrorKind::S3Unreachable);
    assert!(e.message().contains("403") && e.message().contains("credentials"), "{e}");
    assert_eq!(total(&c), 1, "{:?}", c.proxy.seen());
}

#[test]
fn no_such_bucket_is_one_request_naming_the_bucket() {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "status", "status": 404, "code": "NoSuchBucket"}))]));
    let e = fails(&c, ErrorKind::S3Unreachable);
    assert!(e.message().contains(&c.direct.bucket), "{e}");
    assert_eq!(total(&c), 1, "{:?}", c.proxy.seen());
}

#[test]
fn redirect_is_not_followed() {
    // Following it would send the signed request to a host the config never named.
    let c = case(json!([rule(
        "GET",
        MANIFEST,
        json!({"kind": "redirect", "status": 301,
                                                        "location": "http://127.0.0.1:9/elsewhere"})
    )]));
    let e = fails(&c, ErrorKind::S3Unreachable);
    assert!(e.message().contains("301"), "{e}");
    assert_eq!(total(&c), 1, "{:?}", c.proxy.seen());
}

// ---------------------------------------------------------------------------------------------
// Huge bodies: refused by size, not read into memory (checked in a child: its peak RSS).

/// A manifest needs bytes; one of 1 GiB is damaged or hostile. The child's peak RSS proves it
/// was not buffered (the finding: 2.1 GB of RSS before the error).
const RSS_BOUND_KIB: u64 = 256 * 1024;

fn huge_manifest(chunked: bool) {
    let c = case(json!([rule("GET", MANIFEST, json!({"kind": "huge_body", "bytes": 1u64 << 30, "chunked": chunked}))]));
    let e = fails(&c, ErrorKind::BundleCorrupt);
    assert_eq!(c.proxy.count("GET", "/manifest"), 1, "an oversized object is not retried ({e})");
    let hwm = peak_rss_kib();
    assert!(hwm < RSS_BOUND_KIB, "peak RSS {hwm} KiB: the body was buffered");
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn huge_manifest_with_a_length_is_refused_unread() {
    in_child("huge_manifest_with_a_length_is_refused_unread", &[], &[], || huge_manifest(false));
}

#[test]
fn huge_manifest_without_a_length_is_cut_off() {
    in_child("huge_manifest_without_a_length_is_cut_off", &[], &[], || huge_manifest(true));
}

// ---------------------------------------------------------------------------------------------
// DNS that never answers (a mount + network namespace whose resolver swallows queries).

#[test]
fn dns_that_never_answers_costs_the_deadline_and_no_more() {
    let script = repo_root().join("scripts/faults/no-dns.sh").to_string_lossy().into_owned();
    let wrapper = unshare_wrapper(&script);
    in_child("dns_that_never_answers_costs_the_deadline_and_no_more", &[], &wrapper, || {
        let mut c = fresh_config();
        c.endpoint = "http://s3.vsync-fault-dns.test:9000".into();
        let (r, elapsed) = open_timed(&c);
        let e = r.map(|_| ()).expect_err("no name resolves in here");
        assert_eq!(e.kind(), ErrorKind::S3Unreachable, "{e}");
        // The resolver's own timeouts are 5 s per try: only a call that stops waiting for it
        // (instead of joining its thread) meets this bound.
        assert!(elapsed < DEADLINE + SLACK, "DNS is inside the deadline: took {elapsed:?} ({e})");
    });
}

/// `unshare -m -n` as root; else a user namespace (`-r`) where the kernel allows one. Neither:
/// the case fails with that reason (it is never skipped).
fn unshare_wrapper(script: &str) -> Vec<String> {
    for flags in [&["-m", "-n"][..], &["-r", "-m", "-n"][..]] {
        let ok = Command::new("unshare").args(flags).args(["--", "true"]).status().is_ok_and(|s| s.success());
        if ok {
            return ["unshare"].iter().chain(flags).chain(&["--", script]).map(|s| s.to_string()).collect();
        }
    }
    panic!(
        "the DNS case needs `unshare -m -n` (root) or `unshare -r -m -n` (unprivileged user namespaces); \
         this machine allows neither"
    )
}

// ---------------------------------------------------------------------------------------------
// TLS: bad certificates fail at once and are not retried; a custom CA works when configured.

fn tls_case(cert: &str) -> Case {
    let dir = certs();
    let direct = fresh_config();
    writer::push(&direct, PASS, &data("v1"), None, Duration::from_secs(30)).unwrap();
    let proxy = FaultProxy::start_tls(json!([]), &dir.join(format!("{cert}.pem")), &dir.join(format!("{cert}.key")));
    let mut proxied = direct.clone();
    proxied.endpoint = proxy.endpoint();
    Case { direct, proxied, proxy }
}

fn tls_refused(cert: &str) {
    let c = tls_case(cert);
    fails(&c, ErrorKind::S3Unreachable);
    assert_eq!(c.proxy.connections(), 1, "a certificate failure is not transient: no retry");
    assert_eq!(total(&c), 0, "no request was sent over an untrusted connection");
}

#[test]
fn tls_self_signed_is_refused_once() {
    tls_refused("self-signed");
}

#[test]
fn tls_expired_is_refused_once() {
    // The CA is trusted, so the expiry is the only problem.
    let ca = certs().join("ca.pem").to_string_lossy().into_owned();
    in_child("tls_expired_is_refused_once", &[("SSL_CERT_FILE", ca)], &[], || tls_refused("expired"));
}

#[test]
fn tls_wrong_name_is_refused_once() {
    let ca = certs().join("ca.pem").to_string_lossy().into_owned();
    in_child("tls_wrong_name_is_refused_once", &[("SSL_CERT_FILE", ca)], &[], || tls_refused("wrong-name"));
}

fn tls_works() {
    let c = tls_case("good");
    succeeds(&c);
    assert_eq!(c.proxy.count("GET", "/manifest"), 1);
}

#[test]
fn tls_custom_ca_from_ssl_cert_file_works() {
    let ca = certs().join("ca.pem").to_string_lossy().into_owned();
    in_child("tls_custom_ca_from_ssl_cert_file_works", &[("SSL_CERT_FILE", ca)], &[], tls_works);
}

#[test]
fn tls_custom_ca_from_aws_ca_bundle_works() {
    let ca = certs().join("ca.pem").to_string_lossy().into_owned();
    in_child("tls_custom_ca_from_aws_ca_bundle_works", &[("AWS_CA_BUNDLE", ca)], &[], tls_works);
}

// ---------------------------------------------------------------------------------------------
// The writer against faults (the CLI's messages are covered by cli/tests/faults.rs).

#[test]
fn a_store_that_ignores_conditional_writes_is_refused() {
    let c = case(json!([rule("PUT", ".*", json!({"kind": "ignore_preconditions"}))]));
    match writer::push(&c.proxied, PASS, &data("v2"), Some(1), Duration::from_secs(30)) {
        Err(PushError::NoConditionalWrites { detail }) => assert!(detail.contains("If-None-Match"), "{detail}"),
        other => panic!("expected NoConditionalWrites, got {other:?}"),
    }
    assert_eq!(c.proxy.count("PUT", "/manifest"), 0, "nothing but the probe was written");
    assert_eq!(c.proxy.seen().iter().filter(|r| r.path.contains("v%3D")).count(), 0);
    // With --single-writer the operator takes the race on; the push then works.
    let opts = WriteOptions { single_writer: true, ..WriteOptions::new(Duration::from_secs(30)) };
    let pushed = writer::push_with(&c.proxied, PASS, &data("v2"), &opts).unwrap();
    assert_eq!(pushed.gen, 2);
}

#[test]
fn a_lost_manifest_reply_is_read_back() {
    let c = case(json!([rule("PUT", MANIFEST, json!({"kind": "withhold_reply"}))]));
    let pushed = writer::push(&c.proxied, PASS, &data("v2"), Some(1), Duration::from_secs(30)).unwrap();
    assert_eq!(pushed.gen, 2);
    assert!(pushed.notes.iter().any(|n| n.contains("reading it back shows it landed")), "{:?}", pushed.notes);
    let v = open_with(&c.direct.encode(), PASS, OpenOptions::default()).unwrap();
    assert_eq!(
        (v.generation().unwrap(), v.get_env("K", &mut |_| None).unwrap().unwrap().to_string()),
        (2, "v2".into())
    );
}

#[test]
fn a_lost_manifest_reply_then_silence_is_unconfirmed_within_two_deadlines() {
    // The manifest PUT lands, its reply is lost, and from then on the store hangs: neither the
    // reply nor a read-back can tell; the push says so, bounded by two deadlines.
    let c = case(json!([rule("PUT", MANIFEST, json!({"kind": "withhold_reply", "then": {"kind": "hang"}}))]));
    let opts = WriteOptions { expect_gen: Some(1), ..WriteOptions::new(DEADLINE) };
    let start = Instant::now();
    match writer::push_with(&c.proxied, PASS, &data("v2"), &opts) {
        Err(PushError::Unconfirmed { gen: 2, ts, .. }) => {
            let elapsed = start.elapsed();
            // The write's deadline, then the read-back's.
            assert!(elapsed < 2 * DEADLINE + SLACK, "took {elapsed:?}");
            let state = vsync_core::s3::run(&c.direct, Duration::from_secs(30), |store| async move {
                writer::remote_state(&store).await
            })
            .unwrap();
            assert_eq!((state.gen, state.ts), (2, Some(ts)), "it did land: `vsync status` shows it");
        }
        other => panic!("expected Unconfirmed, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Fleet boot: 200 opens at once, then again with 20% of GETs answered 503 SlowDown.

const FLEET: usize = 200;
/// The fleet's deadline: the library default is 30 s; 10 s is what a container start budget
/// typically allows, and every open must make it.
const FLEET_DEADLINE: Duration = Duration::from_secs(10);

/// 200 opens started together (one thread each, as 200 processes booting would), through the
/// proxy so every request is counted. Returns the sorted latencies and the failures.
fn fleet_boot(proxied: &Config) -> (Vec<Duration>, Vec<String>) {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(FLEET));
    let threads: Vec<_> = (0..FLEET)
        .map(|_| {
            let (blob, barrier) = (proxied.encode(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let r = open_with(&blob, PASS, OpenOptions { timeout: FLEET_DEADLINE, ..OpenOptions::default() });
                (start.elapsed(), r.map(|v| v.generation().unwrap_or(0)).map_err(|e| e.to_string()))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for t in threads {
        let (elapsed, r) = t.join().unwrap();
        latencies.push(elapsed);
        if let Err(e) = r {
            failures.push(e);
        }
    }
    latencies.sort();
    (latencies, failures)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[test]
fn fleet_boot_200_opens_then_with_20_percent_slow_down() {
    let c = case(json!([]));
    for (label, rules) in [
        ("no faults", json!([])),
        (
            "20% of GETs answered 503 SlowDown",
            json!([{"method": "GET", "probability": 0.2, "action": {"kind": "status", "status": 503, "code": "SlowDown"}}]),
        ),
    ] {
        c.proxy.set_rules(rules);
        c.proxy.reset();
        let start = Instant::now();
        let (latencies, failures) = fleet_boot(&c.proxied);
        let wall = start.elapsed();
        let seen = c.proxy.seen();
        let slowed = seen.iter().filter(|r| r.action == "status").count();
        let ms = |d: Duration| d.as_millis();
        println!(
            "fleet boot ({label}): {FLEET} opens in {} ms; p50 {} ms, p99 {} ms, max {} ms; {} GETs \
             ({slowed} answered 503), {} failed",
            ms(wall),
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies[latencies.len() - 1]),
            seen.len(),
            failures.len()
        );
        assert!(
            failures.is_empty(),
            "{label}: every open succeeds: {} failed, e.g. {:?}",
            failures.len(),
            failures.first()
        );
        assert!(latencies[latencies.len() - 1] < FLEET_DEADLINE + SLACK, "{label}: every open within the deadline");
        // Two GETs per open (manifest, bundle), plus one per 503 retried.
        assert_eq!(seen.len(), 2 * FLEET + slowed, "{label}: requests beyond the retries of 503s");
    }
}

// ---------------------------------------------------------------------------------------------

/// Run `body` in a fresh process of this test binary, filtered to `name`, with `env` set and
/// `wrapper` (a command prefix such as `unshare ...`) in front. In the child, run `body`.
fn in_child(name: &str, env: &[(&str, String)], wrapper: &[String], body: impl FnOnce()) {
    if std::env::var("VSYNC_FAULT_CHILD").as_deref() == Ok(name) {
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut argv: Vec<String> = wrapper.to_vec();
    argv.push(exe.to_string_lossy().into_owned());
    argv.extend(["--exact", name, "--test-threads", "1", "--nocapture"].map(String::from));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).env("VSYNC_FAULT_CHILD", name).env_remove("SSL_CERT_FILE").env_remove("AWS_CA_BUNDLE");
    cmd.env("VSYNC_FAULT_CERTS", certs());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the child case failed ({:?}):\n{text}", out.status);
    assert!(text.contains("1 passed"), "the child did not run the case:\n{text}");
}
