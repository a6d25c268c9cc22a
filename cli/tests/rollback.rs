//! Issue 23 finding 3: whoever can write the bucket (no passphrase) must not roll readers back,
//! and retention (`push --keep`, `prune`) must never take a bundle from under a reader.
//!
//! The attacker is a plain S3 client: `curl --aws-sigv4` with the bucket's credentials, no
//! passphrase, no vsync code. Against the dev server that `scripts/with-s3.sh` starts
//! (VSYNC_TEST_*), and for retention also against moto (`$VSYNC_MOTO_SERVER`, else
//! `moto_server` on PATH, started by core/tests/common/moto.rs; the test scripts install it into .venv). Without those, the tests fail: nothing is skipped.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use common::{dev_server, run, text, unique_prefix, write_private, Scratch, S3};
use vsync_core::envelope::{derive_key, open_envelope, unseal_manifest};
use vsync_core::payload::decode_payload;
use vsync_core::{open_with, Config, ErrorKind, OpenOptions};

mod common;
#[path = "../../core/tests/common/moto.rs"]
mod moto;
use moto::Moto;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "correct horse battery staple";
const OLD_KEY: &str = "old-revoked-key-0f3a";
const NEW_KEY: &str = "new-key-77c1";

/// A plain S3 request signed with SigV4 by curl: the attacker's (or an auditor's) client, with
/// the bucket's credentials and nothing else. `key` is the full object key ("" = the bucket).
fn raw(s3: &S3, method: &str, key: &str, body: Option<&Path>, headers: &[&str]) -> std::io::Result<Output> {
    let mut c = std::process::Command::new("curl");
    c.args(["-sS", "--fail-with-body", "-X", method, "--aws-sigv4", "aws:amz:us-east-1:s3"]);
    // The credentials go through a curl config file on standard input, not argv.
    c.args(["-K", "-"]);
    // SigV4 for S3 names the payload's hash in a header (the dev server requires it).
    c.args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]);
    for h in headers {
        c.args(["-H", h]);
    }
    if let Some(p) = body {
        c.arg("--data-binary").arg(format!("@{}", p.display()));
    }
    c.arg(format!("{}/{}/{}", s3.endpoint, s3.bucket, key));
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        writeln!(stdin, "user = \"{}:{}\"", s3.access_key, s3.secret_key)?;
    }
    child.wait_with_output()
}

/// A scratch vault under a fresh prefix of `s3`.
impl Scratch {
    fn new(s3: &S3, tag: &str) -> Result<Scratch, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let prefix = unique_prefix("rollback", tag);
        let config = Config {
            endpoint: s3.endpoint.clone(),
            region: "us-east-1".into(),
            bucket: s3.bucket.clone(),
            access_key_id: s3.access_key.clone(),
            secret_access_key: zeroize::Zeroizing::new(s3.secret_key.clone()),
            ambient_credentials: false,
            prefix: prefix.clone(),
            env: "prod".into(),
            salt: "c2FsdHktc2FsdC1zYWx0IQ==".into(),
            iterations: 600_000,
        };
        let token = config.encode();
        write_private(&dir.path().join("token"), format!("{token}\n").as_bytes())?;
        write_private(&dir.path().join("pw"), PASS.as_bytes())?;
        Ok(Scratch { dir, s3: s3.clone(), prefix, token })
    }
    /// `vsync <sub>` with an empty environment but the token and passphrase files.
    fn vsync(&self, sub: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vsync"));
        c.env_clear().timeout(Duration::from_secs(120));
        c.arg(sub);
        if sub == "run" {
            c.env("VSYNC_CONFIG_FILE", self.p("token")).env("VSYNC_PASSPHRASE_FILE", self.p("pw"));
        } else {
            c.args(["--config-file", &self.p("token")]);
            if sub != "prune" {
                c.args(["--passphrase-file", &self.p("pw")]);
            }
        }
        c
    }
    /// Push `API_KEY=value`; returns the timestamp printed (`pushed gen=N ts=TS`).
    fn push(&self, value: &str, extra: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
        std::fs::write(self.path(".env"), format!("API_KEY={value}\n"))?;
        let mut c = self.vsync("push");
        c.args(["--env-file", &self.p(".env")]).args(extra);
        let (out, _) = run(&mut c, 0)?;
        let ts = out.trim().rsplit("ts=").next().unwrap_or_default().to_string();
        assert_eq!(ts.len(), 15, "{out}");
        Ok(ts)
    }
    fn open(&self, min_generation: Option<u64>) -> Result<vsync_core::Vault, vsync_core::Error> {
        open_with(&self.token, PASS, OpenOptions { min_generation, ..OpenOptions::default() })
    }
    /// PUT `<prefix><name>` with a plain S3 client: no passphrase, no vsync code.
    fn raw_put(&self, name: &str, body: &[u8], gen: Option<u64>) -> TestResult {
        let file = self.path("raw-body");
        std::fs::write(&file, body)?;
        let meta = gen.map(|g| format!("x-amz-meta-gen: {g}"));
        let headers: Vec<&str> = meta.iter().map(String::as_str).collect();
        let out = raw(&self.s3, "PUT", &format!("{}{name}", self.prefix), Some(&file), &headers)?;
        if !out.status.success() {
            return Err(format!("raw PUT {name}: {} {}", text(&out.stdout), text(&out.stderr)).into());
        }
        Ok(())
    }
    fn raw_get(&self, name: &str) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error>> {
        let out = raw(&self.s3, "GET", &format!("{}{name}", self.prefix), None, &[])?;
        Ok(out.status.success().then_some(out.stdout))
    }
    /// The bundle timestamps under the prefix, oldest first.
    fn bundles(&self) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let config = Config::decode(&self.token)?;
        let mut names =
            vsync_core::s3::run(&config, Duration::from_secs(30), |store| async move { store.list_names("v=").await })?;
        names.sort();
        Ok(names.into_iter().filter_map(|n| n.strip_prefix("v=").map(str::to_string)).collect())
    }
}

fn api_key(v: &vsync_core::Vault) -> Option<String> {
    v.get_env("API_KEY", &mut |_| None).ok().flatten().map(|z| z.to_string())
}

/// `vsync run -- sh -c 'printf %s "$API_KEY"'` with `extra` flags and environment.
fn run_child(s: &Scratch, flags: &[&str], env: &[(&str, &str)], code: i32) -> Result<(String, String), String> {
    let mut c = s.vsync("run");
    c.args(flags).args(["--", "sh", "-c", "printf %s \"$API_KEY\""]);
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c, code)
}

/// The reproduction: push the old key, push the new one, rewrite the manifest to
/// `RQEM0001<old ts>{"gen":99}` with a plain S3 client. Readers got `gen=99` and the old key
/// (and `vsync run` handed it to the command); now they refuse: the bundle seals generation 1.
#[test]
fn a_rewritten_manifest_does_not_roll_readers_back() -> TestResult {
    let s = Scratch::new(&dev_server()?, "rewrite")?;
    let old_ts = s.push(OLD_KEY, &[])?;
    s.push(NEW_KEY, &[])?;
    let v = s.open(None)?;
    assert_eq!((v.generation()?, api_key(&v)), (2, Some(NEW_KEY.to_string())));

    let forged = format!("RQEM0001{old_ts}{{\"gen\":99}}");
    for gen_metadata in [Some(99), None] {
        s.raw_put("manifest", forged.as_bytes(), gen_metadata)?;
        let e = s.open(None).map(|v| (v.generation().ok(), api_key(&v))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BundleCorrupt, "{e}");
        assert!(e.message().contains("sealed at generation 1") && e.message().contains("99"), "{e}");
        assert!(!e.message().contains(OLD_KEY));
        let (out, err) = run(s.vsync("get").arg("API_KEY"), 16)?;
        assert!(!out.contains(OLD_KEY) && !err.contains(OLD_KEY), "{out}{err}");
        let (out, err) = run_child(&s, &[], &[], 16)?;
        assert!(!out.contains(OLD_KEY) && !err.contains(OLD_KEY), "the command was started: {out}{err}");
        assert!(err.contains("BundleCorruptError"), "{err}");
    }
    // Only the metadata rewritten, the manifest's bytes untouched: refused too.
    let current = s.raw_get("manifest")?.ok_or("no manifest")?;
    let (ts, _) = unseal_manifest(&current, None)?;
    assert_eq!(ts, old_ts, "the forged manifest is still there");
    Ok(())
}

/// What the seal cannot stop, and the floor does: replaying an old manifest+bundle pair whose
/// sealed generation is old (here, the gen 1 manifest put back byte for byte).
#[test]
fn a_replayed_old_pair_is_stopped_by_the_floor() -> TestResult {
    let s = Scratch::new(&dev_server()?, "replay")?;
    s.push(OLD_KEY, &[])?;
    let gen1_manifest = s.raw_get("manifest")?.ok_or("no manifest after the first push")?;
    s.push(NEW_KEY, &[])?;
    // The floor at the current generation: honest readers open.
    assert_eq!(api_key(&s.open(Some(2))?), Some(NEW_KEY.to_string()));
    let (out, _) = run_child(&s, &["--min-generation", "2"], &[], 0)?;
    assert_eq!(out, NEW_KEY);

    s.raw_put("manifest", &gen1_manifest, Some(1))?;
    // Consistent (sealed 1, manifest 1): without a floor this opens the old vault, honestly
    // reporting generation 1. That is what SPEC §4 says is not prevented without a floor.
    let v = s.open(None)?;
    assert_eq!((v.generation()?, api_key(&v)), (1, Some(OLD_KEY.to_string())));
    // With a floor, every way of setting it refuses.
    let e = s.open(Some(2)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains("generation 1, below the minimum generation 2"), "{e}");
    for (flags, env) in [
        (&["--min-generation", "2"][..], &[][..]),
        (&[][..], &[("VSYNC_MIN_GENERATION", "2")][..]),
        // The larger of the two floors is in force: the flag cannot lower the operator's.
        (&["--min-generation", "1"][..], &[("VSYNC_MIN_GENERATION", "2")][..]),
    ] {
        let (out, err) = run_child(&s, flags, env, 16)?;
        assert!(!out.contains(OLD_KEY), "the command got the old key: {out}");
        assert!(err.contains("below the minimum generation 2"), "{err}");
        let mut get = s.vsync("get");
        get.arg("API_KEY");
        for (k, v) in env {
            get.env(k, v);
        }
        if flags.is_empty() {
            run(&mut get, 16)?;
        }
    }
    // A floor that cannot be parsed is refused before anything is read, never ignored.
    for bad in ["two", "-1", "1.5"] {
        let (out, err) = run_child(&s, &[], &[("VSYNC_MIN_GENERATION", bad)], 11)?;
        assert!(out.is_empty() && err.contains("VSYNC_MIN_GENERATION"), "{err}");
    }
    run(s.vsync("run").args(["--min-generation", "x", "--", "true"]), 2)?;
    Ok(())
}

/// Bundles that seal no generation (the family's tools, our writer before this change) keep
/// opening with the manifest's generation; under a floor they cannot be checked and are refused.
#[test]
fn unsealed_bundles_read_and_a_floor_refuses_them() -> TestResult {
    let s = Scratch::new(&dev_server()?, "unsealed")?;
    let config = Config::decode(&s.token)?;
    let key = derive_key(PASS, &config.salt, config.iterations);
    let ts = "20260101-000000";
    let mut data = vsync_core::payload::VaultData::default();
    data.kv.insert("API_KEY".into(), NEW_KEY.to_string().into());
    let bundle = vsync_core::envelope::seal_envelope(&key, &vsync_core::payload::encode_runtime_bundle(&data, ts));
    s.raw_put(&format!("v={ts}"), &bundle, None)?;
    s.raw_put("manifest", format!("RQEM0001{ts}{{\"gen\":7}}").as_bytes(), Some(7))?;
    let v = s.open(None)?;
    assert_eq!((v.generation()?, api_key(&v)), (7, Some(NEW_KEY.to_string())));
    assert_eq!(s.open(Some(0))?.generation()?, 7, "0 is no floor");
    let e = s.open(Some(1)).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains("no sealed generation"), "{e}");
    Ok(())
}

/// Retention on one store: the reader that read the previous manifest while `push --keep` ran
/// still opens its bundle; older ones go; in-flight and foreign objects stay.
fn retention(s3: &S3, single_writer: bool) -> TestResult {
    let s = Scratch::new(s3, "keep")?;
    let mode: &[&str] = if single_writer { &["--single-writer"] } else { &[] };
    let mut pushed = Vec::new();
    for i in 1..=3 {
        pushed.push(s.push(&format!("value-{i}"), mode)?);
    }
    assert_eq!(s.bundles()?, pushed, "nothing is deleted without --keep");
    // --keep 1 would delete the bundle a reader of the previous manifest is fetching.
    let (_, err) = run(s.vsync("push").args(["--env-file", &s.p(".env"), "--keep", "1"]), 2)?;
    assert!(err.contains(">= 2"), "{err}");

    // A reader reads the manifest (gen 3)...
    let manifest = s.raw_get("manifest")?.ok_or("no manifest")?;
    let (reader_ts, _) = unseal_manifest(&manifest, None)?;
    let reader_ts = reader_ts.to_string();
    assert_eq!(reader_ts, pushed[2]);
    // ...a push with --keep 2 runs to completion and prunes...
    let mut keep_args = vec!["--keep", "2"];
    keep_args.extend_from_slice(mode);
    let ts4 = s.push("value-4", &keep_args)?;
    // ...and the reader then fetches the bundle its manifest named: still there, and it opens.
    let bundle = s.raw_get(&format!("v={reader_ts}"))?.ok_or("the previous manifest's bundle was deleted")?;
    let config = Config::decode(&s.token)?;
    let plain = open_envelope(&derive_key(PASS, &config.salt, config.iterations), &bundle)?;
    let data = decode_payload(&plain, Some(&reader_ts), "prod")?;
    assert_eq!(data.kv.get("API_KEY").map(|v| v.to_string()), Some("value-3".to_string()));
    assert_eq!(s.bundles()?, vec![pushed[2].clone(), ts4.clone()]);
    assert_eq!(api_key(&s.open(None)?), Some("value-4".to_string()));

    // prune: a push in flight (its bundle written, its manifest not yet moved) and objects that
    // are not bundles are never touched.
    let in_flight = "29990101-000000";
    s.raw_put(&format!("v={in_flight}"), b"another writer's bundle", None)?;
    s.raw_put("v=not-a-timestamp", b"not ours", None)?;
    let ts5 = s.push("value-5", mode)?;
    let (out, err) = run(&mut s.vsync("prune"), 0)?;
    assert_eq!(out, "pruned deleted=1 kept=3\n", "{err}");
    assert!(err.contains(&format!("deleted v={}", pushed[2])), "{err}");
    assert_eq!(s.bundles()?, vec![ts4, ts5, in_flight.to_string(), "not-a-timestamp".to_string()]);
    assert!(s.raw_get("latest.meta")?.is_some());
    assert_eq!(api_key(&s.open(Some(5))?), Some("value-5".to_string()));
    Ok(())
}

#[test]
fn retention_keeps_what_readers_may_still_fetch_dev_server() -> TestResult {
    retention(&dev_server()?, false)
}

#[test]
fn retention_keeps_what_readers_may_still_fetch_moto() -> TestResult {
    let moto = Moto::start();
    moto.create_bucket("vsync-moto");
    let s3 = S3 {
        endpoint: moto.endpoint.clone(),
        access_key: "moto-access".into(),
        secret_key: "moto-secret".into(),
        bucket: "vsync-moto".into(),
    };
    retention(&s3, false)
}
