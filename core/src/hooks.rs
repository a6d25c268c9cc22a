//! Entry points for the conformance runners of every language. They expose the format layers
//! one by one (envelope, seal, config) so each binding's runner can check the family's vectors
//! through its own error mapping; no binding re-implements any of it.

use zeroize::Zeroizing;

use crate::config::Config;
use crate::envelope::{check_envelope_header, derive_key, open_envelope, unseal_manifest};
use crate::error::Result;

/// Decrypt an RQE1 envelope with a passphrase and salt string (`rqe1-decrypt` vectors).
pub fn decrypt_envelope(envelope: &[u8], passphrase: &str, salt: &str, iterations: u32) -> Result<Zeroizing<Vec<u8>>> {
    // Header errors win over key errors, and cost no key derivation.
    check_envelope_header(envelope)?;
    let key = derive_key(passphrase, salt, iterations);
    open_envelope(&key, envelope)
}

/// Unwrap an RQEM0001 seal checked against `remote_ts` (`rqem0001-manifest` vectors).
pub fn unseal(sealed: &[u8], remote_ts: Option<&str>) -> Result<(String, Vec<u8>)> {
    unseal_manifest(sealed, remote_ts).map(|(ts, p)| (ts.to_string(), p.to_vec()))
}

/// Decode a config blob to its JSON object text (`config-blob` vectors). The text contains the
/// secret key: it exists for conformance checks only.
pub fn decode_config_json(blob: &str) -> Result<String> {
    Config::decode(blob).map(|c| c.to_json().to_string())
}

/// Resolve the bootstrap inputs from an explicit environment map (`bootstrap` vectors):
/// returns (config, passphrase, warnings). Unlike `open`, warnings are returned, not printed.
pub fn resolve_bootstrap(
    env: &std::collections::HashMap<String, String>,
) -> Result<(Zeroizing<String>, Zeroizing<String>, Vec<String>)> {
    let b = crate::bootstrap::resolve(&|k| env.get(k).cloned())?;
    Ok((b.config, b.passphrase, b.warnings))
}

/// The CLI layout's `latest` pointer parser (SPEC §5): the timestamp it names. For the fuzz
/// targets (`fuzz/`), which feed it arbitrary bytes.
pub fn parse_pointer(body: &[u8]) -> Result<String> {
    crate::vault::pointer_ts(body)
}

/// The manifest payload's `gen` (SPEC §5, second source of the generation), for the fuzz targets.
pub fn manifest_payload_gen(payload: &[u8]) -> Result<Option<u64>> {
    crate::vault::manifest_payload_gen(payload)
}

/// The advisory `latest.meta` / `latest.manifest` JSON `gen` (SPEC §5, third source), for the
/// fuzz targets.
pub fn advisory_gen(body: &[u8]) -> Result<Option<u64>> {
    crate::vault::json_gen(Some(crate::s3::Object { body: body.to_vec(), gen: None }))
}

/// One object of an in-memory bucket: its bytes and its `gen` user metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryObject {
    pub body: Vec<u8>,
    pub gen: Option<u64>,
}

/// open()'s fetch + decrypt + decode over `objects` (names without the prefix) instead of S3:
/// the same code path (runtime layout then CLI layout, size caps with the default bundle cap,
/// generation rules, torn-bucket checks), minus the network and the key derivation. For
/// fuzzing and tests; the vault has no remote (`remote_generation` is `ConfigMissingError`).
pub fn open_from_memory(
    objects: &std::collections::BTreeMap<String, MemoryObject>,
    key: &[u8; 32],
    env: &str,
) -> Result<crate::Vault> {
    let source = MemorySource { objects, max_bundle: crate::limits::DEFAULT_MAX_BUNDLE_BYTES };
    let fetched = poll_ready(crate::vault::fetch(&source))?;
    let key: Box<crate::envelope::Key> = Box::new(Zeroizing::new(*key));
    let (data, gen) = crate::vault::decrypt_fetched(&fetched, &key, env, source.max_bundle, None)?;
    let options = crate::OpenOptions { max_bundle_bytes: Some(source.max_bundle), ..crate::OpenOptions::default() };
    Ok(crate::Vault::new(data, env.to_string(), gen, None, options, Some(fetched.layout)))
}

/// An in-memory bucket behind the fetch path's `ObjectSource`: what a GET of a present object
/// returns, with the same per-kind caps as S3 (checked as `Content-Length` would be).
struct MemorySource<'a> {
    objects: &'a std::collections::BTreeMap<String, MemoryObject>,
    max_bundle: u64,
}

impl crate::s3::ObjectSource for MemorySource<'_> {
    fn key(&self, name: &str) -> String {
        name.to_string()
    }

    async fn get(&self, name: &str) -> Result<Option<crate::s3::Object>> {
        let Some(o) = self.objects.get(name) else { return Ok(None) };
        let kind = crate::limits::ObjectKind::of(name);
        let cap = kind.cap(self.max_bundle);
        if o.body.len() as u64 > cap {
            return Err(crate::limits::too_large(name, Some(o.body.len() as u64), cap, kind));
        }
        Ok(Some(crate::s3::Object { body: o.body.clone(), gen: o.gen }))
    }

    async fn head(&self, name: &str) -> Result<Option<crate::s3::Head>> {
        Ok(self.objects.get(name).map(|o| crate::s3::Head { gen: o.gen }))
    }
}

/// Drive a future that never waits (the in-memory source answers at once) without a runtime.
fn poll_ready<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => {
            Err(crate::Error::unreachable("internal: the in-memory fetch path waited, which it never should"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{seal_envelope, seal_manifest};
    use crate::error::ErrorKind;
    use std::collections::BTreeMap;

    const KEY: [u8; 32] = [7; 32];
    const TS: &str = "20260102-030405";

    fn obj(body: Vec<u8>, gen: Option<u64>) -> MemoryObject {
        MemoryObject { body, gen }
    }

    fn runtime_bucket(payload_gen: &str, meta_gen: Option<u64>) -> BTreeMap<String, MemoryObject> {
        let key = Zeroizing::new(KEY);
        let bundle = format!(r#"{{"kv":{{"K":"v"}},"seal":{{"ts":"{TS}"}}}}"#);
        let mut m = BTreeMap::new();
        m.insert("manifest".into(), obj(seal_manifest(TS, payload_gen.as_bytes()).unwrap_or_default(), meta_gen));
        m.insert(format!("v={TS}"), obj(seal_envelope(&key, bundle.as_bytes()), None));
        m
    }

    fn kind(objects: &BTreeMap<String, MemoryObject>) -> ErrorKind {
        open_from_memory(objects, &KEY, "prod").map(|_| ()).unwrap_err().kind()
    }

    #[test]
    fn runtime_layout_and_generation_rules() {
        let m = runtime_bucket(r#"{"gen":3}"#, None);
        let v = open_from_memory(&m, &KEY, "prod").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.get_env("K", &mut |_| None).ok().flatten().map(|s| s.to_string()), Some("v".into()));
        assert_eq!(v.generation().ok(), Some(3));
        assert_eq!(v.layout(), Some(crate::Layout::Runtime));
        assert_eq!(v.remote_generation().unwrap_err().kind(), ErrorKind::ConfigMissing);
        // Metadata wins over the payload; latest.meta is the last resort; else 0.
        let v = open_from_memory(&runtime_bucket(r#"{"gen":3}"#, Some(9)), &KEY, "prod").ok();
        assert_eq!(v.map(|v| v.generation().ok()), Some(Some(9)));
        let mut m = runtime_bucket("", None);
        m.insert("latest.meta".into(), obj(br#"{"gen":5}"#.to_vec(), None));
        assert_eq!(open_from_memory(&m, &KEY, "prod").ok().map(|v| v.generation().ok()), Some(Some(5)));
        let m = runtime_bucket("", None);
        assert_eq!(open_from_memory(&m, &KEY, "prod").ok().map(|v| v.generation().ok()), Some(Some(0)));
    }

    #[test]
    fn cli_layout_torn_buckets_and_classes() {
        let key = Zeroizing::new(KEY);
        let zip = crate::payload::encode_zip_payload("vault/", "prod", "A=1\n", &[("c.pem", b"PEM")]);
        let sealed = seal_manifest(TS, &zip).unwrap_or_default();
        let mut m = BTreeMap::new();
        m.insert("latest".into(), obj(format!("{TS}\n").into_bytes(), None));
        m.insert(format!("versions/{TS}.enc"), obj(seal_envelope(&key, &sealed), None));
        m.insert("latest.manifest".into(), obj(br#"{"gen":4}"#.to_vec(), None));
        let v = open_from_memory(&m, &KEY, "prod").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.layout(), Some(crate::Layout::Cli));
        assert_eq!(v.generation().ok(), Some(4));
        assert_eq!(v.get_as_content("c.pem").map(|b| b.to_vec()).ok(), Some(b"PEM".to_vec()));

        assert_eq!(kind(&BTreeMap::new()), ErrorKind::ManifestNotFound);
        let mut torn = runtime_bucket(r#"{"gen":1}"#, None);
        torn.remove(&format!("v={TS}"));
        assert_eq!(kind(&torn), ErrorKind::BundleCorrupt);
        let mut wrong_key = runtime_bucket(r#"{"gen":1}"#, None);
        wrong_key.insert(format!("v={TS}"), obj(seal_envelope(&Zeroizing::new([8; 32]), b"{}"), None));
        assert_eq!(kind(&wrong_key), ErrorKind::WrongPassphrase);
        let mut bad_pointer = BTreeMap::new();
        bad_pointer.insert("latest".into(), obj(b"../../etc".to_vec(), None));
        assert_eq!(kind(&bad_pointer), ErrorKind::BundleCorrupt);
    }

    #[test]
    fn size_caps_apply_in_memory_too() {
        // A pointer object over 64 KiB, even a well-formed one, is refused before it is parsed.
        let big = format!(r#"{{"gen":3,"pad":"{}"}}"#, "x".repeat(64 << 10));
        let m = runtime_bucket(&big, None);
        let e = open_from_memory(&m, &KEY, "prod").map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
        assert!(e.message().contains("manifest") && e.message().contains("65536"), "{}", e.message());
        // A bundle over the default cap.
        let mut m = runtime_bucket(r#"{"gen":1}"#, None);
        m.insert(format!("v={TS}"), obj(vec![b'R'; (crate::limits::DEFAULT_MAX_BUNDLE_BYTES + 1) as usize], None));
        assert_eq!(kind(&m), ErrorKind::BundleCorrupt);
    }
}
