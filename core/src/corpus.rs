//! The conformance corpus (SPEC §11 format): generation by our writer, deterministic byte for
//! byte, and seeding of the live scenarios into a real S3-compatible server.
//!
//! Expectations are written out by hand here (not computed by the reader under test), so the
//! corpus checks the readers instead of mirroring them. Nonces come from the vector's name, so
//! regeneration reproduces every byte; this is the only place a fixed nonce is used.

// The vector tables are tuples of literal data: naming each tuple type adds nothing.
#![allow(clippy::type_complexity)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::config::{encode_bytes_blob, encode_json_blob, Config, DEFAULT_ITERATIONS};
use crate::envelope::{derive_key, seal_envelope, seal_envelope_with_nonce, seal_manifest, Key, NONCE_LEN};
use crate::error::{Error, Result};
use crate::payload::{encode_json_payload, encode_runtime_bundle, encode_sealed_bundle, encode_zip_payload, VaultData};
use crate::s3::{self, Store};
use crate::writer::{write_cli_layout, write_runtime};

pub const SPEC_VERSION: &str = "v0.12";
const PASS: &str = "correct horse battery staple";
const SALT: &str = "c2FsdHktc2FsdC1zYWx0IQ==";
const SALT2: &str = "b3RoZXItc2FsdC1zdHJpbmc=";

/// Where `seed` writes the live scenarios.
pub struct SeedTarget {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub bucket: String,
}

/// One vector: its JSON and, when bytes are involved, its `.bin`.
struct Vector {
    category: &'static str,
    name: String,
    json: Value,
    bin: Option<Vec<u8>>,
}

fn vector(
    category: &'static str,
    name: &str,
    description: &str,
    inputs: Value,
    expected: Value,
    bin: Option<Vec<u8>>,
) -> Vector {
    let json = json!({
        "category": category,
        "description": description,
        "inputs": inputs,
        "expected": expected,
        "generated_by": concat!("vsync-core@", env!("CARGO_PKG_VERSION")),
        "spec_version": SPEC_VERSION,
    });
    Vector { category, name: name.to_string(), json, bin }
}

fn nonce_for(name: &str) -> [u8; NONCE_LEN] {
    let digest = Sha256::digest(name.as_bytes());
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(&digest[..NONCE_LEN]);
    n
}

fn envelope(name: &str, passphrase: &str, salt: &str, plaintext: &[u8]) -> Vec<u8> {
    seal_envelope_with_nonce(&derive_key(passphrase, salt, DEFAULT_ITERATIONS), plaintext, nonce_for(name))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn err(class: &str) -> Value {
    json!({ "error": class })
}

fn sample_config() -> Config {
    Config {
        endpoint: "https://s3.us-east-1.amazonaws.com".into(),
        region: "us-east-1".into(),
        bucket: "acme-secrets".into(),
        access_key_id: "AKIAEXAMPLEREADONLY".into(),
        secret_access_key: zeroize::Zeroizing::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        ambient_credentials: false,
        prefix: "billing/prod/".into(),
        env: "prod".into(),
        salt: SALT.into(),
        iterations: DEFAULT_ITERATIONS,
    }
}

fn rqe1_vectors(out: &mut Vec<Vector>) {
    let ok: [(&str, &str, &str, &str, &[u8]); 6] = [
        ("hello-world", "Decrypt a passphrase-derived RQE1 envelope; expect 'hello world'", PASS, SALT, b"hello world"),
        ("empty-plaintext", "The smallest valid envelope (32 bytes) decrypts to nothing", PASS, SALT, b""),
        ("unicode-passphrase", "Passphrase is taken as UTF-8 bytes", "pässwörd-🔑-ünïcode", SALT2, "tëxt ✓".as_bytes()),
        (
            "spaces-in-passphrase",
            "Leading and trailing spaces are part of the passphrase",
            "  spaced passphrase  ",
            SALT,
            b"spaces kept",
        ),
        ("binary-plaintext", "All 256 byte values round-trip", PASS, SALT2, &[0u8; 0]),
        (
            "json-payload",
            "A whole runtime vault payload as plaintext",
            PASS,
            SALT,
            br#"{"kv":{"DATABASE_URL":"postgres://db"},"assets":{}}"#,
        ),
    ];
    for (name, desc, pass, salt, plain) in ok {
        let plain: Vec<u8> = if name == "binary-plaintext" { (0..=255u8).collect() } else { plain.to_vec() };
        let mut expected = Map::new();
        expected.insert("plaintext_hex".into(), json!(hex(&plain)));
        if let Ok(s) = std::str::from_utf8(&plain) {
            expected.insert("plaintext_utf8".into(), json!(s));
        }
        expected.insert("error".into(), Value::Null);
        out.push(vector(
            "rqe1-decrypt",
            name,
            desc,
            json!({"passphrase": pass, "salt": salt, "iterations": DEFAULT_ITERATIONS}),
            Value::Object(expected),
            Some(envelope(name, pass, salt, &plain)),
        ));
    }

    let good = envelope("error-base", PASS, SALT, b"secret payload");
    let flip = |at: usize, to: Option<u8>| {
        let mut b = good.clone();
        b[at] = to.unwrap_or(b[at] ^ 0x01);
        b
    };
    let last = good.len() - 1;
    let cases: Vec<(&str, &str, &str, &str, Vec<u8>, &str)> = vec![
        (
            "wrong-passphrase",
            "Another passphrase fails the GCM tag",
            "Tr0ub4dor&3",
            SALT,
            good.clone(),
            "WrongPassphraseError",
        ),
        (
            "wrong-salt",
            "The right passphrase with another salt string",
            PASS,
            SALT2,
            good.clone(),
            "WrongPassphraseError",
        ),
        (
            "wrong-version",
            "RQE1 magic byte 3 flipped (1→2) → UnsupportedSpecVersionError",
            PASS,
            SALT,
            flip(3, Some(b'2')),
            "UnsupportedSpecVersionError",
        ),
        ("bad-magic", "Bytes 0..3 are not RQE", PASS, SALT, flip(0, Some(b'X')), "BundleCorruptError"),
        (
            "truncated",
            "31 bytes: shorter than the smallest envelope",
            PASS,
            SALT,
            good[..31].to_vec(),
            "BundleCorruptError",
        ),
        ("tampered-tag", "Last tag byte flipped", PASS, SALT, flip(last, None), "WrongPassphraseError"),
        ("tampered-ciphertext", "First ciphertext byte flipped", PASS, SALT, flip(16, None), "WrongPassphraseError"),
        ("tampered-nonce", "First nonce byte flipped", PASS, SALT, flip(4, None), "WrongPassphraseError"),
    ];
    for (name, desc, pass, salt, bin, class) in cases {
        out.push(vector(
            "rqe1-decrypt-error",
            name,
            desc,
            json!({"passphrase": pass, "salt": salt, "iterations": DEFAULT_ITERATIONS}),
            json!({"plaintext_hex": null, "error": class}),
            Some(bin),
        ));
    }
}

fn rqem_vectors(out: &mut Vec<Vector>) {
    let payload = br#"{ "gen": 1, "hello": "world" }"#;
    let sealed = |ts: &str, p: &[u8]| seal_manifest(ts, p).unwrap_or_default();
    let ts = "20260429-103045";
    let mut v2 = sealed(ts, payload);
    v2[4..8].copy_from_slice(b"0002");
    let mut bad_magic = sealed(ts, payload);
    bad_magic[..4].copy_from_slice(b"RQEX");
    let mut non_ascii = sealed(ts, payload);
    non_ascii[10] = 0xC3;
    let ok = |embedded: &str, p: &[u8]| json!({"embedded_ts": embedded, "payload_hex": hex(p), "error": null});
    let cases: Vec<(&str, &str, Value, Vec<u8>, Value)> = vec![
        (
            "positive-basic",
            "Sealed at the timestamp the pointer names",
            json!(ts),
            sealed(ts, payload),
            ok(ts, payload),
        ),
        (
            "no-remote-check",
            "remote_ts null: the embedded timestamp is returned unchecked",
            Value::Null,
            sealed("20251231-235959", payload),
            ok("20251231-235959", payload),
        ),
        ("empty-payload", "A 23-byte seal has an empty payload", json!(ts), sealed(ts, b""), ok(ts, b"")),
        (
            "binary-payload",
            "The payload is opaque bytes",
            json!(ts),
            sealed(ts, b"PK\x05\x06\x00\xff"),
            ok(ts, b"PK\x05\x06\x00\xff"),
        ),
        (
            "rollback",
            "Embedded timestamp differs from the pointer's → rollback refused",
            json!("20260501-000000"),
            sealed(ts, payload),
            err("BundleCorruptError"),
        ),
        ("future-version", "RQEM0002 → UnsupportedSpecVersionError", json!(ts), v2, err("UnsupportedSpecVersionError")),
        ("bad-magic", "Magic does not start with RQEM", json!(ts), bad_magic, err("BundleCorruptError")),
        (
            "too-short",
            "Shorter than the 23-byte header",
            json!(ts),
            b"RQEM000120260429-1030".to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "non-ascii-timestamp",
            "A non-ASCII byte inside the timestamp",
            json!(ts),
            non_ascii,
            err("BundleCorruptError"),
        ),
    ];
    for (name, desc, remote, bin, expected) in cases {
        out.push(vector("rqem0001-manifest", name, desc, json!({"remote_ts": remote}), expected, Some(bin)));
    }
}

fn config_vectors(out: &mut Vec<Vector>) {
    let base = sample_config();
    let mut r2 = base.clone();
    r2.endpoint = "https://0123456789abcdef.r2.cloudflarestorage.com".into();
    r2.region = "auto".into();
    r2.prefix = String::new();
    r2.env = "staging".into();
    let mut minio = base.clone();
    minio.endpoint = "http://minio.internal:9000".into();
    minio.prefix = String::new();
    minio.env = "dev".into();
    minio.salt = SALT2.into();
    minio.iterations = 100_000;
    let ok = |c: &Config| json!({"config_json": c.to_json(), "error": null});
    let mut extra = base.to_json();
    extra["comment"] = json!("unknown fields are ignored");
    extra["features"] = json!({"x": 1});
    let with = |f: &dyn Fn(&mut Value)| edited_blob(&base, f);
    let std_b64 = format!(
        "vsync-cfg-v1:{}==",
        base.encode().trim_start_matches("vsync-cfg-v1:").replace('-', "+").replace('_', "/")
    );
    let cases: Vec<(&str, &str, String, Value)> = vec![
        ("positive-aws", "AWS endpoint with a prefix", base.encode(), ok(&base)),
        ("positive-r2", "R2: region auto, empty prefix", r2.encode(), ok(&r2)),
        ("positive-minio", "Self-hosted http endpoint, other iteration count", minio.encode(), ok(&minio)),
        (
            "trailing-newline",
            "The CLI prints a newline; trailing whitespace is trimmed",
            format!("{}\r\n\t \n", base.encode()),
            ok(&base),
        ),
        ("unknown-fields", "Unknown fields are ignored", encode_json_blob(&extra), ok(&base)),
        (
            "raw-json",
            "Raw JSON instead of a blob → ConfigMissingError",
            base.to_json().to_string(),
            err("ConfigMissingError"),
        ),
        ("empty", "An empty blob → ConfigMissingError", String::new(), err("ConfigMissingError")),
        (
            "other-blob-version",
            "vsync-cfg-v2: prefix → ConfigMissingError",
            base.encode().replace("vsync-cfg-v1:", "vsync-cfg-v2:"),
            err("ConfigMissingError"),
        ),
        (
            "standard-base64",
            "'+', '/' or '=' in the body → ConfigUnsupportedVersionError",
            std_b64,
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "bad-base64url",
            "A body that is not base64url → BundleCorruptError",
            "vsync-cfg-v1:a".into(),
            err("BundleCorruptError"),
        ),
        (
            "not-gzip",
            "base64url of bytes that are not gzip → BundleCorruptError",
            "vsync-cfg-v1:bm90IGd6aXA".into(),
            err("BundleCorruptError"),
        ),
        (
            "not-json",
            "gzip of text that is not JSON → BundleCorruptError",
            encode_bytes_blob(b"v=1"),
            err("BundleCorruptError"),
        ),
        (
            "root-not-object",
            "JSON root is an array → BundleCorruptError",
            encode_json_blob(&json!([1, 2])),
            err("BundleCorruptError"),
        ),
        (
            "version-2",
            "v=2 → ConfigUnsupportedVersionError",
            with(&|j| j["v"] = json!(2)),
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "version-string",
            "v=\"1\" (a string) → ConfigUnsupportedVersionError",
            with(&|j| j["v"] = json!("1")),
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "version-checked-first",
            "v=2 with every other field missing → ConfigUnsupportedVersionError",
            encode_json_blob(&json!({"v": 2})),
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "short-salt",
            "A 15-character salt → ConfigUnsupportedVersionError",
            with(&|j| j["salt"] = json!("abcdefghijklmno")),
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "missing-salt",
            "No salt (an older token) → ConfigUnsupportedVersionError",
            with(&|j| {
                j.as_object_mut().map(|m| m.remove("salt"));
            }),
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "missing-bucket",
            "A required field is absent → BundleCorruptError",
            with(&|j| {
                j.as_object_mut().map(|m| m.remove("bucket"));
            }),
            err("BundleCorruptError"),
        ),
        (
            "iterations-zero",
            "iterations must be a positive integer → BundleCorruptError",
            with(&|j| j["iterations"] = json!(0)),
            err("BundleCorruptError"),
        ),
        (
            "endpoint-not-string",
            "A field of the wrong type → BundleCorruptError",
            with(&|j| j["endpoint"] = json!(443)),
            err("BundleCorruptError"),
        ),
    ];
    push_config_blobs(out, cases);
}

/// `config`'s JSON with one edit, encoded as a config blob (the malformed-token cases).
fn edited_blob(config: &Config, edit: &dyn Fn(&mut Value)) -> String {
    let mut j = config.to_json();
    edit(&mut j);
    encode_json_blob(&j)
}

/// `config-blob` vectors from (name, description, blob, expected); an expected error gets
/// `"config_json": null` beside it.
fn push_config_blobs(out: &mut Vec<Vector>, cases: Vec<(&str, &str, String, Value)>) {
    for (name, desc, blob, expected) in cases {
        let mut exp = expected;
        if exp.get("config_json").is_none() {
            exp = json!({"config_json": null, "error": exp["error"]});
        }
        out.push(vector("config-blob", name, desc, json!({}), exp, Some(blob.into_bytes())));
    }
}

/// Keyless runtime tokens (SPEC §2, this project's extension): `config-blob` vectors named
/// `keyless-*`, so every runner decodes them with its existing config-blob step.
fn keyless_token_vectors(out: &mut Vec<Vector>) {
    let mut keyless = sample_config();
    keyless.access_key_id.clear();
    keyless.secret_access_key = zeroize::Zeroizing::new(String::new());
    keyless.ambient_credentials = true;
    let with = |f: &dyn Fn(&mut Value)| edited_blob(&keyless, f);
    let cases: Vec<(&str, &str, String, Value)> = vec![
        (
            "keyless-ambient",
            "\"credentials\": \"ambient\" and no keys → a keyless token (readers use the AWS default credential chain)",
            keyless.encode(),
            json!({"config_json": keyless.to_json(), "error": null}),
        ),
        (
            "keyless-missing-marker",
            "Neither keys nor the marker → BundleCorruptError (never the host's credentials)",
            with(&|j| {
                j.as_object_mut().map(|m| m.remove("credentials"));
            }),
            err("BundleCorruptError"),
        ),
        (
            "keyless-marker-and-keys",
            "The marker and an accessKeyId together → BundleCorruptError (which would sign?)",
            with(&|j| j["accessKeyId"] = json!("AKIAEXAMPLEREADONLY")),
            err("BundleCorruptError"),
        ),
        (
            "keyless-unknown-mode",
            "\"credentials\": \"web-identity\" (a mode this reader does not know) → ConfigUnsupportedVersionError",
            with(&|j| j["credentials"] = json!("web-identity")),
            err("ConfigUnsupportedVersionError"),
        ),
        (
            "keyless-marker-not-string",
            "\"credentials\": true → BundleCorruptError",
            with(&|j| j["credentials"] = json!(true)),
            err("BundleCorruptError"),
        ),
    ];
    push_config_blobs(out, cases);
}

fn q(key: &str, value: Option<&str>, source: &str) -> Value {
    json!({"key": key, "value": value, "source": source, "has": source != "missing"})
}

fn chain_vectors(out: &mut Vec<Vector>) {
    let cases: Vec<(&str, &str, Value, Value, Value, Vec<Value>)> = vec![
        (
            "vault-hit",
            "Key present in vault, env and defaults → vault wins",
            json!({"DATABASE_URL": "postgres://vault"}),
            json!({"DATABASE_URL": "postgres://env"}),
            json!({"DATABASE_URL": "postgres://default"}),
            vec![q("DATABASE_URL", Some("postgres://vault"), "vault")],
        ),
        (
            "env-hit",
            "Not in the vault, set in the environment and the defaults → env wins",
            json!({"OTHER": "x"}),
            json!({"LOG_LEVEL": "debug"}),
            json!({"LOG_LEVEL": "info"}),
            vec![q("LOG_LEVEL", Some("debug"), "env")],
        ),
        (
            "default-hit",
            "Only in the defaults → default",
            json!({}),
            json!({}),
            json!({"PORT": "8080"}),
            vec![q("PORT", Some("8080"), "default")],
        ),
        (
            "missing",
            "Nowhere → null, source missing, has false",
            json!({"A": "1"}),
            json!({}),
            json!({}),
            vec![q("NOPE", None, "missing")],
        ),
        (
            "env-empty-string",
            "An empty environment variable counts as set",
            json!({}),
            json!({"EMPTY": ""}),
            json!({"EMPTY": "fallback"}),
            vec![q("EMPTY", Some(""), "env")],
        ),
        (
            "vault-empty-string",
            "An empty vault value still wins",
            json!({"BLANK": ""}),
            json!({"BLANK": "env"}),
            json!({}),
            vec![q("BLANK", Some(""), "vault")],
        ),
        (
            "mixed",
            "Several keys resolve from every step of the chain",
            json!({"A": "vault-a", "B": "vault-b"}),
            json!({"B": "env-b", "C": "env-c"}),
            json!({"C": "def-c", "D": "def-d"}),
            vec![
                q("A", Some("vault-a"), "vault"),
                q("B", Some("vault-b"), "vault"),
                q("C", Some("env-c"), "env"),
                q("D", Some("def-d"), "default"),
                q("E", None, "missing"),
            ],
        ),
        (
            "unicode-values",
            "Values are arbitrary UTF-8",
            json!({"GREETING": "héllo wörld ✓", "MULTI": "line1\nline2"}),
            json!({}),
            json!({}),
            vec![q("GREETING", Some("héllo wörld ✓"), "vault"), q("MULTI", Some("line1\nline2"), "vault")],
        ),
    ];
    for (name, desc, vault, env, defaults, results) in cases {
        let queries: Vec<Value> = results.iter().map(|r| r["key"].clone()).collect();
        out.push(vector(
            "fallback-chain",
            name,
            desc,
            json!({"bin": null, "vault": vault, "env": env, "defaults": defaults, "queries": queries}),
            json!({"results": results, "error": null}),
            None,
        ));
    }
}

/// The `resolved-view` category (SPEC §8, `environ()`): the whole map a program sees through the
/// chain, from a vault, an environment that is the process's whole environment, and defaults;
/// `expected.environ` lists every name in order (code-point order of the names) with its value
/// and the source `env_source` reports for it.
fn resolved_view_vectors(out: &mut Vec<Vector>) {
    type Case = (&'static str, &'static str, Value, Value, Value);
    let cases: Vec<Case> = vec![
        (
            "precedence",
            "Every step of the chain at once: the vault wins, then the environment, then the defaults",
            json!({"A": "vault-a", "B": "vault-b", "BLANK": ""}),
            json!({"B": "env-b", "C": "env-c", "BLANK": "env-blank", "EMPTY": ""}),
            json!({"A": "def-a", "C": "def-c", "D": "def-d", "EMPTY": "def-empty"}),
        ),
        ("empty", "No vault keys, no environment, no defaults: an empty view", json!({}), json!({}), json!({})),
        (
            "environment-only",
            "Every variable of the environment is in the view, even those the vault does not name",
            json!({}),
            json!({"HOME": "/home/app", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}),
            json!({}),
        ),
        (
            "code-point-order",
            "Names are ordered by code point (the UTF-8 bytes), not by UTF-16 unit or case",
            json!({"b": "1", "B": "2", "_x": "3", "\u{1F511}KEY": "4", "\u{FF21}": "5", "\u{E9}t\u{E9}": "6"}),
            json!({"Z": "env-z", "a1": "env-a1"}),
            json!({"\u{DF}": "def-sz", "A_B": "def-ab"}),
        ),
    ];
    for (name, desc, vault, env, defaults) in cases {
        let mut view: BTreeMap<String, (String, &str)> = BTreeMap::new();
        for (step, source) in [(&defaults, "default"), (&env, "env"), (&vault, "vault")] {
            for (k, v) in step.as_object().into_iter().flatten() {
                view.insert(k.clone(), (v.as_str().unwrap_or_default().to_string(), source));
            }
        }
        let environ: Vec<Value> =
            view.into_iter().map(|(k, (v, source))| json!({"key": k, "value": v, "source": source})).collect();
        out.push(vector(
            "resolved-view",
            name,
            desc,
            json!({"bin": null, "vault": vault, "env": env, "defaults": defaults}),
            json!({"environ": environ, "error": null}),
            None,
        ));
    }
}

fn asset_vectors(out: &mut Vec<Vector>) {
    let pem = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n".to_vec();
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    let cases: Vec<(&str, &str, &str, Value, Vec<u8>)> = vec![
        (
            "pem-certificate",
            "A text asset read as bytes and copied to a 0600 file",
            "tls/ca.pem",
            json!({"DATABASE_URL": "postgres://x"}),
            pem,
        ),
        ("binary-key", "Every byte value survives", "keystore.p12", json!({}), binary),
        ("empty-asset", "A zero-length asset is present, not missing", "empty.bin", json!({}), Vec::new()),
    ];
    for (name, desc, key, vault, bytes) in cases {
        out.push(vector(
            "asset-path",
            name,
            desc,
            json!({"key": key, "vault": vault}),
            json!({"bytes_hex": hex(&bytes), "mode_octal": "0600", "error": null}),
            Some(bytes),
        ));
    }
}

fn file(content: &[u8], mode: &str) -> Value {
    json!({"content_hex": hex(content), "mode_octal": mode})
}

/// `error-taxonomy` in the four input shapes of SPEC §11, as the family writes them (`bin` says
/// whether a `.bin` exists), plus our own `config` + `passphrase` and `files` + `env` shapes.
/// Runners pick the step from the inputs and the `.bin`'s first bytes, never from the name.
fn taxonomy_vectors(out: &mut Vec<Vector>) {
    let good = envelope("taxonomy", PASS, SALT, b"{}");
    let mut v2 = good.clone();
    v2[3] = b'2';
    let crypt =
        |pass: &str| json!({"bin": "see-bin", "passphrase": pass, "salt": SALT, "iterations": DEFAULT_ITERATIONS});
    let blob_with = |f: &dyn Fn(&mut Value)| {
        let mut j = sample_config().to_json();
        f(&mut j);
        encode_json_blob(&j)
    };
    let v99 = blob_with(&|j| j["v"] = json!(99));
    let see_bin = json!({"bin": "see-bin"});
    let cases: Vec<(&str, &str, Value, &str, Option<Vec<u8>>)> = vec![
        // Shape 1: an envelope `.bin` with passphrase and salt.
        (
            "wrong-passphrase",
            "Wrong passphrase → WrongPassphraseError",
            crypt("nope"),
            "WrongPassphraseError",
            Some(good.clone()),
        ),
        (
            "unsupported-envelope",
            "RQE2 envelope → UnsupportedSpecVersionError",
            crypt(PASS),
            "UnsupportedSpecVersionError",
            Some(v2),
        ),
        (
            "corrupt-envelope",
            "Truncated envelope → BundleCorruptError",
            crypt(PASS),
            "BundleCorruptError",
            Some(good[..20].to_vec()),
        ),
        // Shape 2: a config blob `.bin`, no passphrase.
        (
            "config-blob-version-99",
            "A config blob whose inner v is 99, no passphrase → ConfigUnsupportedVersionError",
            see_bin.clone(),
            "ConfigUnsupportedVersionError",
            Some(v99.clone().into_bytes()),
        ),
        (
            "config-blob-short-salt",
            "A config blob with a 15-character salt, no passphrase → ConfigUnsupportedVersionError",
            see_bin.clone(),
            "ConfigUnsupportedVersionError",
            Some(blob_with(&|j| j["salt"] = json!("abcdefghijklmno")).into_bytes()),
        ),
        (
            "config-blob-not-gzip",
            "A config blob whose body is not gzip, no passphrase → BundleCorruptError",
            see_bin.clone(),
            "BundleCorruptError",
            Some(b"vsync-cfg-v1:bm90IGd6aXA".to_vec()),
        ),
        (
            "config-blob-raw-json",
            "Raw JSON where a blob belongs, no passphrase → ConfigMissingError",
            see_bin,
            "ConfigMissingError",
            Some(sample_config().to_json().to_string().into_bytes()),
        ),
        // Shape 3: an environment, no `.bin`.
        (
            "no-bootstrap-env",
            "Neither VSYNC_CONFIG nor VSYNC_CONFIG_FILE → ConfigMissingError",
            json!({"bin": null, "env": {}}),
            "ConfigMissingError",
            None,
        ),
        (
            "env-without-passphrase",
            "VSYNC_CONFIG set, no VSYNC_PASSPHRASE(_FILE) → ConfigMissingError",
            json!({"bin": null, "env": {"VSYNC_CONFIG": sample_config().encode()}}),
            "ConfigMissingError",
            None,
        ),
        (
            "env-config-version-99",
            "VSYNC_CONFIG holds a blob whose inner v is 99 → ConfigUnsupportedVersionError",
            json!({"bin": null, "env": {"VSYNC_CONFIG": v99, "VSYNC_PASSPHRASE": PASS}}),
            "ConfigUnsupportedVersionError",
            None,
        ),
        (
            "world-writable-config-file",
            "A world-writable VSYNC_CONFIG_FILE is refused → ConfigMissingError",
            json!({"bin": null, "files": {"config": file(sample_config().encode().as_bytes(), "0666")}, "env": {"VSYNC_CONFIG_FILE": "{dir}/config", "VSYNC_PASSPHRASE": PASS}}),
            "ConfigMissingError",
            None,
        ),
        // Ours: a blob and a passphrase given to open_with (fails before any network access).
        (
            "padded-config",
            "A blob with padding → ConfigUnsupportedVersionError",
            json!({"bin": null, "config": "vsync-cfg-v1:abc=", "passphrase": PASS}),
            "ConfigUnsupportedVersionError",
            None,
        ),
        // Shape 4: the family's live scenarios, no passphrase (the error comes before decryption).
        // The seeder knows these scenario names: manifest-404 writes nothing, the other hands
        // out a token with a wrong secret key.
        (
            "manifest-404",
            "Nothing pushed under the prefix → ManifestNotFoundError",
            json!({"bin": null, "scenario": "manifest-404"}),
            "ManifestNotFoundError",
            None,
        ),
        (
            "network-error-or-iam-403",
            "Wrong secret key: the server answers 403 → S3UnreachableError",
            json!({"bin": null, "scenario": "network-error-or-iam-403"}),
            "S3UnreachableError",
            None,
        ),
    ];
    for (name, desc, inputs, class, bin) in cases {
        out.push(vector("error-taxonomy", name, desc, inputs, err(class), bin));
    }
}

fn payload_vectors(out: &mut Vec<Vector>) {
    let ok = |keys: &[&str], kv: Value, assets: Value| json!({"keys": keys, "kv": kv, "assets": assets, "error": null});
    let zip = encode_zip_payload(
        "vault/",
        "prod",
        "# database\r\nDATABASE_URL = postgres://db:5432/app \r\n\r\nQUOTED=\"a = b\"\nSINGLE='x y'\nMISMATCH=\"half'\nnot a pair\n  # indented comment\nEMPTY=\n",
        &[("tls/ca.pem", b"PEM-BYTES"), ("key.bin", b"\x00\x01\x02")],
    );
    let nested = encode_zip_payload("home/ops/vaults/app/", "dev", "A=1\n", &[("conf/app.yaml", b"a: 1\n")]);
    // A zip with a file outside the vault root: it is not an asset.
    let outside = {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
        for (n, b) in [("README.txt", &b"outside"[..]), ("vault/.env.dev", b"K=v\n"), ("vault/asset.txt", b"in")] {
            let _ = w.start_file(n, o);
            let _ = w.write_all(b);
        }
        w.finish().map(|c| c.into_inner()).unwrap_or_default()
    };
    let json_payload = {
        let mut d = VaultData::default();
        d.kv.insert("Z_LAST".into(), "z".to_string().into());
        d.kv.insert("A_FIRST".into(), "a".to_string().into());
        d.assets.insert("blob.bin".into(), vec![0xde, 0xad, 0xbe, 0xef].into());
        encode_json_payload(&d).to_vec()
    };
    let ts = "20260101-120000";
    let sealed = |p: &[u8]| seal_manifest(ts, p).unwrap_or_default();
    // Our writer's runtime bundle: bare JSON with `seal.ts` (SPEC §5).
    let bundle = {
        let mut d = VaultData::default();
        d.kv.insert("URL".into(), "postgres://u:p=w@db/x?a=b".to_string().into());
        d.kv.insert("GREETING".into(), "héllo ✓".to_string().into());
        d.kv.insert("EMPTY".into(), String::new().into());
        d.assets.insert("ca.pem".into(), b"PEM\x00\xff".to_vec().into());
        encode_runtime_bundle(&d, ts).to_vec()
    };
    let bundle_ok = || {
        ok(
            &["URL", "GREETING", "EMPTY"],
            json!({"URL": "postgres://u:p=w@db/x?a=b", "GREETING": "héllo ✓", "EMPTY": ""}),
            json!({"ca.pem": hex(b"PEM\x00\xff")}),
        )
    };
    let cases: Vec<(&str, &str, &str, Value, Vec<u8>, Value)> = vec![
        (
            "json-kv-assets",
            "Our writer's shape: {kv, assets}; key order kept",
            "prod",
            Value::Null,
            json_payload.clone(),
            ok(&["Z_LAST", "A_FIRST"], json!({"Z_LAST": "z", "A_FIRST": "a"}), json!({"blob.bin": "deadbeef"})),
        ),
        (
            "json-flat",
            "A flat object: every member is a key/value, order kept",
            "prod",
            Value::Null,
            br#"{"M":"1","B":"2","Y":"3"}"#.to_vec(),
            ok(&["M", "B", "Y"], json!({"M": "1", "B": "2", "Y": "3"}), json!({})),
        ),
        (
            "json-only-assets",
            "assets without kv: kv is empty",
            "prod",
            Value::Null,
            br#"{"assets":{"a.txt":"aGk="}}"#.to_vec(),
            ok(&[], json!({}), json!({"a.txt": "6869"})),
        ),
        (
            "zip-dotenv",
            "The public CLI's zip: .env rules (CRLF, comments, quotes, trims) and assets",
            "prod",
            Value::Null,
            zip.clone(),
            ok(
                &["DATABASE_URL", "QUOTED", "SINGLE", "MISMATCH", "EMPTY"],
                json!({"DATABASE_URL": "postgres://db:5432/app", "QUOTED": "a = b", "SINGLE": "x y", "MISMATCH": "\"half'", "EMPTY": ""}),
                json!({"tls/ca.pem": hex(b"PEM-BYTES"), "key.bin": "000102"}),
            ),
        ),
        (
            "zip-nested-root",
            "The .env.<env> directory is the vault root; assets are relative to it",
            "dev",
            Value::Null,
            nested,
            ok(&["A"], json!({"A": "1"}), json!({"conf/app.yaml": hex(b"a: 1\n")})),
        ),
        (
            "zip-files-outside-root",
            "Files outside the vault root are not assets",
            "dev",
            Value::Null,
            outside,
            ok(&["K"], json!({"K": "v"}), json!({"asset.txt": hex(b"in")})),
        ),
        (
            "zip-wrong-env",
            "No .env.<env> for this env → BundleCorruptError",
            "staging",
            Value::Null,
            zip.clone(),
            err("BundleCorruptError"),
        ),
        (
            "sealed-json",
            "RQEM0001-wrapped JSON whose timestamp matches the pointer",
            "prod",
            json!(ts),
            sealed(&json_payload),
            ok(&["Z_LAST", "A_FIRST"], json!({"Z_LAST": "z", "A_FIRST": "a"}), json!({"blob.bin": "deadbeef"})),
        ),
        (
            "sealed-zip",
            "RQEM0001-wrapped zip (the public CLI's bundle)",
            "prod",
            json!(ts),
            sealed(&zip),
            ok(
                &["DATABASE_URL", "QUOTED", "SINGLE", "MISMATCH", "EMPTY"],
                json!({"DATABASE_URL": "postgres://db:5432/app", "QUOTED": "a = b", "SINGLE": "x y", "MISMATCH": "\"half'", "EMPTY": ""}),
                json!({"tls/ca.pem": hex(b"PEM-BYTES"), "key.bin": "000102"}),
            ),
        ),
        (
            "sealed-rollback",
            "Sealed at another timestamp than the pointer names → BundleCorruptError",
            "prod",
            json!("20260202-000000"),
            sealed(&json_payload),
            err("BundleCorruptError"),
        ),
        (
            "json-seal",
            "Our runtime bundle: bare JSON whose seal.ts equals the pointer's timestamp",
            "prod",
            json!(ts),
            bundle.clone(),
            bundle_ok(),
        ),
        (
            "json-seal-no-pointer",
            "pointer_ts null: seal.ts is not compared",
            "prod",
            Value::Null,
            bundle.clone(),
            bundle_ok(),
        ),
        (
            "json-seal-mismatch",
            "seal.ts differs from the pointer's timestamp → BundleCorruptError",
            "prod",
            json!("20260202-000000"),
            bundle,
            err("BundleCorruptError"),
        ),
        (
            "json-seal-gen",
            "Our writer's bundle since the generation is sealed: seal {ts, gen} (gen is checked against the manifest by open)",
            "prod",
            json!(ts),
            br#"{"kv":{"A":"1"},"assets":{},"seal":{"ts":"20260101-120000","gen":4}}"#.to_vec(),
            ok(&["A"], json!({"A": "1"}), json!({})),
        ),
        (
            "json-seal-gen-not-integer",
            "seal.gen present but a string: the generation cannot be checked → BundleCorruptError",
            "prod",
            json!(ts),
            br#"{"kv":{"A":"1"},"assets":{},"seal":{"ts":"20260101-120000","gen":"4"}}"#.to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "json-seal-gen-negative",
            "seal.gen negative: not a generation → BundleCorruptError",
            "prod",
            json!(ts),
            br#"{"kv":{"A":"1"},"assets":{},"seal":{"ts":"20260101-120000","gen":-1}}"#.to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "json-seal-without-ts",
            "A seal without a ts string cannot be checked → BundleCorruptError",
            "prod",
            json!(ts),
            br#"{"kv":{"A":"1"},"assets":{},"seal":{"at":"20260101-120000"}}"#.to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "json-unknown-members",
            "Top-level members other than kv, assets and seal are ignored",
            "prod",
            json!(ts),
            br#"{"version":2,"kv":{"A":"1"},"assets":{},"meta":{"by":"another tool"}}"#.to_vec(),
            ok(&["A"], json!({"A": "1"}), json!({})),
        ),
        (
            "non-string-value",
            "A number value → BundleCorruptError",
            "prod",
            Value::Null,
            br#"{"PORT":8080}"#.to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "bad-asset-base64",
            "An asset that is not standard base64 → BundleCorruptError",
            "prod",
            Value::Null,
            br#"{"kv":{},"assets":{"a":"***"}}"#.to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "invalid-json",
            "Starts with { but is not JSON → BundleCorruptError",
            "prod",
            Value::Null,
            b"{\"A\":".to_vec(),
            err("BundleCorruptError"),
        ),
        (
            "unknown-shape",
            "Neither JSON, zip nor seal → BundleCorruptError",
            "prod",
            Value::Null,
            b"A=1\nB=2\n".to_vec(),
            err("BundleCorruptError"),
        ),
    ];
    for (name, desc, env, pointer_ts, bin, expected) in cases {
        out.push(vector(
            "vault-payload",
            name,
            desc,
            json!({"env": env, "pointer_ts": pointer_ts}),
            expected,
            Some(bin),
        ));
    }
}

fn bootstrap_vectors(out: &mut Vec<Vector>) {
    let cfg = sample_config().encode();
    let ok = |config: &str, pass: &str, warnings: Vec<String>| json!({"config": config, "passphrase": pass, "warnings": warnings, "error": null});
    type Case<'a> = (&'a str, &'a str, Value, Value, Value);
    let cases: Vec<Case> = vec![
        (
            "direct-values",
            "Both direct variables, taken verbatim (spaces kept)",
            json!({}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE": " pass with spaces "}),
            ok(&cfg, " pass with spaces ", vec![]),
        ),
        (
            "file-trims-trailing",
            "_FILE content loses trailing \\r \\n \\t and spaces, keeps leading ones (0600, no warning)",
            json!({"config": file(format!("{cfg}\r\n").as_bytes(), "0600"), "pass": file(b"  lead kept\t \r\n", "0600")}),
            json!({"VSYNC_CONFIG_FILE": "{dir}/config", "VSYNC_PASSPHRASE_FILE": "{dir}/pass"}),
            ok(&cfg, "  lead kept", vec![]),
        ),
        (
            "file-wins",
            "_FILE wins over the direct variable when both are set",
            json!({"pass": file(b"from-file\n", "0600")}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE": "from-env", "VSYNC_PASSPHRASE_FILE": "{dir}/pass"}),
            ok(&cfg, "from-file", vec![]),
        ),
        (
            "empty-file-var-ignored",
            "An empty _FILE variable counts as unset",
            json!({}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE": "p", "VSYNC_PASSPHRASE_FILE": ""}),
            ok(&cfg, "p", vec![]),
        ),
        (
            "group-readable-warns",
            "A 0644 file is read, with one warning line",
            json!({"pass": file(b"readable\n", "0644")}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE_FILE": "{dir}/pass"}),
            ok(&cfg, "readable", vec!["vsync: {dir}/pass is group/world-readable (mode 0644); narrow to 0600".into()]),
        ),
        (
            "world-writable-refused",
            "A 0666 file is refused → ConfigMissingError",
            json!({"pass": file(b"writable\n", "0666")}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE_FILE": "{dir}/pass"}),
            err("ConfigMissingError"),
        ),
        (
            "missing-file",
            "A _FILE path that does not exist → ConfigMissingError",
            json!({}),
            json!({"VSYNC_CONFIG_FILE": "{dir}/nope", "VSYNC_PASSPHRASE": "p"}),
            err("ConfigMissingError"),
        ),
        (
            "empty-after-trim",
            "A file holding only whitespace → ConfigMissingError",
            json!({"config": file(b" \n\r\n", "0600")}),
            json!({"VSYNC_CONFIG_FILE": "{dir}/config", "VSYNC_PASSPHRASE": "p"}),
            err("ConfigMissingError"),
        ),
        (
            "empty-direct-value",
            "An empty direct variable counts as unset → ConfigMissingError",
            json!({}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE": ""}),
            err("ConfigMissingError"),
        ),
        (
            "non-utf8-passphrase-file",
            "The passphrase file must be UTF-8 → ConfigMissingError",
            json!({"pass": file(b"\xff\xfe\xfd", "0600")}),
            json!({"VSYNC_CONFIG": cfg, "VSYNC_PASSPHRASE_FILE": "{dir}/pass"}),
            err("ConfigMissingError"),
        ),
        (
            "nothing-set",
            "Neither form of either input → ConfigMissingError (config first)",
            json!({}),
            json!({}),
            err("ConfigMissingError"),
        ),
    ];
    for (name, desc, files, env, expected) in cases {
        let mut exp = expected;
        if exp.get("config").is_none() {
            exp = json!({"config": null, "passphrase": null, "warnings": null, "error": exp["error"]});
        }
        out.push(vector("bootstrap", name, desc, json!({"files": files, "env": env}), exp, None));
    }
}

fn scenario_vectors(out: &mut Vec<Vector>) {
    let vault = json!({"DATABASE_URL": "postgres://app@db/prod", "API_TOKEN": "tok-123", "SHARED": "from-vault"});
    let assets = json!({"tls/ca.pem": hex(b"-----BEGIN CERT-----\n")});
    let queries = json!(["DATABASE_URL", "SHARED", "LOG_LEVEL", "PORT", "NOPE"]);
    let env = json!({"SHARED": "from-env", "LOG_LEVEL": "debug"});
    let defaults = json!({"PORT": "8080", "LOG_LEVEL": "info"});
    let results = json!([
        q("DATABASE_URL", Some("postgres://app@db/prod"), "vault"),
        q("SHARED", Some("from-vault"), "vault"),
        q("LOG_LEVEL", Some("debug"), "env"),
        q("PORT", Some("8080"), "default"),
        q("NOPE", None, "missing"),
    ]);
    let found = |gen: u64, layout: &str| json!({"generation": gen, "layout": layout, "results": results, "assets": {"tls/ca.pem": hex(b"-----BEGIN CERT-----\n")}, "error": null});
    let seed = |extra: Value| {
        let mut s = json!({"layout": "runtime", "env": "prod", "salt": SALT, "passphrase": PASS, "vault": vault, "assets": assets, "gen": 3, "credentials": "valid", "endpoint": "live", "tamper": null});
        if let (Some(s), Value::Object(e)) = (s.as_object_mut(), extra) {
            s.extend(e);
        }
        s
    };
    let cases: Vec<(&str, &str, &str, Value, Value)> = vec![
        (
            "runtime-layout",
            "Our writer's layout: manifest + v=<ts>, gen from x-amz-meta-gen",
            PASS,
            seed(json!({})),
            found(3, "runtime"),
        ),
        (
            "runtime-gen-from-payload",
            "Manifest without gen metadata: gen from the manifest payload",
            PASS,
            seed(json!({"tamper": "no-gen-metadata", "gen": 5})),
            found(5, "runtime"),
        ),
        (
            "cli-layout",
            "The public CLI's layout: latest + versions/<ts>.enc (zip), gen from latest.manifest",
            PASS,
            seed(json!({"layout": "cli", "gen": 7})),
            found(7, "cli"),
        ),
        (
            "cli-layout-no-gen",
            "CLI layout without latest.manifest: generation 0",
            PASS,
            seed(json!({"layout": "cli", "gen": null})),
            found(0, "cli"),
        ),
        (
            "empty-prefix",
            "Nothing under the prefix → ManifestNotFoundError",
            PASS,
            seed(json!({"layout": "none"})),
            err("ManifestNotFoundError"),
        ),
        (
            "bundle-missing",
            "The manifest names a bundle that is gone (torn bucket) → BundleCorruptError",
            PASS,
            seed(json!({"tamper": "delete-bundle"})),
            err("BundleCorruptError"),
        ),
        (
            "rollback",
            "v=<ts2> replaced by the older bundle sealed at ts1 → BundleCorruptError",
            PASS,
            seed(json!({"tamper": "rollback"})),
            err("BundleCorruptError"),
        ),
        (
            "forbidden",
            "Wrong secret key: a real 403 → S3UnreachableError",
            PASS,
            seed(json!({"credentials": "wrong-secret"})),
            err("S3UnreachableError"),
        ),
        (
            "unreachable",
            "Nothing listens on the endpoint → S3UnreachableError",
            PASS,
            seed(json!({"endpoint": "closed-port"})),
            err("S3UnreachableError"),
        ),
        (
            "wrong-passphrase",
            "Opened with another passphrase → WrongPassphraseError",
            "not the passphrase",
            seed(json!({})),
            err("WrongPassphraseError"),
        ),
        (
            "seal-ts-mismatch",
            "The bundle's seal.ts names another timestamp than the manifest → BundleCorruptError",
            PASS,
            seed(json!({"tamper": "seal-ts-mismatch"})),
            err("BundleCorruptError"),
        ),
        (
            "unsupported-envelope",
            "The bundle is an RQE2 envelope → UnsupportedSpecVersionError",
            PASS,
            seed(json!({"tamper": "envelope-version"})),
            err("UnsupportedSpecVersionError"),
        ),
        (
            "unsupported-manifest",
            "The manifest is sealed RQEM0002 → UnsupportedSpecVersionError",
            PASS,
            seed(json!({"tamper": "manifest-version"})),
            err("UnsupportedSpecVersionError"),
        ),
        (
            "corrupt-manifest",
            "The manifest is not an RQEM seal → BundleCorruptError",
            PASS,
            seed(json!({"tamper": "manifest-garbage"})),
            err("BundleCorruptError"),
        ),
    ];
    for (name, desc, pass, seed, expected) in cases {
        out.push(vector(
            "s3-scenario",
            name,
            desc,
            json!({"scenario": name, "passphrase": pass, "defaults": defaults, "env": env, "queries": queries, "assets": ["tls/ca.pem"], "seed": seed}),
            expected,
            None,
        ));
    }
}

/// The `rollback` category (SPEC §4): two pushes (gen 1 `API_KEY=old-revoked-key`, gen 2
/// `API_KEY=new-key`), then what someone with write access but no passphrase can do to the
/// manifest; opened with or without a `min_generation` floor.
fn rollback_vectors(out: &mut Vec<Vector>) {
    let new = json!({"generation": 2, "kv": {"API_KEY": "new-key"}, "error": null});
    let old = json!({"generation": 1, "kv": {"API_KEY": "old-revoked-key"}, "error": null});
    let corrupt = err("BundleCorruptError");
    let cases: Vec<(&str, &str, &str, bool, Option<u64>, Value)> = vec![
        ("sealed-gen", "Two honest pushes: the sealed generation 2 and the new key", "none", true, None, new.clone()),
        (
            "manifest-rewritten",
            "The manifest rewritten to RQEM0001<ts of gen 1>{\"gen\":99} with gen metadata 99 (no passphrase needed): the bundle seals gen 1 → BundleCorruptError, never the old key",
            "manifest-rewritten",
            true,
            None,
            corrupt.clone(),
        ),
        (
            "manifest-rewritten-no-metadata",
            "The same rewrite without gen metadata: the payload's gen 99 disagrees with the seal → BundleCorruptError",
            "manifest-rewritten-no-metadata",
            true,
            None,
            corrupt.clone(),
        ),
        (
            "gen-metadata-only",
            "The current manifest re-put with gen metadata 99: disagrees with the sealed 2 → BundleCorruptError",
            "gen-metadata-only",
            true,
            None,
            corrupt.clone(),
        ),
        (
            "replayed-pair",
            "The gen 1 manifest replayed byte for byte (metadata 1): consistent, so without a floor it opens at generation 1 — what the floor is for",
            "replay-old-manifest",
            true,
            None,
            old,
        ),
        (
            "replayed-pair-floor",
            "The same replay opened with min_generation 2 → BundleCorruptError",
            "replay-old-manifest",
            true,
            Some(2),
            corrupt.clone(),
        ),
        ("floor-met", "Honest pushes, min_generation 2: opens at generation 2", "none", true, Some(2), new.clone()),
        ("floor-above", "Honest pushes, min_generation 3 → BundleCorruptError", "none", true, Some(3), corrupt.clone()),
        (
            "unsealed-gen",
            "Bundles that seal only ts (older writers): the manifest's generation is reported",
            "none",
            false,
            None,
            new.clone(),
        ),
        (
            "unsealed-gen-floor",
            "Bundles without a sealed generation under min_generation 1: the floor cannot be checked → BundleCorruptError",
            "none",
            false,
            Some(1),
            corrupt,
        ),
        ("floor-zero", "min_generation 0 is no floor: an unsealed vault opens", "none", false, Some(0), new),
    ];
    for (name, desc, tamper, sealed, floor, expected) in cases {
        let seed = json!({
            "layout": "history",
            "env": "prod",
            "salt": SALT,
            "passphrase": PASS,
            "history": [{"API_KEY": "old-revoked-key"}, {"API_KEY": "new-key"}],
            "seal_gen": sealed,
            "tamper": tamper,
        });
        out.push(vector(
            "rollback",
            name,
            desc,
            json!({"scenario": name, "passphrase": PASS, "min_generation": floor, "seed": seed}),
            expected,
            None,
        ));
    }
}

fn all_vectors() -> Vec<Vector> {
    let mut v = Vec::new();
    rqe1_vectors(&mut v);
    rqem_vectors(&mut v);
    config_vectors(&mut v);
    chain_vectors(&mut v);
    resolved_view_vectors(&mut v);
    asset_vectors(&mut v);
    taxonomy_vectors(&mut v);
    payload_vectors(&mut v);
    bootstrap_vectors(&mut v);
    scenario_vectors(&mut v);
    rollback_vectors(&mut v);
    keyless_token_vectors(&mut v);
    v
}

/// The files of the corpus: relative path → bytes.
pub fn files() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for v in all_vectors() {
        let mut text = serde_json::to_string_pretty(&v.json).unwrap_or_default();
        text.push('\n');
        out.insert(format!("{}/{}.json", v.category, v.name), text.into_bytes());
        if let Some(bin) = v.bin {
            out.insert(format!("{}/{}.bin", v.category, v.name), bin);
        }
    }
    out
}

/// Write the corpus into `dir`, replacing the category directories it owns. Returns the number
/// of vectors.
pub fn generate(dir: &Path) -> Result<usize> {
    let io = |what: &str, p: &Path| Error::config_missing(format!("cannot {what} {}", p.display()));
    let files = files();
    let categories: std::collections::BTreeSet<&str> = files.keys().filter_map(|k| k.split('/').next()).collect();
    for c in &categories {
        let d = dir.join(c);
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(|_| io("clear", &d))?;
        }
        std::fs::create_dir_all(&d).map_err(|_| io("create", &d))?;
    }
    for (rel, bytes) in &files {
        let p = dir.join(rel);
        std::fs::write(&p, bytes).map_err(|_| io("write", &p))?;
    }
    Ok(files.keys().filter(|k| k.ends_with(".json")).count())
}

/// Seed every live vector (one with `inputs.scenario`) of the corpus at `corpus` into the
/// target bucket under `<category>/<name>/`, and write the runtime token to use as
/// `out/<category>/<name>.config`. Returns the number of scenarios seeded.
pub fn seed(corpus: &Path, target: &SeedTarget, out: &Path) -> Result<usize> {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(corpus)
        .map_err(|_| Error::config_missing(format!("cannot read corpus {}", corpus.display())))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for cat in entries {
        let Ok(files) = std::fs::read_dir(cat.path()) else { continue };
        let mut files: Vec<_> = files.filter_map(|e| e.ok()).collect();
        files.sort_by_key(|e| e.file_name());
        for f in files {
            let p = f.path();
            if p.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Ok(text) = std::fs::read(&p) else { continue };
            let Ok(v) = serde_json::from_slice::<Value>(&text) else { continue };
            let Some(scenario) = v["inputs"]["scenario"].as_str() else { continue };
            let category = cat.file_name().to_string_lossy().into_owned();
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let blob = seed_one(target, &format!("{category}/{name}/"), scenario, &v["inputs"]["seed"])?;
            let dir = out.join(&category);
            std::fs::create_dir_all(&dir)
                .map_err(|_| Error::config_missing(format!("cannot create {}", dir.display())))?;
            let cfg = dir.join(format!("{name}.config"));
            std::fs::write(&cfg, format!("{blob}\n"))
                .map_err(|_| Error::config_missing(format!("cannot write {}", cfg.display())))?;
            n += 1;
        }
    }
    Ok(n)
}

fn seed_one(target: &SeedTarget, prefix: &str, scenario: &str, seed: &Value) -> Result<String> {
    let s = |k: &str, d: &str| seed.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
    // Scenario names of the family's corpus, for vectors that carry no `seed` of ours.
    let (default_layout, default_creds) = match scenario {
        "manifest-404" => ("none", "valid"),
        "network-error-or-iam-403" => ("runtime", "wrong-secret"),
        _ => ("runtime", "valid"),
    };
    let layout = s("layout", default_layout);
    let env = s("env", "prod");
    let passphrase = s("passphrase", PASS);
    let mut config = Config {
        endpoint: target.endpoint.clone(),
        region: target.region.clone(),
        bucket: target.bucket.clone(),
        access_key_id: target.access_key_id.clone(),
        ambient_credentials: false,
        secret_access_key: zeroize::Zeroizing::new(target.secret_access_key.clone()),
        prefix: prefix.to_string(),
        env: env.clone(),
        salt: s("salt", SALT),
        iterations: DEFAULT_ITERATIONS,
    };
    let mut data = VaultData::default();
    if let Some(Value::Object(kv)) = seed.get("vault") {
        for (k, v) in kv {
            data.kv.insert(k.clone(), v.as_str().unwrap_or_default().to_string().into());
        }
    } else {
        data.kv.insert("SEEDED".into(), "yes".to_string().into());
    }
    if let Some(Value::Object(assets)) = seed.get("assets") {
        for (k, v) in assets {
            data.assets.insert(k.clone(), unhex(v.as_str().unwrap_or_default()).into());
        }
    }
    let gen = seed.get("gen").and_then(Value::as_u64);
    let tamper = s("tamper", "");
    let key = derive_key(&passphrase, &config.salt, config.iterations);
    let ts1 = "20260101-000000";
    let ts2 = "20260102-000000";
    s3::run(&config, Duration::from_secs(30), |store| async move {
        store.ensure_bucket().await?;
        match layout.as_str() {
            "none" => {}
            "cli" => {
                let dotenv: String = data.kv.iter().map(|(k, v)| format!("{k}={}\n", v.as_str())).collect();
                let assets: Vec<(&str, &[u8])> = data.assets.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
                let zip = encode_zip_payload("vault/", &env, &dotenv, &assets);
                write_cli_layout(&store, &key, &zip, ts2, gen).await?;
            }
            "history" => seed_history(&store, &key, seed, &tamper).await?,
            _ => seed_runtime(&store, &key, &data, gen.unwrap_or(1), &tamper, ts1, ts2).await?,
        }
        Ok(())
    })?;
    if s("credentials", default_creds) == "wrong-secret" {
        config.secret_access_key = zeroize::Zeroizing::new(format!("{}-wrong", target.secret_access_key));
    }
    if s("endpoint", "live") == "closed-port" {
        config.endpoint = closed_port_endpoint();
    }
    Ok(config.encode())
}

async fn seed_runtime(
    store: &Store,
    key: &Key,
    data: &VaultData,
    gen: u64,
    tamper: &str,
    ts1: &str,
    ts2: &str,
) -> Result<()> {
    if tamper == "rollback" {
        let mut old = data.clone();
        old.kv.insert("OLD".into(), "old-version".to_string().into());
        write_runtime(store, key, &old, ts1, gen.saturating_sub(1)).await?;
    }
    write_runtime(store, key, data, ts2, gen).await?;
    let bundle = format!("v={ts2}");
    match tamper {
        "rollback" => {
            let old = store.get(&format!("v={ts1}")).await?.map(|o| o.body).unwrap_or_default();
            store.put(&bundle, old, None).await?;
        }
        "delete-bundle" => store.delete(&bundle).await?,
        // The same contents, but the bundle's seal names ts1 while the manifest names ts2.
        "seal-ts-mismatch" => {
            let plain = encode_runtime_bundle(data, ts1);
            store.put(&bundle, seal_envelope(key, &plain), None).await?
        }
        "envelope-version" => {
            let mut b = store.get(&bundle).await?.map(|o| o.body).unwrap_or_default();
            if b.len() > 3 {
                b[3] = b'2';
            }
            store.put(&bundle, b, None).await?;
        }
        "manifest-version" => {
            let mut m = store.get("manifest").await?.map(|o| o.body).unwrap_or_default();
            if m.len() > 8 {
                m[4..8].copy_from_slice(b"0002");
            }
            store.put("manifest", m, Some(gen)).await?;
        }
        "manifest-garbage" => store.put("manifest", b"not a manifest at all".to_vec(), Some(gen)).await?,
        "no-gen-metadata" => {
            let m = store.get("manifest").await?.map(|o| o.body).unwrap_or_default();
            store.put("manifest", m, None).await?;
            store.delete("latest.meta").await?;
        }
        _ => {}
    }
    Ok(())
}

/// The `rollback` category's bucket: one push per `seed.history` entry (gen 1, 2, ...; bundles
/// sealed with their generation unless `seal_gen` is false), then `tamper` — what a writer
/// without the passphrase can do to the plaintext manifest.
async fn seed_history(store: &Store, key: &Key, seed: &Value, tamper: &str) -> Result<()> {
    let history = seed.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    let sealed = seed.get("seal_gen").and_then(Value::as_bool).unwrap_or(true);
    let mut manifests = Vec::new();
    for (i, kv) in history.iter().enumerate() {
        let gen = i as u64 + 1;
        let ts = format!("2026010{}-000000", gen.min(9));
        let mut data = VaultData::default();
        for (k, v) in kv.as_object().into_iter().flatten() {
            data.kv.insert(k.clone(), v.as_str().unwrap_or_default().to_string().into());
        }
        let plain = encode_sealed_bundle(&data, &ts, sealed.then_some(gen));
        store.put(&format!("v={ts}"), seal_envelope(key, &plain), None).await?;
        let manifest = seal_manifest(&ts, json!({"gen": gen, "ts": ts, "format": "json"}).to_string().as_bytes())?;
        store.put("manifest", manifest.clone(), Some(gen)).await?;
        store.put("latest.meta", json!({"gen": gen}).to_string().into_bytes(), None).await?;
        manifests.push((ts, manifest, gen));
    }
    let (Some((first_ts, first, first_gen)), Some((_, last, _))) = (manifests.first(), manifests.last()) else {
        return Ok(());
    };
    let rewritten = || seal_manifest(first_ts, br#"{"gen":99}"#);
    match tamper {
        "manifest-rewritten" => store.put("manifest", rewritten()?, Some(99)).await?,
        "manifest-rewritten-no-metadata" => store.put("manifest", rewritten()?, None).await?,
        "gen-metadata-only" => store.put("manifest", last.clone(), Some(99)).await?,
        "replay-old-manifest" => store.put("manifest", first.clone(), Some(*first_gen)).await?,
        _ => {}
    }
    Ok(())
}

/// An endpoint on 127.0.0.1 where nothing listens: bind a port, then free it.
fn closed_port_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(9);
    format!("http://127.0.0.1:{port}")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// Standard base64 (for building `{"assets": ...}` payloads in runners written in Rust).
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
