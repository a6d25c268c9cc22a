//! Cold `open()` at several network round-trip times, next to its two parts measured alone:
//! the key derivation (which needs no network) and the fetch (GET manifest, then GET bundle, on
//! a fresh client, as open() does). open() runs them concurrently, so it should cost about
//! max(KDF, fetch), not their sum.
//!
//! Run by scripts/bench-latency.sh (`./scripts/task bench:latency`), which puts toxiproxy with
//! latency toxics in front of the local S3 server and passes the endpoints in
//! `VSYNC_BENCH_RTT_ENDPOINTS` (`<rtt_ms>=<url>,...`); `VSYNC_BENCH_ROUNDS` sets the rounds.
//!
//! Not criterion: on a shared machine the CPU available to the KDF drifts over minutes, and
//! criterion measures one function for seconds before moving to the next, so "KDF alone" and
//! "open" would be measured under different loads. Here every round measures KDF, fetch and
//! open back to back for each RTT, and the table reports medians over rounds plus the medians of
//! the per-round ratios open / max(KDF, fetch) and open / (KDF + fetch), whose terms were measured
//! within a second of each other. Concurrent parts give open/max ≈ 1; parts run one after the
//! other give open/sum ≈ 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use vsync_core::envelope::derive_key;
use vsync_core::payload::VaultData;
use vsync_core::{open_with, s3, writer, OpenOptions};

#[path = "../tests/common/mod.rs"]
mod common;

const PASSPHRASE: &str = "bench passphrase";

/// `(label, endpoint)` pairs: the direct server first, then each proxy.
fn endpoints() -> Vec<(String, String)> {
    let spec = std::env::var("VSYNC_BENCH_RTT_ENDPOINTS")
        .unwrap_or_else(|_| panic!("VSYNC_BENCH_RTT_ENDPOINTS is not set: run scripts/bench-latency.sh"));
    let mut out = vec![("direct".to_string(), common::var("VSYNC_TEST_ENDPOINT"))];
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (rtt, url) = pair.split_once('=').unwrap_or_else(|| panic!("bad VSYNC_BENCH_RTT_ENDPOINTS entry {pair:?}"));
        out.push((format!("{rtt} ms"), url.to_string()));
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time<T>(f: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    black_box(f());
    ms(start.elapsed())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

#[derive(Default)]
struct Samples {
    kdf: Vec<f64>,
    kdf_thread: Vec<f64>,
    fetch: Vec<f64>,
    open: Vec<f64>,
    /// Per round: open / max(KDF, fetch) (1 when the two run concurrently and the longer hides
    /// the shorter) and open / (KDF + fetch) (1 when they run one after the other).
    ratio_max: Vec<f64>,
    ratio_sum: Vec<f64>,
}

fn main() {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let rounds: usize = std::env::var("VSYNC_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);

    // The same vault as benches/open.rs: 50 keys and a 4 KiB asset.
    let base = common::test_config(format!("bench-latency/{}/", std::process::id()), "bench");
    let mut data = VaultData::default();
    for i in 0..50 {
        data.kv.insert(format!("KEY_{i}"), format!("value-{i}-{}", "x".repeat(40)).into());
    }
    data.assets.insert("cert.pem".into(), vec![7u8; 4096].into());
    let pushed = writer::push(&base, PASSPHRASE, &data, None, Duration::from_secs(30)).unwrap();

    let targets: Vec<_> = endpoints()
        .into_iter()
        .map(|(label, endpoint)| {
            let mut cfg = base.clone();
            cfg.endpoint = endpoint;
            let blob = cfg.encode();
            // Through every endpoint the vault opens and holds what was pushed.
            let v = open_with(&blob, PASSPHRASE, OpenOptions::default()).unwrap();
            assert_eq!(v.keys().unwrap().len(), 50);
            (label, cfg, blob)
        })
        .collect();
    let mut samples: Vec<Samples> = targets.iter().map(|_| Samples::default()).collect();

    // Round 0 warms up (page cache, the server's first reads) and is not recorded.
    for round in 0..=rounds {
        for ((_, cfg, blob), s) in targets.iter().zip(samples.iter_mut()) {
            let kdf = time(|| derive_key(PASSPHRASE, &cfg.salt, cfg.iterations));
            // The KDF as open() runs it: on a freshly spawned thread, joined. Under CPU contention
            // the scheduler treats a new thread differently from a long-lived one, so this is
            // the fair baseline for open; both are reported.
            let kdf_thread = time(|| {
                std::thread::scope(|scope| scope.spawn(|| derive_key(PASSPHRASE, &cfg.salt, cfg.iterations)).join())
                    .unwrap()
            });
            let fetch = time(|| {
                s3::run(cfg, Duration::from_secs(30), |store| {
                    let ts = pushed.ts.clone();
                    async move {
                        store.get("manifest").await?;
                        store.get(&format!("v={ts}")).await
                    }
                })
                .unwrap()
            });
            let open = time(|| open_with(blob, PASSPHRASE, OpenOptions::default()).unwrap());
            if round > 0 {
                s.kdf.push(kdf);
                s.kdf_thread.push(kdf_thread);
                s.fetch.push(fetch);
                s.open.push(open);
                // The same baseline per round as in the table below.
                let kdf_best = kdf.min(kdf_thread);
                s.ratio_max.push(open / kdf_best.max(fetch));
                s.ratio_sum.push(open / (kdf_best + fetch));
            }
        }
    }

    println!(
        "cold open() vs its parts, medians of {rounds} interleaved rounds (ms); ratios: medians of per-round ratios"
    );
    println!(
        "{:>8} {:>8} {:>8} {:>10} {:>8} {:>14} {:>11} {:>8} {:>8}",
        "RTT", "open", "KDF", "KDF thread", "fetch", "max(KDF,fetch)", "KDF + fetch", "open/max", "open/sum"
    );
    for ((label, _, _), s) in targets.iter().zip(&samples) {
        let (o, f) = (median(&s.open), median(&s.fetch));
        let (k, kt) = (median(&s.kdf), median(&s.kdf_thread));
        // The KDF baseline is the faster of its two measurements: with a core to spare, open's own
        // KDF cannot beat it (on a loaded machine it sometimes does, by getting more CPU).
        let kb = k.min(kt);
        println!(
            "{label:>8} {o:8.1} {k:8.1} {kt:10.1} {f:8.1} {:14.1} {:11.1} {:8.2} {:8.2}",
            kb.max(f),
            kb + f,
            median(&s.ratio_max),
            median(&s.ratio_sum)
        );
    }
    println!("KDF: on the bench's main thread; KDF thread: on a new thread, joined, as open() runs it.");
    println!("'direct' skips toxiproxy; '0 ms' goes through it without toxics. toxiproxy accepts the TCP");
    println!("connection itself, so the handshake to the proxy costs no RTT: a real network adds one RTT");
    println!("for TCP (and one or two for TLS) to the fetch and to open.");
}
