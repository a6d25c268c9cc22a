//! The bodies of the fuzz targets, one function per target. The libFuzzer binaries in
//! `fuzz/fuzz_targets/` and the stable regression test `core/tests/fuzz_regressions.rs` (which
//! includes this file) call these same functions, so a crash found by fuzzing is replayed on
//! stable by exactly the code that found it.
//!
//! A body returns `Ok` or the core's error; [`fuzz_one`] turns anything else into a crash: a
//! panic inside the core, an error of a class the layer must never produce (the bindings report
//! those as `VSYNC_INTERNAL`), or a broken invariant (round trips, a second reading of the same
//! bytes that disagrees with the first, a secret in a message). Nothing here derives a key with
//! the real iteration count: the envelope key comes from one PBKDF2 iteration.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use vsync_core::config::{Config, BLOB_PREFIX};
use vsync_core::envelope::{
    check_envelope_header, derive_key, open_envelope, seal_envelope_with_nonce, seal_manifest, unseal_manifest, Key,
    HEADER_LEN, MIN_ENVELOPE_LEN, NONCE_LEN, RQEM_HEADER_LEN, TS_LEN,
};
use vsync_core::hooks::MemoryObject;
use vsync_core::limits::{ObjectKind, DEFAULT_MAX_BUNDLE_BYTES, MAX_POINTER_BYTES};
use vsync_core::payload::{decode_payload, parse_dotenv, VaultData};
use vsync_core::{hooks, Error, ErrorKind, Layout, OpenOptions, Result, Source, Vault};

/// A body: the bytes libFuzzer (or a seed, or a regression file) hands in.
pub type Body = fn(&[u8]) -> Result<()>;

/// One fuzz target: its name (the binary `fuzz_targets/<name>.rs`, the directories
/// `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/`), its body, and the error classes the
/// layer it exercises may return.
pub struct Target {
    pub name: &'static str,
    pub body: Body,
    pub classes: &'static [ErrorKind],
}

const CONFIG_CLASSES: &[ErrorKind] =
    &[ErrorKind::ConfigMissing, ErrorKind::ConfigUnsupportedVersion, ErrorKind::BundleCorrupt];
const ENVELOPE_CLASSES: &[ErrorKind] =
    &[ErrorKind::BundleCorrupt, ErrorKind::UnsupportedSpecVersion, ErrorKind::WrongPassphrase];
const FORMAT_CLASSES: &[ErrorKind] = &[ErrorKind::BundleCorrupt, ErrorKind::UnsupportedSpecVersion];
const CORRUPT_ONLY: &[ErrorKind] = &[ErrorKind::BundleCorrupt];
/// What open() may report once the config is decoded and the network answered (SPEC §5, §8).
const FETCH_CLASSES: &[ErrorKind] = &[
    ErrorKind::ManifestNotFound,
    ErrorKind::BundleCorrupt,
    ErrorKind::WrongPassphrase,
    ErrorKind::UnsupportedSpecVersion,
];

pub const TARGETS: &[Target] = &[
    Target { name: "config_blob", body: config_blob, classes: CONFIG_CLASSES },
    Target { name: "config_json", body: config_json, classes: CONFIG_CLASSES },
    Target { name: "envelope", body: envelope, classes: ENVELOPE_CLASSES },
    Target { name: "manifest_seal", body: manifest_seal, classes: FORMAT_CLASSES },
    Target { name: "payload", body: payload, classes: FORMAT_CLASSES },
    Target { name: "zip_layout", body: zip_layout, classes: FORMAT_CLASSES },
    Target { name: "dotenv", body: dotenv, classes: &[] },
    Target { name: "pointer", body: pointer, classes: CORRUPT_ONLY },
    Target { name: "generation", body: generation, classes: CORRUPT_ONLY },
    Target { name: "fetch", body: fetch, classes: FETCH_CLASSES },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// What each libFuzzer binary runs: the body, then the class check. Panics (a crash for
/// libFuzzer, a failure for the stable test) on anything but `Ok` or an allowed class. Returns
/// whether the input was accepted (the stable test checks that seeds reach the success path).
pub fn fuzz_one(name: &str, data: &[u8]) -> bool {
    let Some(t) = target(name) else {
        unreachable!("no fuzz target named {name}");
    };
    let result = (t.body)(data);
    if let Err(e) = &result {
        assert!(
            t.classes.contains(&e.kind()),
            "{name}: {:?} is not one of the classes this layer may return ({:?}): {}",
            e.kind(),
            t.classes,
            e.message()
        );
        assert!(!e.message().is_empty(), "{name}: an error without a message");
    }
    result.is_ok()
}

/// The envelope target's key: PBKDF2 with one iteration, so it costs nothing per execution.
/// Seeds are sealed under it (`seeds.rs`) so the fuzzer starts from envelopes that open.
pub const FUZZ_PASSPHRASE: &str = "fuzz passphrase";
pub const FUZZ_SALT: &str = "fuzz-salt-0123456789";
pub const FUZZ_ITERATIONS: u32 = 1;

pub fn fuzz_key() -> Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| derive_key(FUZZ_PASSPHRASE, FUZZ_SALT, FUZZ_ITERATIONS)).clone()
}

/// The pointer timestamp the payload and seal targets check embedded timestamps against (the
/// one the `vault-payload` vectors seal with, so seeds reach the "timestamps agree" path).
pub const POINTER_TS: &str = "20260101-120000";
/// The environment whose `.env.<env>` a zip payload must contain (the vectors' env).
pub const ENV: &str = "prod";

// ---------------------------------------------------------------------------------------------
// VSYNC_CONFIG (SPEC §2)

/// The blob as text, exactly as a user could paste it (invalid UTF-8 replaced, since the
/// variable reaches the core as a string).
fn config_blob(data: &[u8]) -> Result<()> {
    check_config(&String::from_utf8_lossy(data), None)
}

/// The JSON inside the blob: the fuzzer mutates the JSON, the harness gzips and base64url-encodes
/// it behind the v1 prefix, so mutations reach rules 5–8 instead of dying in base64 or gzip.
fn config_json(data: &[u8]) -> Result<()> {
    // The secret key, when the JSON names it once and it is long enough not to be found by
    // chance elsewhere: no message may quote it.
    let secret = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.get("secretAccessKey").and_then(|s| s.as_str()).map(str::to_string))
        .filter(|s| s.len() >= 8 && String::from_utf8_lossy(data).matches(s.as_str()).count() == 1);
    check_config(&stored_gzip_blob(data), secret.as_deref())
}

/// `content` as a gzip member of stored (uncompressed) deflate blocks behind the v1 prefix.
/// Readers accept any gzip level (SPEC §2), so this is as valid a blob as the writer's; the
/// writer's best-level compressor costs milliseconds an input under ASan, this costs a CRC.
pub fn stored_gzip_blob(content: &[u8]) -> String {
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = content.chunks(0xffff).peekable();
    if content.is_empty() {
        gz.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        // BFINAL on the last block; BTYPE 00 (stored); LEN and its complement, little-endian.
        gz.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        gz.extend_from_slice(&len.to_le_bytes());
        gz.extend_from_slice(&(!len).to_le_bytes());
        gz.extend_from_slice(block);
    }
    let mut crc = flate2::Crc::new();
    crc.update(content);
    gz.extend_from_slice(&crc.sum().to_le_bytes());
    gz.extend_from_slice(&(content.len() as u32).to_le_bytes());
    format!("{BLOB_PREFIX}{}", URL_SAFE_NO_PAD.encode(gz))
}

fn check_config(blob: &str, secret: Option<&str>) -> Result<()> {
    let decoded = Config::decode(blob);
    // The conformance hook decodes through the same path: same outcome.
    let hooked = hooks::decode_config_json(blob);
    assert_eq!(decoded.as_ref().err().map(Error::kind), hooked.as_ref().err().map(Error::kind));
    match &decoded {
        Ok(c) => {
            // A decoded config re-encodes to a blob that decodes to the same config.
            assert_eq!(Config::decode(&c.encode()).as_ref(), Ok(c), "config round trip");
            assert!(c.iterations > 0 && c.salt.chars().count() >= 16);
            let others = [&c.endpoint, &c.region, &c.bucket, &c.access_key_id, &c.prefix, &c.env, &c.salt];
            let sk = c.secret_access_key.as_str();
            // Each rendering escapes the other fields (`\` → `\\`), which can spell the secret
            // without showing it (fuzz/regressions/config_json/debug-escaped-endpoint-equals-secret):
            // a rendering is checked only if no other field, escaped the same way, spells it.
            let spelled_by_others =
                |escape: fn(&str) -> String| others.iter().any(|o| o.contains(sk) || escape(o).contains(sk));
            if sk.len() >= 8 && !spelled_by_others(|o| format!("{o:?}")) {
                assert!(!format!("{c:?}").contains(sk), "Debug shows the secret key");
            }
            if sk.len() >= 8 && !spelled_by_others(|o| serde_json::Value::from(o).to_string()) {
                assert!(!c.to_redacted_json().to_string().contains(sk), "redacted JSON shows the secret key");
            }
        }
        Err(e) => {
            if let Some(s) = secret {
                assert!(!e.message().contains(s), "an error message quotes the secret key");
            }
        }
    }
    decoded.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// RQE1 (SPEC §3) and RQEM0001 (SPEC §4)

/// An RQE1 envelope opened with the fuzz key, three ways that must agree.
fn envelope(data: &[u8]) -> Result<()> {
    let key = fuzz_key();
    let header = check_envelope_header(data);
    let opened = open_envelope(&key, data);
    match (&header, &opened) {
        // The header decides first: open reports exactly what the header check found.
        (Err(h), Err(o)) => assert_eq!(h.kind(), o.kind(), "header and open disagree"),
        (Err(_), Ok(_)) => unreachable!("an envelope that fails the header check opened"),
        // Past the header, only GCM can fail, and that is always a wrong passphrase.
        (Ok(()), Err(o)) => assert_eq!(o.kind(), ErrorKind::WrongPassphrase),
        (Ok(()), Ok(plain)) => {
            assert_eq!(plain.len() + MIN_ENVELOPE_LEN, data.len());
            let mut nonce = [0u8; NONCE_LEN];
            nonce.copy_from_slice(&data[4..HEADER_LEN]);
            assert_eq!(seal_envelope_with_nonce(&key, plain, nonce), data, "envelope round trip");
        }
    }
    // The conformance runners' entry point (header first, then the KDF) agrees.
    let hooked = hooks::decrypt_envelope(data, FUZZ_PASSPHRASE, FUZZ_SALT, FUZZ_ITERATIONS);
    match (&opened, &hooked) {
        (Ok(a), Ok(b)) => assert_eq!(a.as_slice(), b.as_slice()),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
        _ => unreachable!("decrypt_envelope and open_envelope disagree"),
    }
    opened.map(|_| ())
}

/// An RQEM0001 seal, unchecked and checked against a pointer timestamp.
fn manifest_seal(data: &[u8]) -> Result<()> {
    let unchecked = unseal_manifest(data, None);
    let checked = unseal_manifest(data, Some(POINTER_TS));
    match &unchecked {
        Ok((ts, payload)) => {
            assert_eq!(ts.len(), TS_LEN);
            assert!(ts.is_ascii());
            assert_eq!(*payload, &data[RQEM_HEADER_LEN..]);
            assert_eq!(seal_manifest(ts, payload).as_deref(), Ok(data), "seal round trip");
            assert!(unseal_manifest(data, Some(ts)).is_ok(), "a seal refuses its own timestamp");
            match &checked {
                Ok((cts, _)) => assert_eq!(*cts, POINTER_TS),
                // Only the timestamp comparison is added: a mismatch is a rollback.
                Err(e) => {
                    assert_ne!(*ts, POINTER_TS);
                    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
                }
            }
        }
        Err(e) => assert_eq!(checked.as_ref().err().map(Error::kind), Some(e.kind())),
    }
    let hooked = hooks::unseal(data, Some(POINTER_TS));
    assert_eq!(hooked.as_ref().err().map(Error::kind), checked.as_ref().err().map(Error::kind));
    unchecked.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// The payload (SPEC §6)

/// Any decrypted payload (sniffed: RQEM0001, zip, JSON), read without and with a pointer
/// timestamp, then served through a vault handle.
fn payload(data: &[u8]) -> Result<()> {
    let unchecked = decode_payload(data, None, ENV);
    let checked = decode_payload(data, Some(POINTER_TS), ENV);
    match (&unchecked, &checked) {
        (Ok(a), Ok(b)) => assert_same_data(a, b),
        // The pointer timestamp only adds a check, and its failure is a rollback.
        (Ok(_), Err(e)) => assert_eq!(e.kind(), ErrorKind::BundleCorrupt),
        (Err(_), Ok(_)) => unreachable!("a payload decoded only once a pointer timestamp was given"),
        (Err(a), Err(b)) => assert!(
            a.kind() == b.kind() || b.kind() == ErrorKind::BundleCorrupt,
            "{:?} without a pointer, {:?} with one",
            a.kind(),
            b.kind()
        ),
    }
    if let Ok(data_read) = &unchecked {
        serve(data, data_read);
    }
    unchecked.map(|_| ())
}

fn assert_same_data(a: &VaultData, b: &VaultData) {
    assert!(a.kv.iter().map(|(k, v)| (k, v.as_str())).eq(b.kv.iter().map(|(k, v)| (k, v.as_str()))));
    assert!(a.assets.iter().map(|(k, v)| (k, v.as_slice())).eq(b.assets.iter().map(|(k, v)| (k, v.as_slice()))));
}

/// The handle over a decoded payload: every key resolves from the vault, every asset is served,
/// close wipes and later reads report "closed".
fn serve(plain: &[u8], data: &VaultData) {
    let vault = match Vault::from_payload(plain, ENV, None, OpenOptions::default()) {
        Ok(v) => v,
        Err(e) => unreachable!("the payload decoded, the vault did not: {e}"),
    };
    let mut no_env = |_: &str| None;
    let keys = vault.keys().unwrap_or_default();
    assert!(keys.iter().eq(data.kv.keys()), "keys() order differs from the payload's");
    for (k, v) in &data.kv {
        let r = vault.resolve(k, &mut no_env);
        assert!(r.is_ok_and(|r| r.source == Source::Vault && r.value.as_deref().map(String::as_str) == Some(v)));
    }
    for (name, bytes) in &data.assets {
        assert_eq!(vault.get_as_content(name).as_deref().map(Vec::as_slice), Ok(bytes.as_slice()));
    }
    vault.close();
    assert_eq!(vault.get_env("any", &mut no_env).err().map(|e| e.kind()), Some(ErrorKind::Closed));
}

/// A zip built from the input, then read as a payload: checks SPEC §6 shape 2 (which entry is
/// the `.env.<env>`, the vault root, which files become assets and under which names) against a
/// model written from the SPEC text, on well-formed archives the byte-level `payload` target
/// rarely produces.
///
/// Input: entries separated by `\0`; each is `<kind><name>\x01<content>` where kind `d` is a
/// directory, `l` a symlink (content = its target), any other byte a regular file. Names are
/// the lossy UTF-8 of their bytes; an entry the zip writer refuses (a duplicate name) is left
/// out of the archive and of the model.
fn zip_layout(data: &[u8]) -> Result<()> {
    let env_file = format!(".env.{ENV}");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated).unix_permissions(0o600);
    // The regular files written, in archive order: (name, content).
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, entry) in data.split(|b| *b == 0).enumerate() {
        let (head, content) = match entry.iter().position(|b| *b == 1) {
            Some(p) => (&entry[..p], &entry[p + 1..]),
            None => (entry, &[][..]),
        };
        let Some((kind, name)) = head.split_first() else { continue };
        let name = String::from_utf8_lossy(name).into_owned();
        match kind {
            b'd' => {
                let _ = w.add_directory(name, stored);
            }
            b'l' => {
                let _ = w.add_symlink(name, String::from_utf8_lossy(content), stored);
            }
            _ => {
                let opts = if i % 2 == 0 { deflated } else { stored };
                if w.start_file(name.as_str(), opts).is_ok() {
                    if w.write_all(content).is_err() {
                        return Ok(());
                    }
                    // The zip format calls any name ending in a slash a directory.
                    if !name.ends_with(['/', '\\']) {
                        files.push((name, content.to_vec()));
                    }
                }
            }
        }
    }
    let Ok(archive) = w.finish().map(Cursor::into_inner) else {
        return Ok(());
    };
    let got = decode_payload(&archive, None, ENV);

    // The model. The `.env.<env>` file closest to the top of the archive is the vault's (the
    // first in archive order among equally shallow ones).
    let depth = |n: &str| n.matches('/').count();
    let env_entry = files
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| n.rsplit('/').next() == Some(env_file.as_str()))
        .min_by_key(|(i, (n, _))| (depth(n), *i));
    let Some((env_index, (env_name, env_bytes))) = env_entry else {
        assert_eq!(got.as_ref().err().map(Error::kind), Some(ErrorKind::BundleCorrupt), "no {env_file}, yet decoded");
        return got.map(|_| ());
    };
    let Ok(env_text) = std::str::from_utf8(env_bytes) else {
        assert_eq!(got.as_ref().err().map(Error::kind), Some(ErrorKind::BundleCorrupt), "non-UTF-8 .env decoded");
        return got.map(|_| ());
    };
    let root = &env_name[..env_name.len() - env_file.len()];
    let want_kv = parse_dotenv(env_text);
    let want_assets: Vec<(&str, &[u8])> = files
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != env_index)
        .filter_map(|(_, (n, c))| n.strip_prefix(root).filter(|rel| !rel.is_empty()).map(|rel| (rel, c.as_slice())))
        .collect();
    match &got {
        Ok(d) => {
            assert!(d.kv.iter().map(|(k, v)| (k, v.as_str())).eq(want_kv.iter().map(|(k, v)| (k, v.as_str()))));
            let have: Vec<(&str, &[u8])> = d.assets.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
            assert_eq!(have, want_assets, "assets differ from the model (root {root:?})");
        }
        Err(e) => unreachable!("a well-formed vault zip was refused: {e}"),
    }
    got.map(|_| ())
}

/// `.env` text (SPEC §6 rules). Never fails; checks what every parsed pair must look like.
fn dotenv(data: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(data);
    let map = parse_dotenv(&text);
    for (k, v) in &map {
        assert_eq!(k.trim(), k, "a key keeps surrounding whitespace");
        assert!(!k.contains(['=', '\n']), "key {k:?} spans a separator");
        assert!(!k.starts_with('#'), "a comment line became key {k:?}");
        assert!(!v.contains('\n'), "a value spans lines");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pointer and generation (SPEC §5)

/// The CLI layout's `latest` pointer.
fn pointer(data: &[u8]) -> Result<()> {
    let r = hooks::parse_pointer(data);
    if let Ok(ts) = &r {
        assert_eq!(ts.len(), TS_LEN);
        assert!(ts.is_ascii() && !ts.contains('/'), "pointer {ts:?} could name an object outside versions/");
        assert_eq!(Some(ts.as_str()), std::str::from_utf8(data).ok().map(str::trim));
    }
    r.map(|_| ())
}

/// The generation sources that are parsed from bytes: the manifest payload's `gen` (strict)
/// and `latest.meta` / `latest.manifest` (advisory: never an error).
fn generation(data: &[u8]) -> Result<()> {
    let advisory = hooks::advisory_gen(data);
    assert!(advisory.is_ok(), "an advisory generation object failed the read");
    let strict = hooks::manifest_payload_gen(data);
    if let Ok(Some(g)) = &strict {
        assert_eq!(advisory.as_ref().ok(), Some(&Some(*g)), "the two JSON readers disagree on gen");
    }
    strict.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// The fetch path (SPEC §5) over an in-memory bucket

/// What a `fetch` record stores: the low three bits of its header byte. Declared in header
/// order, so `object as u8` is its number (0 = `Manifest` … 6 = `Named`, which
/// [`decode_fetch_records`] spells out); a new object goes last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchObject {
    Manifest,
    Latest,
    LatestMeta,
    LatestManifest,
    /// `v=<ts>`, `<ts>` being what the bucket's `manifest` names (bytes 8..23 of its seal,
    /// lossy UTF-8), or [`POINTER_TS`] when there is no such manifest.
    RuntimeBundle,
    /// `versions/<ts>.enc`, `<ts>` being the bucket's `latest` (trimmed, lossy UTF-8), or
    /// [`POINTER_TS`] when there is none.
    CliBundle,
    /// Any name: the body up to its first NUL byte is the name, the rest the object (a stale
    /// bundle beside the current one, a name the pointer does not quite match).
    Named,
}

/// One object of a `fetch` input. `seal`: the harness seals the body under the fuzz key before
/// storing it (so mutations of a plaintext payload reach the decoders past AES-GCM, as
/// `config_json` does for the blob's gzip); `pad`: the body is repeated past
/// [`MAX_POINTER_BYTES`] (the per-kind size caps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRecord {
    pub object: FetchObject,
    pub gen: Option<u64>,
    pub seal: bool,
    pub pad: bool,
    pub body: Vec<u8>,
}

const FETCH_GEN: u8 = 0x08;
const FETCH_SEAL: u8 = 0x10;
const FETCH_PAD: u8 = 0x20;
/// The nonce of the envelopes the harness seals (any fixed nonce will do: one key, no secrecy).
const FETCH_NONCE: [u8; NONCE_LEN] = [0x5a; NONCE_LEN];

/// The input format: records of a header byte (object in bits 0–2, 7 meaning [`FetchObject::Named`]
/// too; 0x08 `gen` metadata follows as 8 bytes little-endian; 0x10 seal; 0x20 pad), a 2-byte
/// little-endian body length and the body (cut short at the end of the input).
pub fn decode_fetch_records(mut data: &[u8]) -> Vec<FetchRecord> {
    let mut out = Vec::new();
    while let Some((&head, rest)) = data.split_first() {
        data = rest;
        let object = match head & 7 {
            0 => FetchObject::Manifest,
            1 => FetchObject::Latest,
            2 => FetchObject::LatestMeta,
            3 => FetchObject::LatestManifest,
            4 => FetchObject::RuntimeBundle,
            5 => FetchObject::CliBundle,
            _ => FetchObject::Named,
        };
        let mut gen = None;
        if head & FETCH_GEN != 0 {
            let Some((g, rest)) = data.split_first_chunk::<8>() else { break };
            gen = Some(u64::from_le_bytes(*g));
            data = rest;
        }
        let Some((len, rest)) = data.split_first_chunk::<2>() else { break };
        let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (body, rest) = rest.split_at(len);
        data = rest;
        out.push(FetchRecord {
            object,
            gen,
            seal: head & FETCH_SEAL != 0,
            pad: head & FETCH_PAD != 0,
            body: body.to_vec(),
        });
    }
    out
}

/// The inverse of [`decode_fetch_records`] (the seeds are written with it).
pub fn encode_fetch_records(records: &[FetchRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let flags = [(r.gen.is_some(), FETCH_GEN), (r.seal, FETCH_SEAL), (r.pad, FETCH_PAD)];
        out.push(r.object as u8 | flags.iter().filter(|(on, _)| *on).map(|(_, f)| f).sum::<u8>());
        if let Some(g) = r.gen {
            out.extend_from_slice(&g.to_le_bytes());
        }
        let body = &r.body[..r.body.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(body.len() as u16).to_le_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// The bucket a list of records describes. Pointer objects and named objects first (a later
/// record of the same name replaces an earlier one), then the bundles, named after the pointers.
pub fn fetch_bucket(records: &[FetchRecord]) -> BTreeMap<String, MemoryObject> {
    let store = |r: &FetchRecord| {
        let mut body = r.body.clone();
        if r.pad {
            let unit = if body.is_empty() { vec![b' '] } else { body.clone() };
            while body.len() as u64 <= MAX_POINTER_BYTES {
                body.extend_from_slice(&unit);
            }
        }
        if r.seal {
            body = seal_envelope_with_nonce(&fuzz_key(), &body, FETCH_NONCE);
        }
        MemoryObject { body, gen: r.gen }
    };
    let mut objects = BTreeMap::new();
    for r in records {
        let name = match r.object {
            FetchObject::Manifest => "manifest".to_string(),
            FetchObject::Latest => "latest".to_string(),
            FetchObject::LatestMeta => "latest.meta".to_string(),
            FetchObject::LatestManifest => "latest.manifest".to_string(),
            FetchObject::Named => {
                let end = r.body.iter().position(|b| *b == 0).unwrap_or(r.body.len());
                let name = String::from_utf8_lossy(&r.body[..end]).into_owned();
                let rest = FetchRecord { body: r.body.get(end + 1..).unwrap_or_default().to_vec(), ..r.clone() };
                objects.insert(name, store(&rest));
                continue;
            }
            FetchObject::RuntimeBundle | FetchObject::CliBundle => continue,
        };
        objects.insert(name, store(r));
    }
    let runtime_ts = objects
        .get("manifest")
        .and_then(|m| m.body.get(8..RQEM_HEADER_LEN))
        .map(|ts| String::from_utf8_lossy(ts).into_owned())
        .unwrap_or_else(|| POINTER_TS.to_string());
    let cli_ts = objects
        .get("latest")
        .map(|l| String::from_utf8_lossy(&l.body).trim().to_string())
        .unwrap_or_else(|| POINTER_TS.to_string());
    for r in records {
        let name = match r.object {
            FetchObject::RuntimeBundle => format!("v={runtime_ts}"),
            FetchObject::CliBundle => format!("versions/{cli_ts}.enc"),
            _ => continue,
        };
        objects.insert(name, store(r));
    }
    objects
}

/// What SPEC §5 says a read of `objects` finds, written from the SPEC text with the core's
/// format primitives (seal, pointer, envelope, payload): the layout, the pointer's timestamp,
/// the bundle's bytes and the generation, or the class of the error.
fn fetch_model(
    objects: &BTreeMap<String, MemoryObject>,
) -> std::result::Result<(Layout, String, &[u8], u64), ErrorKind> {
    // Each GET is capped by its object's kind: a pointer object over 64 KiB is corrupt.
    let get = |name: &str| -> std::result::Result<Option<&MemoryObject>, ErrorKind> {
        match objects.get(name) {
            Some(o) if o.body.len() as u64 > ObjectKind::of(name).cap(DEFAULT_MAX_BUNDLE_BYTES) => {
                Err(ErrorKind::BundleCorrupt)
            }
            o => Ok(o),
        }
    };
    // `latest.meta` / `latest.manifest`: advisory JSON, unreadable means "no generation here".
    let advisory = |o: Option<&MemoryObject>| {
        o.and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.body).ok())
            .and_then(|v| v.get("gen").and_then(serde_json::Value::as_u64))
    };
    // The runtime layout whenever `manifest` exists.
    if let Some(m) = get("manifest")? {
        let (ts, payload) = unseal_manifest(&m.body, None).map_err(|e| e.kind())?;
        // The payload: empty, or a JSON object whose integer `gen` (if any) is the generation.
        let payload_gen = if payload.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice::<serde_json::Value>(payload) {
                Ok(serde_json::Value::Object(o)) => o.get("gen").and_then(serde_json::Value::as_u64),
                _ => return Err(ErrorKind::BundleCorrupt),
            }
        };
        // A pointer to a missing bundle is a torn bucket.
        let bundle = get(&format!("v={ts}"))?.ok_or(ErrorKind::BundleCorrupt)?;
        // Metadata, then the payload, then `latest.meta`, else 0.
        let gen = match m.gen.or(payload_gen) {
            Some(g) => g,
            None => advisory(get("latest.meta")?).unwrap_or(0),
        };
        return Ok((Layout::Runtime, ts.to_string(), &bundle.body, gen));
    }
    let Some(latest) = get("latest")? else { return Err(ErrorKind::ManifestNotFound) };
    // A timestamp: 15 ASCII characters, surrounding whitespace ignored, never a `/`.
    let ts = std::str::from_utf8(&latest.body).map(str::trim).unwrap_or("");
    if ts.len() != TS_LEN || !ts.is_ascii() || ts.contains('/') {
        return Err(ErrorKind::BundleCorrupt);
    }
    let bundle = get(&format!("versions/{ts}.enc"))?.ok_or(ErrorKind::BundleCorrupt)?;
    let gen = match latest.gen {
        Some(g) => g,
        None => advisory(get("latest.manifest")?).unwrap_or(0),
    };
    Ok((Layout::Cli, ts.to_string(), &bundle.body, gen))
}

/// `open()` over an in-memory bucket built from the input (see [`decode_fetch_records`]), with
/// the fuzz key, against [`fetch_model`]: the same class on failure; on success the model's
/// layout and generation, and exactly the contents of the bundle the pointer names (decrypted
/// and decoded against the pointer's timestamp), then `close()`.
fn fetch(data: &[u8]) -> Result<()> {
    let objects = fetch_bucket(&decode_fetch_records(data));
    let key = fuzz_key();
    let got = hooks::open_from_memory(&objects, &key, ENV);
    let want = fetch_model(&objects).and_then(|(layout, ts, bundle, gen)| {
        check_envelope_header(bundle).map_err(|e| e.kind())?;
        let plain = open_envelope(&key, bundle).map_err(|e| e.kind())?;
        let data = decode_payload(&plain, Some(&ts), ENV).map_err(|e| e.kind())?;
        Ok((layout, gen, data))
    });
    match (&got, &want) {
        (Err(e), Err(k)) => assert_eq!(e.kind(), *k, "open_from_memory and the SPEC model disagree: {}", e.message()),
        (Err(e), Ok(_)) => unreachable!("the SPEC model reads this bucket, open_from_memory did not: {e}"),
        (Ok(_), Err(k)) => unreachable!("open_from_memory read a bucket the SPEC model refuses ({k:?})"),
        (Ok(vault), Ok((layout, gen, data))) => {
            assert_eq!(vault.layout(), Some(*layout));
            assert_eq!(vault.generation().ok(), Some(*gen));
            let mut no_env = |_: &str| None;
            assert!(vault.keys().unwrap_or_default().iter().eq(data.kv.keys()), "keys differ from the bundle's");
            for (k, v) in &data.kv {
                let r = vault.resolve(k, &mut no_env);
                assert!(r.is_ok_and(|r| r.source == Source::Vault && r.value.as_deref() == Some(v)));
            }
            for (name, bytes) in &data.assets {
                assert_eq!(vault.get_as_content(name).as_deref().map(Vec::as_slice), Ok(bytes.as_slice()));
            }
            vault.close();
            assert_eq!(vault.generation().err().map(|e| e.kind()), Some(ErrorKind::Closed));
        }
    }
    got.map(|_| ())
}
