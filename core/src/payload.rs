//! The vault payload after decryption (SPEC §6): JSON `{kv, assets}` (with an optional
//! `seal`) or a flat object, an RQEM0001-wrapped payload, or a zip of the vault folder with
//! `.env.<env>` plus asset files.

use std::io::{Cursor, Read};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use indexmap::IndexMap;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::envelope::{seal_mismatch, unseal_manifest, RQEM_MAGIC};
use crate::error::{Error, Result};

/// Decoded vault contents, in payload order. Values and asset bytes are wiped on drop.
#[derive(Default, Clone)]
pub struct VaultData {
    pub kv: IndexMap<String, Zeroizing<String>>,
    pub assets: IndexMap<String, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for VaultData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultData {{ {} keys, {} assets, <redacted> }}", self.kv.len(), self.assets.len())
    }
}

/// Largest single zip entry we inflate (a guard against zip bombs in a tampered bundle).
const MAX_ZIP_ENTRY: u64 = 256 << 20;

/// Decode a decrypted payload. `pointer_ts` is the timestamp the pointer named: an RQEM0001
/// wrapper's timestamp and a JSON payload's `seal.ts` must equal it (SPEC §5, §6); `None` skips
/// both checks. `env` picks the `.env.<env>` entry of a zip.
pub fn decode_payload(plain: &[u8], pointer_ts: Option<&str>, env: &str) -> Result<VaultData> {
    if plain.starts_with(RQEM_MAGIC) || plain.starts_with(b"RQEM") {
        let (_, inner) = unseal_manifest(plain, pointer_ts)?;
        // One level of wrapping only: an inner seal is not a payload shape.
        return decode_unwrapped(inner, pointer_ts, env);
    }
    decode_unwrapped(plain, pointer_ts, env)
}

fn decode_unwrapped(plain: &[u8], pointer_ts: Option<&str>, env: &str) -> Result<VaultData> {
    if plain.starts_with(b"PK\x03\x04") || plain.starts_with(b"PK\x05\x06") {
        decode_zip(plain, env)
    } else if plain.first() == Some(&b'{') {
        decode_json(plain, pointer_ts)
    } else {
        Err(Error::corrupt("the decrypted payload is neither JSON, a zip nor an RQEM0001 seal; push the vault again"))
    }
}

fn decode_json(plain: &[u8], pointer_ts: Option<&str>) -> Result<VaultData> {
    let root: Value = serde_json::from_slice(plain)
        .map_err(|_| Error::corrupt("the vault payload is not valid UTF-8 JSON; push the vault again"))?;
    let Value::Object(mut root) = root else {
        return Err(Error::corrupt("the vault payload JSON is not an object; push the vault again"));
    };
    let mut data = VaultData::default();
    if root.contains_key("kv") || root.contains_key("assets") {
        if let Some(seal) = root.get("seal") {
            check_json_seal(seal, pointer_ts)?;
        }
        if let Some(kv) = root.remove("kv") {
            data.kv = string_map(kv, "kv")?;
        }
        if let Some(assets) = root.remove("assets") {
            for (name, b64) in string_map(assets, "assets")? {
                let bytes = STANDARD.decode(b64.as_bytes()).map_err(|_| {
                    Error::corrupt(format!("asset {name:?} is not valid standard base64; push the vault again"))
                })?;
                data.assets.insert(name, Zeroizing::new(bytes));
            }
        }
    } else {
        data.kv = string_map(Value::Object(root), "the payload")?;
    }
    Ok(data)
}

/// The bare-JSON bundle's binding to its pointer (SPEC §5): `seal` must be `{"ts": "<ts>"}` and,
/// when the pointer's timestamp is known, name it. A seal that cannot be checked is refused
/// rather than skipped: skipping it would let a rolled-back bundle through.
fn check_json_seal(seal: &Value, pointer_ts: Option<&str>) -> Result<()> {
    let Some(ts) = seal.get("ts").and_then(Value::as_str) else {
        return Err(Error::corrupt(
            "the bundle's seal is not {\"ts\": \"<timestamp>\"}, so it cannot be checked against the pointer; push again",
        ));
    };
    match pointer_ts {
        Some(expected) if ts != expected => Err(seal_mismatch(ts, expected)),
        _ => Ok(()),
    }
}

fn string_map(v: Value, what: &str) -> Result<IndexMap<String, Zeroizing<String>>> {
    let Value::Object(m) = v else {
        return Err(Error::corrupt(format!("{what} in the vault payload is not an object; push the vault again")));
    };
    let mut out = IndexMap::with_capacity(m.len());
    for (k, v) in m {
        match v {
            Value::String(s) => {
                out.insert(k, Zeroizing::new(s));
            }
            _ => {
                return Err(Error::corrupt(format!("{what}: the value of {k:?} is not a string; push the vault again")))
            }
        }
    }
    Ok(out)
}

fn decode_zip(plain: &[u8], env: &str) -> Result<VaultData> {
    fn bad<E>(_: E) -> Error {
        Error::corrupt("the vault zip is unreadable; push the vault again")
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(plain)).map_err(bad)?;
    let env_file = format!(".env.{env}");
    // The `.env.<env>` entry closest to the top decides the vault root.
    let mut env_entry: Option<(usize, String)> = None;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(bad)?;
        if !f.is_file() {
            continue;
        }
        let name = f.name().map_err(bad)?.to_string();
        if name.rsplit('/').next() == Some(env_file.as_str()) {
            let depth = name.matches('/').count();
            if env_entry.as_ref().is_none_or(|(_, n)| depth < n.matches('/').count()) {
                env_entry = Some((i, name));
            }
        }
    }
    let Some((env_index, env_name)) = env_entry else {
        return Err(Error::corrupt(format!(
            "the vault zip has no {env_file} file; push a vault folder that contains it"
        )));
    };
    let root = &env_name[..env_name.len() - env_file.len()];
    let mut data = VaultData::default();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(bad)?;
        if !f.is_file() || f.is_symlink() {
            continue;
        }
        let name = f.name().map_err(bad)?.to_string();
        let Some(rel) = name.strip_prefix(root) else { continue };
        if rel.is_empty() {
            continue;
        }
        let mut bytes = Zeroizing::new(Vec::new());
        (&mut f).take(MAX_ZIP_ENTRY + 1).read_to_end(&mut bytes).map_err(bad)?;
        if bytes.len() as u64 > MAX_ZIP_ENTRY {
            return Err(Error::corrupt(format!("zip entry {name:?} is larger than 256 MiB")));
        }
        if i == env_index {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| Error::corrupt(format!("{env_name} is not UTF-8; push the vault again")))?;
            data.kv = parse_dotenv(text);
        } else {
            data.assets.insert(rel.to_string(), bytes);
        }
    }
    Ok(data)
}

/// `.env` rules of SPEC §6: split on `\r?\n`, trim, skip blanks and `#` comments, split at the
/// first `=`, trim both sides, strip one matching pair of surrounding quotes, ignore lines
/// without `=`. A later duplicate key replaces the earlier value but keeps its position.
pub fn parse_dotenv(text: &str) -> IndexMap<String, Zeroizing<String>> {
    let mut out = IndexMap::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.trim();
        let v = ['"', '\'']
            .iter()
            .find_map(|q| v.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)).filter(|_| v.len() >= 2))
            .unwrap_or(v);
        out.insert(k.trim().to_string(), Zeroizing::new(v.to_string()));
    }
    out
}

/// The JSON payload our writer pushes: `{"kv": {...}, "assets": {name: base64}}`.
#[cfg(feature = "writer")]
pub fn encode_json_payload(data: &VaultData) -> Zeroizing<Vec<u8>> {
    use serde_json::Map;
    let mut kv = Map::new();
    for (k, v) in &data.kv {
        kv.insert(k.clone(), Value::from(v.as_str()));
    }
    let mut assets = Map::new();
    for (k, v) in &data.assets {
        assets.insert(k.clone(), Value::from(STANDARD.encode(&v[..])));
    }
    let mut root = Map::new();
    root.insert("kv".into(), Value::Object(kv));
    root.insert("assets".into(), Value::Object(assets));
    Zeroizing::new(Value::Object(root).to_string().into_bytes())
}

/// The plaintext of a runtime-layout bundle (SPEC §5): bare JSON `{"kv": {...}, "assets": {...},
/// "seal": {"ts": "<ts>"}}`. The family's readers parse the whole plaintext as one JSON object
/// and skip `seal`; ours require `seal.ts` to equal the manifest's timestamp, which is what an
/// RQEM0001 wrapper did before (and what made the family's readers fail on our bundles).
#[cfg(feature = "writer")]
pub fn encode_runtime_bundle(data: &VaultData, ts: &str) -> Zeroizing<Vec<u8>> {
    let body = encode_json_payload(data);
    // `seal` is appended as the object's last member, so the secrets are serialized once. The
    // result is copied into a buffer of its final size: growing `body` in place could leave an
    // unwiped copy of the plaintext behind in a freed allocation.
    let seal = format!(",\"seal\":{{\"ts\":{}}}}}", Value::from(ts));
    let open = body.iter().rposition(|b| *b == b'}').unwrap_or(body.len());
    let mut out = Zeroizing::new(Vec::with_capacity(open + seal.len()));
    out.extend_from_slice(&body[..open]);
    out.extend_from_slice(seal.as_bytes());
    out
}

/// A zip of a vault folder as the public CLI pushes it: `<root>.env.<env>` plus asset files.
/// Deterministic (fixed timestamps), for tests and the corpus.
#[cfg(feature = "writer")]
pub fn encode_zip_payload(root: &str, env: &str, dotenv: &str, assets: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o600);
    let mut add = |name: String, bytes: &[u8]| {
        let _ = w.start_file(name, opts);
        let _ = w.write_all(bytes);
    };
    add(format!("{root}.env.{env}"), dotenv.as_bytes());
    for (name, bytes) in assets {
        add(format!("{root}{name}"), bytes);
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::Map;

    fn kv(d: &VaultData) -> Vec<(String, String)> {
        d.kv.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    }

    #[test]
    fn dotenv_rules() {
        let m = parse_dotenv("# c\r\n\n  A = 1 \r\nB=\"two = 2\"\nC='x'\nD=\"mismatch'\nnoeq\nE=\nF=\"\n=nokey\n");
        let got: Vec<_> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            vec![("A", "1"), ("B", "two = 2"), ("C", "x"), ("D", "\"mismatch'"), ("E", ""), ("F", "\""), ("", "nokey")]
        );
    }

    #[test]
    fn json_shapes_keep_order() {
        let d = decode_payload(br#"{"Z":"1","A":"2"}"#, None, "dev").unwrap_or_default();
        assert_eq!(kv(&d), vec![("Z".into(), "1".into()), ("A".into(), "2".into())]);
        let d = decode_payload(br#"{"kv":{"K":"v"},"assets":{"f.bin":"AAE="}}"#, None, "dev").unwrap_or_default();
        assert_eq!(kv(&d), vec![("K".into(), "v".into())]);
        assert_eq!(d.assets.get("f.bin").map(|b| b.to_vec()), Some(vec![0u8, 1]));
        let only_assets = decode_payload(br#"{"assets":{}}"#, None, "dev").unwrap_or_default();
        assert!(only_assets.kv.is_empty());
        for bad in [&br#"{"A":1}"#[..], br#"{"kv":{"A":null}}"#, br#"{"assets":{"a":"!!"}}"#, b"{nope", b"xyz", b""] {
            assert_eq!(decode_payload(bad, None, "dev").unwrap_err().kind(), ErrorKind::BundleCorrupt);
        }
    }

    #[test]
    fn runtime_bundle_is_bare_json_bound_to_its_timestamp() {
        let mut data = VaultData::default();
        data.kv.insert("Z_URL".into(), "postgres://u:p=w@db/x?a=b".to_string().into());
        data.kv.insert("GREETING".into(), "héllo ✓ \"quoted\"".to_string().into());
        data.kv.insert("EMPTY".into(), String::new().into());
        data.assets.insert("tls/ca.pem".into(), b"\x00\xffPEM".to_vec().into());
        data.assets.insert("empty.bin".into(), Vec::new().into());
        let ts = "20260429-103045";
        let plain = encode_runtime_bundle(&data, ts);
        // What the family's readers do: one JSON object, members in this order.
        let root: Map<String, Value> = serde_json::from_slice(&plain).unwrap_or_default();
        assert_eq!(root.keys().collect::<Vec<_>>(), vec!["kv", "assets", "seal"]);
        assert_eq!(
            Value::Object(root),
            serde_json::json!({
                "kv": {"Z_URL": "postgres://u:p=w@db/x?a=b", "GREETING": "héllo ✓ \"quoted\"", "EMPTY": ""},
                "assets": {"tls/ca.pem": "AP9QRU0=", "empty.bin": ""},
                "seal": {"ts": ts},
            })
        );
        // What ours do: the same data back, in order, only under the timestamp it is sealed with.
        let back = decode_payload(&plain, Some(ts), "prod").unwrap_or_default();
        assert_eq!(kv(&back), kv(&data));
        assert_eq!(
            back.assets.iter().map(|(k, v)| (k.clone(), v.to_vec())).collect::<Vec<_>>(),
            vec![("tls/ca.pem".to_string(), b"\x00\xffPEM".to_vec()), ("empty.bin".to_string(), Vec::new())]
        );
        assert!(decode_payload(&plain, None, "prod").is_ok(), "no pointer (a test hook): nothing to compare");
        let err = decode_payload(&plain, Some("20260501-000000"), "prod").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BundleCorrupt);
        assert!(err.message().contains("sealed at 20260429-103045 but the pointer names 20260501-000000"), "{err}");
        // An RQEM0001 wrapper around a sealed JSON bundle: both bindings are checked.
        let wrapped = crate::envelope::seal_manifest(ts, &plain).unwrap_or_default();
        assert!(decode_payload(&wrapped, Some(ts), "prod").is_ok());
        let inner_other = encode_runtime_bundle(&data, "20260101-000000");
        let wrapped = crate::envelope::seal_manifest(ts, &inner_other).unwrap_or_default();
        assert_eq!(decode_payload(&wrapped, Some(ts), "prod").unwrap_err().kind(), ErrorKind::BundleCorrupt);
    }

    #[test]
    fn json_seal_that_cannot_be_checked_is_refused() {
        let ts = Some("20260429-103045");
        for bad in [
            &br#"{"kv":{},"seal":"20260429-103045"}"#[..],
            br#"{"kv":{},"seal":{}}"#,
            br#"{"kv":{},"seal":{"ts":20260429}}"#,
            br#"{"assets":{},"seal":null}"#,
        ] {
            for pointer in [ts, None] {
                let err = decode_payload(bad, pointer, "dev").unwrap_err();
                assert_eq!(err.kind(), ErrorKind::BundleCorrupt);
                assert!(err.message().contains("seal"), "{err}");
            }
        }
        // Bundles without a seal (older writers, other tools) still read; unknown members are skipped.
        assert!(decode_payload(br#"{"kv":{"A":"1"},"assets":{},"written_by":{"x":1}}"#, ts, "dev").is_ok());
    }

    #[test]
    fn zip_and_seal() {
        let z = encode_zip_payload("vault/", "prod", "A=1\nB='q'\n", &[("certs/ca.pem", b"PEM"), ("k.bin", b"\x00")]);
        let d = decode_payload(&z, None, "prod").unwrap_or_default();
        assert_eq!(kv(&d), vec![("A".into(), "1".into()), ("B".into(), "q".into())]);
        assert_eq!(d.assets.keys().collect::<Vec<_>>(), vec!["certs/ca.pem", "k.bin"]);
        assert_eq!(decode_payload(&z, None, "dev").unwrap_err().kind(), ErrorKind::BundleCorrupt);
        let sealed = crate::envelope::seal_manifest("20260101-000000", &z).unwrap_or_default();
        assert!(decode_payload(&sealed, Some("20260101-000000"), "prod").is_ok());
        assert_eq!(
            decode_payload(&sealed, Some("20250101-000000"), "prod").unwrap_err().kind(),
            ErrorKind::BundleCorrupt
        );
    }
}
