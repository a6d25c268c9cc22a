//! Seed inputs for every fuzz target, built deterministically from a conformance corpus
//! (`conformance/vectors` by default) plus a few shapes the corpus does not hold as bytes
//! (a bare-JSON bundle with `seal.ts`, generation objects). The stable regression test
//! (`core/tests/fuzz_regressions.rs`) feeds every seed to its target and, for
//! `scripts/fuzz.sh seeds`, writes them to `fuzz/corpus/<target>/`. Same corpus in, same seeds out.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use vsync_core::config::BLOB_PREFIX;
use vsync_core::envelope::{
    derive_key, seal_envelope_with_nonce, seal_manifest, HEADER_LEN, NONCE_LEN, RQEM_HEADER_LEN,
};
use vsync_core::payload::{encode_runtime_bundle, encode_zip_payload, VaultData};

use super::targets::{encode_fetch_records, fuzz_key, FetchObject, FetchRecord, ENV, POINTER_TS};

/// One seed: a file name (unique within its target) and its bytes.
pub type Seed = (String, Vec<u8>);

/// A corpus read once: every `.bin` and every parsed `.json`, keyed `<category>/<name>`.
struct Corpus {
    bins: BTreeMap<String, Vec<u8>>,
    jsons: BTreeMap<String, Value>,
}

impl Corpus {
    fn read(dir: &Path) -> std::io::Result<Corpus> {
        let mut corpus = Corpus { bins: BTreeMap::new(), jsons: BTreeMap::new() };
        for cat in std::fs::read_dir(dir)? {
            let cat = cat?;
            if !cat.path().is_dir() {
                continue;
            }
            let category = cat.file_name().to_string_lossy().into_owned();
            for f in std::fs::read_dir(cat.path())? {
                let path = f?.path();
                let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else { continue };
                let key = format!("{category}/{}", stem.to_string_lossy());
                match ext.to_str() {
                    Some("bin") => {
                        corpus.bins.insert(key, std::fs::read(&path)?);
                    }
                    Some("json") => {
                        let v = serde_json::from_slice(&std::fs::read(&path)?)
                            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                        corpus.jsons.insert(key, v);
                    }
                    _ => {}
                }
            }
        }
        Ok(corpus)
    }

    fn bins_in<'a>(&'a self, category: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.bins
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(category)?.strip_prefix('/').map(|n| (n, v.as_slice())))
    }

    fn jsons_in<'a>(&'a self, category: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.jsons.iter().filter_map(move |(k, v)| k.strip_prefix(category)?.strip_prefix('/').map(|n| (n, v)))
    }

    /// Every string anywhere in any vector's JSON, in a stable order.
    fn strings(&self) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Value::Object(m) => m.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.jsons.values().for_each(|v| walk(v, &mut out));
        out
    }
}

/// The seeds of target `name` from the corpus at `vectors`. An unknown target has no seeds.
pub fn seeds(name: &str, vectors: &Path) -> std::io::Result<Vec<Seed>> {
    let c = Corpus::read(vectors)?;
    let mut out: Vec<Seed> = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>| {
        if !out.iter().any(|(_, b)| *b == bytes) {
            out.push((name, bytes));
        }
    };
    match name {
        "config_blob" => {
            for (n, b) in c.bins_in("config-blob") {
                add(format!("config-blob-{n}"), b.to_vec());
            }
            for (i, s) in c.strings().into_iter().filter(|s| s.starts_with(BLOB_PREFIX)).enumerate() {
                add(format!("string-{i}"), s.into_bytes());
            }
        }
        "config_json" => {
            for (n, b) in c.bins_in("config-blob") {
                if let Some(json) = gunzip_blob(b) {
                    add(format!("config-blob-{n}"), json);
                }
                if b.starts_with(b"{") {
                    add(format!("raw-{n}"), b.to_vec());
                }
            }
        }
        "envelope" => {
            for cat in ["rqe1-decrypt", "rqe1-decrypt-error", "error-taxonomy"] {
                for (n, b) in c.bins_in(cat).filter(|(_, b)| !b.starts_with(BLOB_PREFIX.as_bytes())) {
                    add(format!("{cat}-{n}"), b.to_vec());
                }
            }
            // The same plaintexts under the fuzz key, so the fuzzer starts from envelopes that open.
            for (n, v) in c.jsons_in("rqe1-decrypt") {
                let Some(plain) = v["expected"]["plaintext_hex"].as_str().and_then(unhex) else { continue };
                let bin = c.bins.get(&format!("rqe1-decrypt/{n}")).map(Vec::as_slice).unwrap_or_default();
                add(format!("fuzz-key-{n}"), seal_envelope_with_nonce(&fuzz_key(), &plain, nonce_of(bin)));
            }
            for (n, b) in c.bins_in("vault-payload") {
                add(format!("fuzz-key-payload-{n}"), seal_envelope_with_nonce(&fuzz_key(), b, [7; NONCE_LEN]));
            }
        }
        "manifest_seal" => {
            for (n, b) in c.bins_in("rqem0001-manifest") {
                add(format!("rqem-{n}"), b.to_vec());
            }
            for (n, b) in c.bins_in("vault-payload").filter(|(_, b)| b.starts_with(b"RQEM")) {
                add(format!("payload-{n}"), b.to_vec());
            }
        }
        "payload" => {
            for (n, b) in c.bins_in("vault-payload") {
                add(format!("vault-payload-{n}"), b.to_vec());
            }
            for (n, v) in c.jsons_in("rqe1-decrypt") {
                if let Some(p) = v["expected"]["plaintext_hex"].as_str().and_then(unhex).filter(|p| p.starts_with(b"{"))
                {
                    add(format!("rqe1-{n}"), p);
                }
            }
            for (n, v) in c.jsons_in("fallback-chain") {
                let vault = &v["inputs"]["vault"];
                add(format!("flat-{n}"), vault.to_string().into_bytes());
                add(format!("kv-{n}"), serde_json::json!({"kv": vault, "assets": {}}).to_string().into_bytes());
            }
            // SPEC §5/§6: our writer's bare-JSON bundle, bound to its manifest by `seal.ts`.
            let sealed = |ts: &str| {
                serde_json::json!({"kv": {"A": "1", "B": "two"}, "assets": {"f.bin": "AAE="}, "seal": {"ts": ts}})
                    .to_string()
                    .into_bytes()
            };
            add("seal-ts-match".into(), sealed(POINTER_TS));
            add("seal-ts-rollback".into(), sealed("20250101-000000"));
        }
        "zip_layout" => {
            for (n, b) in c.bins_in("vault-payload").filter(|(_, b)| b.starts_with(b"PK")) {
                if let Some(entries) = unzip_to_entries(b) {
                    add(format!("vault-payload-{n}"), entries);
                }
            }
            let env = format!(".env.{ENV}");
            let e =
                |kind: &str, name: &str, content: &[u8]| [kind.as_bytes(), name.as_bytes(), b"\x01", content].concat();
            let hand: [Vec<Vec<u8>>; 3] = [
                vec![
                    e("d", "a/", b""),
                    e("f", &format!("a/{env}"), b"A=1\n"),
                    e("f", "a/x.bin", b"X"),
                    e("f", &format!("b/{env}"), b"B=2"),
                ],
                vec![e("l", &env, b"/etc/passwd"), e("f", &format!("deep/{env}"), b"K=v"), e("f", "deep/../up", b"U")],
                vec![e("f", &format!("r/{env}"), b"\xff\xfe"), e("f", &format!("r/sub/{env}"), b"X=1")],
            ];
            for (i, entries) in hand.iter().enumerate() {
                add(format!("hand-{i}"), entries.join(&b"\0"[..]));
            }
        }
        "dotenv" => {
            let env = format!(".env.{ENV}");
            for (n, b) in c.bins_in("vault-payload").filter(|(_, b)| b.starts_with(b"PK")) {
                for (i, (name, bytes)) in unzip(b).unwrap_or_default().into_iter().enumerate() {
                    if name.ends_with(&env) {
                        add(format!("zip-{n}-{i}"), bytes);
                    }
                }
            }
            for (n, v) in c.jsons_in("fallback-chain") {
                let Some(vault) = v["inputs"]["vault"].as_object() else { continue };
                let text: String =
                    vault.iter().map(|(k, v)| format!("{k}={}\n", v.as_str().unwrap_or_default())).collect();
                add(format!("fallback-{n}"), text.into_bytes());
            }
            add(
                "edge-lines".into(),
                b"# c\r\n\n  A = 1 \r\nB=\"two = 2\"\nC='x'\nD=\"m'\nnoeq\nE=\nF=\"\n=nokey\n".to_vec(),
            );
        }
        "pointer" => {
            let mut stamps: Vec<String> = c.strings().into_iter().filter(|s| is_timestamp(s)).collect();
            for (_, b) in c.bins_in("rqem0001-manifest").filter(|(_, b)| b.len() >= RQEM_HEADER_LEN) {
                stamps.push(String::from_utf8_lossy(&b[8..RQEM_HEADER_LEN]).into_owned());
            }
            for (i, ts) in stamps.iter().enumerate() {
                add(format!("ts-{i}"), ts.clone().into_bytes());
                add(format!("ts-{i}-newline"), format!("{ts}\n").into_bytes());
                add(format!("ts-{i}-padded"), format!(" \t{ts}\r\n").into_bytes());
            }
        }
        "generation" => {
            for (n, b) in c.bins_in("rqem0001-manifest").filter(|(_, b)| b.len() >= RQEM_HEADER_LEN) {
                add(format!("manifest-payload-{n}"), b[RQEM_HEADER_LEN..].to_vec());
            }
            for (n, v) in c.jsons_in("s3-scenario") {
                if let Some(g) = v["inputs"]["seed"]["gen"].as_u64() {
                    add(format!("meta-{n}"), format!("{{\"gen\": {g}}}").into_bytes());
                    let manifest = serde_json::json!({"gen": g, "prev_gen": g.saturating_sub(1), "rotated_at": "2026-01-01T00:00:00Z"});
                    add(format!("latest-manifest-{n}"), manifest.to_string().into_bytes());
                }
            }
            for (i, edge) in [
                "",
                "  \n",
                "{\"gen\": 18446744073709551615}",
                "{\"gen\": 18446744073709551616}",
                "{\"gen\": -1}",
                "{\"gen\": 1.0}",
                "{\"gen\": \"3\"}",
                "[]",
            ]
            .iter()
            .enumerate()
            {
                add(format!("edge-{i}"), edge.as_bytes().to_vec());
            }
        }
        "fetch" => {
            for (n, v) in c.jsons_in("s3-scenario") {
                for (i, records) in fetch_scenario(v).iter().enumerate() {
                    add(format!("s3-scenario-{n}-{i}"), encode_fetch_records(records));
                }
            }
            for (i, records) in fetch_edges().iter().enumerate() {
                add(format!("edge-{i}"), encode_fetch_records(records));
            }
        }
        _ => {}
    }
    Ok(out)
}

fn record(object: FetchObject, gen: Option<u64>, body: impl Into<Vec<u8>>) -> FetchRecord {
    FetchRecord { object, gen, seal: false, pad: false, body: body.into() }
}

/// The bucket an `s3-scenario` vector's `seed` describes, as `vsync vectors seed` writes it
/// (core/src/corpus.rs: `seed_one`, `seed_runtime`, the writer's layouts) with the fuzz key in
/// place of the vector's passphrase, and its tamper applied. Two inputs per scenario whose
/// bundle opens: the bundle stored sealed, and stored as plaintext for the harness to seal (the
/// fuzzer then mutates the payload itself). None for the scenarios that need a network.
fn fetch_scenario(v: &Value) -> Vec<Vec<FetchRecord>> {
    let seed = &v["inputs"]["seed"];
    if v["expected"]["error"] == "S3UnreachableError" {
        return Vec::new();
    }
    let mut data = VaultData::default();
    for (k, val) in seed["vault"].as_object().into_iter().flatten() {
        data.kv.insert(k.clone(), val.as_str().unwrap_or_default().to_string().into());
    }
    for (k, val) in seed["assets"].as_object().into_iter().flatten() {
        data.assets.insert(k.clone(), unhex(val.as_str().unwrap_or_default()).unwrap_or_default().into());
    }
    let gen = seed["gen"].as_u64();
    let tamper = seed["tamper"].as_str().unwrap_or_default();
    // The vector opens with another passphrase than the bucket was written with.
    let wrong_key = v["inputs"]["passphrase"] != seed["passphrase"];
    let key = if wrong_key { derive_key("not the fuzz passphrase", "another-salt-0123", 1) } else { fuzz_key() };
    let (ts1, ts2) = ("20260101-000000", "20260102-000000");
    let sealed = |plain: &[u8]| seal_envelope_with_nonce(&key, plain, [0x5a; NONCE_LEN]);
    // (the bundle's plaintext, the records without it, the bundle's object)
    let (plain, mut records, object, envelope_version) = match seed["layout"].as_str().unwrap_or("runtime") {
        "none" => return vec![Vec::new()],
        "cli" => {
            let dotenv: String = data.kv.iter().map(|(k, v)| format!("{k}={}\n", v.as_str())).collect();
            let assets: Vec<(&str, &[u8])> = data.assets.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
            let zip = encode_zip_payload("vault/", ENV, &dotenv, &assets);
            let mut records = vec![record(FetchObject::Latest, None, format!("{ts2}\n"))];
            if let Some(g) = gen {
                let m = serde_json::json!({"gen": g, "prev_gen": g.saturating_sub(1), "rotated_at": ts2});
                records.push(record(FetchObject::LatestManifest, None, m.to_string()));
            }
            (seal_manifest(ts2, &zip).unwrap_or_default(), records, FetchObject::CliBundle, false)
        }
        _ => {
            let gen = gen.unwrap_or(1);
            let payload = serde_json::json!({"gen": gen, "ts": ts2, "format": "json"}).to_string();
            let mut manifest = seal_manifest(ts2, payload.as_bytes()).unwrap_or_default();
            let mut plain = encode_runtime_bundle(&data, ts2).to_vec();
            let mut meta = Some(gen);
            let mut records = Vec::new();
            match tamper {
                "rollback" => {
                    let mut old = data.clone();
                    old.kv.insert("OLD".into(), "old-version".to_string().into());
                    plain = encode_runtime_bundle(&old, ts1).to_vec();
                    records.push(record(
                        FetchObject::Named,
                        None,
                        [format!("v={ts1}\0").as_bytes(), &sealed(&plain)].concat(),
                    ));
                }
                "seal-ts-mismatch" => plain = encode_runtime_bundle(&data, ts1).to_vec(),
                "manifest-version" => manifest[4..8].copy_from_slice(b"0002"),
                "manifest-garbage" => manifest = b"not a manifest at all".to_vec(),
                "no-gen-metadata" => meta = None,
                _ => {}
            }
            records.push(record(FetchObject::Manifest, meta, manifest));
            if meta.is_some() {
                records.push(record(FetchObject::LatestMeta, None, serde_json::json!({"gen": gen}).to_string()));
            }
            if tamper == "delete-bundle" {
                return vec![records];
            }
            (plain, records, FetchObject::RuntimeBundle, tamper == "envelope-version")
        }
    };
    let mut stored = sealed(&plain);
    if envelope_version {
        stored[3] = b'2';
    }
    let mut harness_sealed = records.clone();
    records.push(record(object, None, stored));
    if wrong_key || envelope_version {
        return vec![records];
    }
    harness_sealed.push(FetchRecord { seal: true, ..record(object, None, plain) });
    vec![records, harness_sealed]
}

/// Buckets the scenarios do not cover: both layouts at once (the runtime one wins), extreme
/// generations, a pointer over its size cap, a CLI pointer that names a path.
fn fetch_edges() -> Vec<Vec<FetchRecord>> {
    let ts = POINTER_TS;
    let kv = |ts: &str| format!(r#"{{"kv":{{"A":"1"}},"assets":{{"f.bin":"AAE="}},"seal":{{"ts":"{ts}"}}}}"#);
    let manifest = |payload: &str| seal_manifest(ts, payload.as_bytes()).unwrap_or_default();
    let zip = encode_zip_payload("", ENV, "B=2\n", &[("c.pem", b"PEM")]);
    let cli_bundle = seal_manifest(ts, &zip).unwrap_or_default();
    let sealed = |object, body: &[u8]| FetchRecord { seal: true, ..record(object, None, body) };
    vec![
        vec![
            record(FetchObject::Latest, Some(9), ts),
            sealed(FetchObject::CliBundle, &cli_bundle),
            record(FetchObject::Manifest, None, manifest("")),
            sealed(FetchObject::RuntimeBundle, kv(ts).as_bytes()),
        ],
        vec![
            record(FetchObject::Manifest, Some(u64::MAX), manifest("{}")),
            sealed(FetchObject::RuntimeBundle, kv(ts).as_bytes()),
        ],
        vec![
            record(FetchObject::Manifest, None, manifest(r#"{"gen": 18446744073709551615}"#)),
            sealed(FetchObject::RuntimeBundle, kv(ts).as_bytes()),
        ],
        vec![
            record(FetchObject::Manifest, None, manifest(" ")),
            record(FetchObject::LatestMeta, None, r#"{"gen": 4}"#),
            sealed(FetchObject::RuntimeBundle, kv(ts).as_bytes()),
        ],
        vec![
            FetchRecord { pad: true, ..record(FetchObject::Manifest, Some(1), manifest(r#"{"gen":1}"#)) },
            sealed(FetchObject::RuntimeBundle, kv(ts).as_bytes()),
        ],
        vec![record(FetchObject::Latest, None, "2026/101-120000"), sealed(FetchObject::CliBundle, &cli_bundle)],
        vec![record(FetchObject::Latest, None, ts), sealed(FetchObject::CliBundle, kv(ts).as_bytes())],
    ]
}

/// The JSON inside a `vsync-cfg-v1:` blob, when it has one.
fn gunzip_blob(blob: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(blob).ok()?.trim_end();
    let gz = URL_SAFE_NO_PAD.decode(text.strip_prefix(BLOB_PREFIX)?).ok()?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut json).ok()?;
    Some(json)
}

fn nonce_of(envelope: &[u8]) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    if envelope.len() >= HEADER_LEN {
        nonce.copy_from_slice(&envelope[4..HEADER_LEN]);
    }
    nonce
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len() / 2).map(|i| s.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 15 && b[8] == b'-' && b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit())
}

/// The regular files of a zip: (name, content), in archive order.
fn unzip(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).ok()?;
        if f.is_file() {
            let name = f.name().ok()?.into_owned();
            let mut content = Vec::new();
            f.read_to_end(&mut content).ok()?;
            out.push((name, content));
        }
    }
    Some(out)
}

/// A zip in the `zip_layout` target's input format (see `targets::zip_layout`).
fn unzip_to_entries(bytes: &[u8]) -> Option<Vec<u8>> {
    let entries: Vec<Vec<u8>> =
        unzip(bytes)?.into_iter().map(|(name, content)| [b"f", name.as_bytes(), b"\x01", &content].concat()).collect();
    Some(entries.join(&b"\0"[..]))
}
