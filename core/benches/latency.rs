//! Cold `open()` at several network round-trip times, next to its two parts measured alone:
//! the key derivation (which needs no network) and the fetch (GET manifest, then GET bundle, on a
//! fresh client as open() does). open() runs them concurrently, so it should cost about
//! max(KDF, fetch), not their sum. Run by scripts/bench-latency.sh (`./scripts/task bench:latency`),
//! which puts toxiproxy with latency toxics in front of the local S3 server and passes the
//! endpoints in `VSYNC_BENCH_RTT_ENDPOINTS` (`<rtt_ms>=<url>,...`). The script prints the table
//! (medians and ratios) from criterion's estimates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vsync_core::envelope::derive_key;
use vsync_core::payload::VaultData;
use vsync_core::{open_with, s3, writer, OpenOptions};

#[path = "../tests/common/mod.rs"]
mod common;

const PASSPHRASE: &str = "bench passphrase";

/// `(rtt label, endpoint)` pairs: the direct server first, then each proxy.
fn endpoints() -> Vec<(String, String)> {
    let spec = std::env::var("VSYNC_BENCH_RTT_ENDPOINTS")
        .unwrap_or_else(|_| panic!("VSYNC_BENCH_RTT_ENDPOINTS is not set: run scripts/bench-latency.sh"));
    let mut out = vec![("direct".to_string(), common::var("VSYNC_TEST_ENDPOINT"))];
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (rtt, url) = pair.split_once('=').unwrap_or_else(|| panic!("bad VSYNC_BENCH_RTT_ENDPOINTS entry {pair:?}"));
        out.push((format!("rtt{rtt}ms"), url.to_string()));
    }
    out
}

fn bench(c: &mut Criterion) {
    // The same vault as benches/open.rs: 50 keys and a 4 KiB asset.
    let base = common::test_config(format!("bench-latency/{}/", std::process::id()), "bench");
    let mut data = VaultData::default();
    for i in 0..50 {
        data.kv.insert(format!("KEY_{i}"), format!("value-{i}-{}", "x".repeat(40)).into());
    }
    data.assets.insert("cert.pem".into(), vec![7u8; 4096].into());
    let pushed = writer::push(&base, PASSPHRASE, &data, None, Duration::from_secs(30)).unwrap();

    let mut g = c.benchmark_group("latency");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(6));
    g.bench_function("kdf_alone", |b| b.iter(|| derive_key(PASSPHRASE, &base.salt, base.iterations)));
    for (label, endpoint) in endpoints() {
        let mut cfg = base.clone();
        cfg.endpoint = endpoint;
        let blob = cfg.encode();
        // Sanity: through this endpoint the vault opens and holds what was pushed.
        let v = open_with(&blob, PASSPHRASE, OpenOptions::default()).unwrap();
        assert_eq!(v.keys().unwrap().len(), 50);
        g.bench_function(format!("fetch_{label}"), |b| {
            b.iter(|| {
                s3::run(&cfg, Duration::from_secs(30), |store| {
                    let ts = pushed.ts.clone();
                    async move {
                        store.get("manifest").await?;
                        store.get(&format!("v={ts}")).await
                    }
                })
                .unwrap()
            })
        });
        g.bench_function(format!("open_{label}"), |b| {
            b.iter(|| open_with(&blob, PASSPHRASE, OpenOptions::default()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
