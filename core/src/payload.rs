//! The vault payload after decryption (SPEC §6): JSON `{kv, assets}` or a flat object, an
//! RQEM0001-wrapped payload, or a zip of the vault folder with `.env.<env>` plus asset files.

use std::io::{Cursor, Read};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use indexmap::IndexMap;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::envelope::{unseal_manifest, RQEM_MAGIC};
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

/// Decode a decrypted payload. `pointer_ts` is the timestamp the pointer named (required to
/// match an RQEM0001 wrapper); `env` picks the `.env.<env>` entry of a zip.
pub fn decode_payload(plain: &[u8], pointer_ts: Option<&str>, env: &str) -> Result<VaultData> {
    if plain.starts_with(RQEM_MAGIC) || plain.starts_with(b"RQEM") {
        let (_, inner) = unseal_manifest(plain, pointer_ts)?;
        // One level of wrapping only: an inner seal is not a payload shape.
        return decode_unwrapped(inner, env);
    }
    decode_unwrapped(plain, env)
}

fn decode_unwrapped(plain: &[u8], env: &str) -> Result<VaultData> {
    if plain.starts_with(b"PK\x03\x04") || plain.starts_with(b"PK\x05\x06") {
        decode_zip(plain, env)
    } else if plain.first() == Some(&b'{') {
        decode_json(plain)
    } else {
        Err(Error::corrupt("the decrypted payload is neither JSON, a zip nor an RQEM0001 seal; push the vault again"))
    }
}

fn decode_json(plain: &[u8]) -> Result<VaultData> {
    let root: Value = serde_json::from_slice(plain)
        .map_err(|_| Error::corrupt("the vault payload is not valid UTF-8 JSON; push the vault again"))?;
    let Value::Object(mut root) = root else {
        return Err(Error::corrupt("the vault payload JSON is not an object; push the vault again"));
    };
    let mut data = VaultData::default();
    if root.contains_key("kv") || root.contains_key("assets") {
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
