//! The vault payload after decryption (SPEC §6): JSON `{kv, assets}` (with an optional
//! `seal`) or a flat object, an RQEM0001-wrapped payload, or a zip of the vault folder with
//! `.env.<env>` plus asset files.

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use indexmap::IndexMap;
use serde_json::value::RawValue;
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

/// Decode a decrypted payload. `pointer_ts` is the timestamp the pointer named: an RQEM0001
/// wrapper's timestamp and a JSON payload's `seal.ts` must equal it (SPEC §5, §6); `None` skips
/// both checks. `env` picks the `.env.<env>` entry of a zip. The decoded contents are capped at
/// `limits::DEFAULT_MAX_BUNDLE_BYTES` (see [`decode_payload_capped`]).
pub fn decode_payload(plain: &[u8], pointer_ts: Option<&str>, env: &str) -> Result<VaultData> {
    decode_payload_capped(plain, pointer_ts, env, crate::limits::DEFAULT_MAX_BUNDLE_BYTES)
}

/// [`decode_payload`] with a cap on the decoded contents: the sum of a zip's inflated entries may
/// not exceed `max_bytes` (a zip bomb in a tampered bundle stops there). JSON needs no separate
/// cap: its decoded contents are never larger than the plaintext, itself capped by the bundle's.
pub fn decode_payload_capped(plain: &[u8], pointer_ts: Option<&str>, env: &str, max_bytes: u64) -> Result<VaultData> {
    decode_payload_sealed(plain, pointer_ts, env, max_bytes).map(|(data, _)| data)
}

/// [`decode_payload_capped`] that also returns the generation sealed inside the bundle
/// (`seal.gen`, SPEC §5), `None` when the payload carries none (bundles of the family's tools
/// and of our writer before it sealed the generation, zips, RQEM0001-wrapped payloads).
pub fn decode_payload_sealed(
    plain: &[u8],
    pointer_ts: Option<&str>,
    env: &str,
    max_bytes: u64,
) -> Result<(VaultData, Option<u64>)> {
    if plain.starts_with(RQEM_MAGIC) || plain.starts_with(b"RQEM") {
        let (_, inner) = unseal_manifest(plain, pointer_ts)?;
        // One level of wrapping only: an inner seal is not a payload shape.
        return decode_unwrapped(inner, pointer_ts, env, max_bytes);
    }
    decode_unwrapped(plain, pointer_ts, env, max_bytes)
}

fn decode_unwrapped(
    plain: &[u8],
    pointer_ts: Option<&str>,
    env: &str,
    max_bytes: u64,
) -> Result<(VaultData, Option<u64>)> {
    if plain.starts_with(b"PK\x03\x04") || plain.starts_with(b"PK\x05\x06") {
        decode_zip(plain, env, max_bytes).map(|d| (d, None))
    } else if plain.first() == Some(&b'{') {
        decode_json(plain, pointer_ts)
    } else {
        Err(Error::corrupt("the decrypted payload is neither JSON, a zip nor an RQEM0001 seal; push the vault again"))
    }
}

fn decode_json(plain: &[u8], pointer_ts: Option<&str>) -> Result<(VaultData, Option<u64>)> {
    // Members are kept as raw JSON slices of `plain` (zeroized by the caller) and only string
    // values are unescaped, by `unescape_into`, into zeroizing buffers: serde_json would unescape
    // a value with an escape (`\"`, `\n`, `\u..`) in its scratch buffer, which it frees unwiped
    // (issue 12 #9). serde_json still parses and validates; keys go through its scratch, and key
    // names are not secret (SPEC §9).
    let mut root = raw_object(plain)
        .map_err(|_| Error::corrupt("the vault payload is not valid UTF-8 JSON; push the vault again"))?
        .ok_or_else(|| Error::corrupt("the vault payload JSON is not an object; push the vault again"))?;
    let mut data = VaultData::default();
    let mut sealed_gen = None;
    if root.contains_key("kv") || root.contains_key("assets") {
        if let Some(seal) = root.get("seal") {
            sealed_gen = check_json_seal(seal, pointer_ts)?;
        }
        if let Some(kv) = root.shift_remove("kv") {
            data.kv = string_map(kv, "kv")?;
        }
        if let Some(assets) = root.shift_remove("assets") {
            for (name, b64) in string_map(assets, "assets")? {
                let mut bytes = Zeroizing::new(Vec::with_capacity(b64.len() / 4 * 3 + 3));
                STANDARD.decode_vec(b64.as_bytes(), &mut bytes).map_err(|_| {
                    Error::corrupt(format!("asset {name:?} is not valid standard base64; push the vault again"))
                })?;
                data.assets.insert(name, bytes);
            }
        }
    } else {
        data.kv = string_map_of(root, "the payload")?;
    }
    Ok((data, sealed_gen))
}

/// The bare-JSON bundle's binding to its pointer (SPEC §5): `seal` must be `{"ts": "<ts>"}`
/// (plus, from writers that seal it, `"gen": N`) and, when the pointer's timestamp is known, name
/// it. Returns the sealed generation. A seal that cannot be checked is refused rather than
/// skipped: skipping it would let a rolled-back bundle through.
fn check_json_seal(seal: &RawValue, pointer_ts: Option<&str>) -> Result<Option<u64>> {
    // The seal is not secret: a plain serde_json value is fine here.
    let seal: Value = serde_json::from_str(seal.get()).unwrap_or(Value::Null);
    let Some(ts) = seal.get("ts").and_then(Value::as_str) else {
        return Err(Error::corrupt(
            "the bundle's seal is not {\"ts\": \"<timestamp>\"}, so it cannot be checked against the pointer; push again",
        ));
    };
    if let Some(expected) = pointer_ts.filter(|expected| ts != *expected) {
        return Err(seal_mismatch(ts, expected));
    }
    match seal.get("gen") {
        None => Ok(None),
        Some(g) => g.as_u64().map(Some).ok_or_else(|| {
            Error::corrupt(
                "the bundle's seal.gen is not a non-negative integer, so the generation cannot be checked; push again",
            )
        }),
    }
}

/// A JSON document's members in document order as raw JSON text (a later duplicate replaces the
/// earlier value in the earlier position, as serde_json's ordered map does). `Ok(None)` when the
/// JSON is valid but not an object.
fn raw_object(json: &[u8]) -> std::result::Result<Option<IndexMap<String, &RawValue>>, serde_json::Error> {
    serde_json::from_slice::<RawMembers<'_>>(json).map(|m| m.0)
}

/// What `raw_object` deserializes: the members of an object, or `None` for any other value.
struct RawMembers<'a>(Option<IndexMap<String, &'a RawValue>>);

impl<'de> serde::Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(RawMembersVisitor)
    }
}

struct RawMembersVisitor;

impl<'de> serde::de::Visitor<'de> for RawMembersVisitor {
    type Value = RawMembers<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> std::result::Result<Self::Value, A::Error> {
        let mut out = IndexMap::new();
        while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
            out.insert(k, v);
        }
        Ok(RawMembers(Some(out)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> std::result::Result<Self::Value, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(RawMembers(None))
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(RawMembers(None))
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(RawMembers(None))
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(RawMembers(None))
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(RawMembers(None))
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(RawMembers(None))
    }

    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(RawMembers(None))
    }
}

/// A raw member that must be an object of string → string.
fn string_map(v: &RawValue, what: &str) -> Result<IndexMap<String, Zeroizing<String>>> {
    let members = raw_object(v.get().as_bytes())
        .ok()
        .flatten()
        .ok_or_else(|| Error::corrupt(format!("{what} in the vault payload is not an object; push the vault again")))?;
    string_map_of(members, what)
}

fn string_map_of(members: IndexMap<String, &RawValue>, what: &str) -> Result<IndexMap<String, Zeroizing<String>>> {
    let mut out = IndexMap::with_capacity(members.len());
    for (k, v) in members {
        let Some(value) = unescape_into(v.get()) else {
            return Err(Error::corrupt(format!("{what}: the value of {k:?} is not a string; push the vault again")));
        };
        out.insert(k, value);
    }
    Ok(out)
}

/// The value of a raw JSON string literal (already validated by serde_json), unescaped into a
/// zeroizing buffer sized once (a value is never longer than its literal). `None` when `raw` is
/// not a string literal or holds a lone surrogate escape.
fn unescape_into(raw: &str) -> Option<Zeroizing<String>> {
    let body = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Zeroizing::new(String::with_capacity(body.len()));
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                char::from_u32(code)?
            }
            _ => return None,
        };
        out.push(decoded);
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

fn decode_zip(plain: &[u8], env: &str, max_bytes: u64) -> Result<VaultData> {
    fn bad<E>(_: E) -> Error {
        Error::corrupt("the vault zip is unreadable; push the vault again")
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(plain)).map_err(bad)?;
    let env_file = format!(".env.{env}");
    // Every entry's metadata, and the `.env.<env>` entry closest to the top (it decides the root).
    let mut entries = Vec::with_capacity(zip.len());
    let mut env_entry: Option<(usize, usize)> = None;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(bad)?;
        let entry = ZipEntry {
            name: f.name().map_err(bad)?.to_string(),
            regular: f.is_file() && !f.is_symlink(),
            method: f.compression(),
            data_start: f.data_start().ok_or_else(|| bad(()))?,
            compressed: f.compressed_size(),
            size: f.size(),
            crc32: f.crc32(),
        };
        if entry.regular && entry.name.rsplit('/').next() == Some(env_file.as_str()) {
            let depth = entry.name.matches('/').count();
            if env_entry.is_none_or(|(_, d)| depth < d) {
                env_entry = Some((i, depth));
            }
        }
        entries.push(entry);
    }
    let Some((env_index, _)) = env_entry else {
        return Err(Error::corrupt(format!(
            "the vault zip has no {env_file} file; push a vault folder that contains it"
        )));
    };
    let env_name = entries[env_index].name.clone();
    let root = &env_name[..env_name.len() - env_file.len()];
    let mut data = VaultData::default();
    // What is left of the cap on the inflated total; every entry draws from it.
    let mut budget = max_bytes;
    for (i, entry) in entries.iter().enumerate() {
        let Some(rel) = entry.name.strip_prefix(root).filter(|r| entry.regular && !r.is_empty()) else {
            continue;
        };
        if entry.size > budget {
            return Err(Error::corrupt(format!(
                "the vault zip inflates to more than {max_bytes} bytes (at entry {:?}); it is damaged or a zip \
                 bomb; push again, or raise {} if the vault is really this large",
                entry.name,
                crate::limits::MAX_BUNDLE_ENV
            )));
        }
        let bytes = inflate_entry(plain, entry).ok_or_else(|| {
            Error::corrupt(format!("zip entry {:?} is damaged (size or checksum mismatch); push again", entry.name))
        })?;
        budget -= entry.size;
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

/// What the central directory says about one zip entry.
struct ZipEntry {
    name: String,
    regular: bool,
    method: zip::CompressionMethod,
    data_start: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
}

/// An entry's contents, inflated straight from the (zeroizing) plaintext into one zeroizing
/// buffer of exactly the declared size, then checked against the declared size and CRC-32.
/// Not through `zip`'s reader: its inflater keeps a 32 KiB window of plaintext in a buffer it
/// frees unwiped, and its `read_to_end` callers regrow buffers (issue 12 #9). With a
/// non-wrapping output buffer, miniz_oxide uses the output itself as the window.
fn inflate_entry(plain: &[u8], entry: &ZipEntry) -> Option<Zeroizing<Vec<u8>>> {
    let start = usize::try_from(entry.data_start).ok()?;
    let raw = plain.get(start..start.checked_add(usize::try_from(entry.compressed).ok()?)?)?;
    let size = usize::try_from(entry.size).ok()?;
    let mut out = Zeroizing::new(vec![0u8; size]);
    match entry.method {
        zip::CompressionMethod::Stored if raw.len() == size => out.copy_from_slice(raw),
        zip::CompressionMethod::Deflated => {
            use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
            use miniz_oxide::inflate::TINFLStatus;
            let mut state = Box::<DecompressorOxide>::default();
            let (status, _, written) =
                decompress(&mut state, raw, &mut out, 0, inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF);
            if status != TINFLStatus::Done || written != size {
                return None;
            }
        }
        _ => return None,
    }
    (crc32fast::hash(&out) == entry.crc32).then_some(out)
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
/// "seal": {"ts": "<ts>"}}`, without a sealed generation (what our writer wrote before it sealed
/// one; kept for tests, fuzz seeds and the corpus). The writer uses [`encode_sealed_bundle`].
#[cfg(feature = "writer")]
pub fn encode_runtime_bundle(data: &VaultData, ts: &str) -> Zeroizing<Vec<u8>> {
    encode_sealed_bundle(data, ts, None)
}

/// The plaintext of a runtime-layout bundle as our writer pushes it (SPEC §5): bare JSON
/// `{"kv": {...}, "assets": {...}, "seal": {"ts": "<ts>", "gen": N}}`. The family's readers parse
/// the whole plaintext as one JSON object and skip `seal`; ours require `seal.ts` to equal the
/// manifest's timestamp (what an RQEM0001 wrapper did before, and what made the family's readers
/// fail on our bundles) and `seal.gen` to equal the generation the manifest claims: the manifest
/// is plaintext anyone with write access can rewrite, the seal is inside the ciphertext.
#[cfg(feature = "writer")]
pub fn encode_sealed_bundle(data: &VaultData, ts: &str, gen: Option<u64>) -> Zeroizing<Vec<u8>> {
    let body = encode_json_payload(data);
    // `seal` is appended as the object's last member, so the secrets are serialized once. The
    // result is copied into a buffer of its final size: growing `body` in place could leave an
    // unwiped copy of the plaintext behind in a freed allocation.
    let seal = match gen {
        Some(g) => format!(",\"seal\":{{\"ts\":{},\"gen\":{g}}}}}", Value::from(ts)),
        None => format!(",\"seal\":{{\"ts\":{}}}}}", Value::from(ts)),
    };
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
    use std::io::Write;

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
    fn the_generation_is_sealed_beside_the_timestamp() {
        let mut data = VaultData::default();
        data.kv.insert("API_KEY".into(), "k".to_string().into());
        let ts = "20260429-103045";
        let plain = encode_sealed_bundle(&data, ts, Some(42));
        // The family's view: one JSON object; `seal` keeps `ts` and gains `gen`.
        let root: Value = serde_json::from_slice(&plain).unwrap_or_default();
        assert_eq!(root["seal"], serde_json::json!({"ts": ts, "gen": 42}));
        let sealed = |p: &[u8]| decode_payload_sealed(p, Some(ts), "prod", 1 << 20).map(|(_, g)| g);
        assert_eq!(sealed(&plain).ok(), Some(Some(42)));
        assert_eq!(sealed(&encode_runtime_bundle(&data, ts)).ok(), Some(None));
        assert_eq!(sealed(br#"{"kv":{}}"#).ok(), Some(None));
        for bad in [
            &br#"{"kv":{},"seal":{"ts":"20260429-103045","gen":"42"}}"#[..],
            br#"{"kv":{},"seal":{"ts":"20260429-103045","gen":-1}}"#,
            br#"{"kv":{},"seal":{"ts":"20260429-103045","gen":1.5}}"#,
            br#"{"kv":{},"seal":{"ts":"20260429-103045","gen":null}}"#,
        ] {
            assert_eq!(sealed(bad).unwrap_err().kind(), ErrorKind::BundleCorrupt);
        }
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
    fn json_escapes_are_decoded_like_serde_json() {
        let doc = r#"{"kv":{"Q":"a\"b","NL":"l1\nl2\t\r\b\f\/\\","U":"\u00e9\ud83d\ude00\u0000","P":"plain"}}"#;
        let d = decode_payload(doc.as_bytes(), None, "dev").unwrap_or_default();
        let reference: Value = serde_json::from_str(doc).unwrap_or_default();
        for (k, v) in &d.kv {
            assert_eq!(Some(v.as_str()), reference["kv"][k].as_str(), "{k}");
        }
        assert_eq!(d.kv.len(), 4);
        // Duplicates: the later value, in the earlier position (serde_json's ordered map does so).
        let d = decode_payload(br#"{"A":"1","B":"2","A":"3"}"#, None, "dev").unwrap_or_default();
        assert_eq!(kv(&d), vec![("A".into(), "3".into()), ("B".into(), "2".into())]);
        // Escaped asset base64 (`\/` is a legal escape of `/`).
        let d = decode_payload(br#"{"assets":{"a":"\/w=="}}"#, None, "dev").unwrap_or_default();
        assert_eq!(d.assets.get("a").map(|b| b.to_vec()), Some(vec![0xff]));
        for bad in [
            &br#"{"kv":{"A":"\ud83d"}}"#[..],
            br#"{"kv":{"A":"\ude00x"}}"#,
            br#"{"kv":{"A":"\ud83d\u0041"}}"#,
            br#"{"kv":{"A":"\x"}}"#,
            br#"{"kv":{"A":["x"]}}"#,
            br#"{"kv":"x"}"#,
            br#"{"kv":{"A":"x"}"#,
            br#"["kv"]"#,
            br#"{"A":"x"} trailing"#,
            b"{\"A\":\"\xff\"}",
        ] {
            assert_eq!(
                decode_payload(bad, None, "dev").unwrap_err().kind(),
                ErrorKind::BundleCorrupt,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn zip_inflation_is_capped_in_total() {
        // Five 1 MiB entries of zeros: each deflates to about 1 KiB, each is under any per-entry
        // bound, together they inflate to 5 MiB.
        let zeros = vec![0u8; 1 << 20];
        let assets: Vec<(String, &[u8])> = (0..5).map(|i| (format!("blob{i}"), &zeros[..])).collect();
        let refs: Vec<(&str, &[u8])> = assets.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let z = encode_zip_payload("", "prod", "A=1\n", &refs);
        assert!(z.len() < 64 << 10, "the zip is small: {}", z.len());
        let e = decode_payload_capped(&z, None, "prod", 3 << 20).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
        assert!(e.message().contains("inflates to more than 3145728 bytes"), "{}", e.message());
        let d = decode_payload_capped(&z, None, "prod", 6 << 20).unwrap_or_default();
        assert_eq!(d.assets.len(), 5);
        assert!(d.assets.values().all(|b| b.len() == 1 << 20 && b.iter().all(|x| *x == 0)));
        // The default cap (64 MiB) lets it through too.
        assert_eq!(decode_payload(&z, None, "prod").map(|d| d.assets.len()).ok(), Some(5));
    }

    #[test]
    fn zip_entries_are_checked_against_size_and_crc() {
        let z = encode_zip_payload("v/", "prod", "SECRET=abc\n", &[("f", b"0123456789")]);
        // Flip one byte of the stored CRC-32 of the first entry in the central directory.
        let cd = z.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap_or(0);
        let mut bad = z.clone();
        bad[cd + 16] ^= 0xff;
        assert_eq!(decode_payload(&bad, None, "prod").unwrap_err().kind(), ErrorKind::BundleCorrupt);
        // Stored (uncompressed) entries are read too.
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let _ = w.start_file(".env.prod", opts);
        let _ = w.write_all(b"K=stored\n");
        let stored = w.finish().map(|c| c.into_inner()).unwrap_or_default();
        let d = decode_payload(&stored, None, "prod").unwrap_or_default();
        assert_eq!(kv(&d), vec![("K".into(), "stored".into())]);
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
