//! Cold `open()` against the local S3 server next to its two parts measured alone: the key
//! derivation and the fetch (manifest + bundle). open() overlaps them, so it should cost about
//! max(KDF, fetch), not their sum. Run under scripts/with-s3.sh (`./scripts/task bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vsync_core::envelope::derive_key;
use vsync_core::payload::VaultData;
use vsync_core::{open_with, s3, writer, Config, OpenOptions};

#[path = "../tests/common/mod.rs"]
mod common;

fn config() -> Config {
    common::test_config(format!("bench/{}/", std::process::id()), "bench")
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let mut data = VaultData::default();
    for i in 0..50 {
        data.kv.insert(format!("KEY_{i}"), format!("value-{i}-{}", "x".repeat(40)).into());
    }
    data.assets.insert("cert.pem".into(), vec![7u8; 4096].into());
    let pushed = writer::push(&cfg, "bench passphrase", &data, None, Duration::from_secs(30)).unwrap();
    let blob = cfg.encode();
    let mut g = c.benchmark_group("open");
    g.sample_size(20);
    g.bench_function("kdf_alone", |b| b.iter(|| derive_key("bench passphrase", &cfg.salt, cfg.iterations)));
    g.bench_function("fetch_alone", |b| {
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
    g.bench_function("open_cold", |b| b.iter(|| open_with(&blob, "bench passphrase", OpenOptions::default()).unwrap()));
    // A keyless token (SPEC §2) whose credentials come from the environment, the chain's first
    // source: what the chain adds to a cold open beside the static keys above.
    let mut keyless = cfg.clone();
    keyless.ambient_credentials = true;
    keyless.access_key_id.clear();
    keyless.secret_access_key = String::new().into();
    let keyless_blob = keyless.encode();
    std::env::set_var("AWS_ACCESS_KEY_ID", &cfg.access_key_id);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", cfg.secret_access_key.as_str());
    g.bench_function("open_cold_keyless_env", |b| {
        b.iter(|| open_with(&keyless_blob, "bench passphrase", OpenOptions::default()).unwrap())
    });
    let v = open_with(&blob, "bench passphrase", OpenOptions::default()).unwrap();
    g.bench_function("remote_generation", |b| b.iter(|| v.remote_generation().unwrap()));
    g.bench_function("get_env", |b| b.iter(|| v.get_env("KEY_25", &mut |_| None).unwrap()));
    let map: std::collections::HashMap<String, String> =
        (0..50).map(|i| (format!("KEY_{i}"), format!("v{i}"))).collect();
    g.bench_function("hashmap_get_baseline", |b| b.iter(|| map.get("KEY_25").cloned()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
