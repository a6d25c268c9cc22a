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
