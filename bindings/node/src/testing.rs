//! The private test hooks (conformance/README.md), wrapped by the facade as `_testing`.
//!
//! Compiled only with the `testing-hooks` feature (the test build: `node build.js
//! --testing-hooks`); the shipped addon has none of them, and release:check fails on any
//! `testing*` export. `skip_typescript` and plain tuples (no `#[napi(object)]`, which always
//! declares an interface) keep them out of the generated `native.d.ts`: the test build and the
//! shipped build generate the same file.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use vsync_core::{hooks, ErrorKind, Vault};

use super::{call, options, NativeVault, Result};

#[napi(catch_unwind, skip_typescript)]
pub fn testing_decrypt_envelope(envelope: Buffer, passphrase: String, salt: String, iterations: u32) -> Result<Buffer> {
    call(|| {
        hooks::decrypt_envelope(&envelope, &passphrase, &salt, iterations).map(|plain| Buffer::from(plain.as_slice()))
    })
}

/// `[embeddedTs, payload]`.
#[napi(catch_unwind, skip_typescript)]
pub fn testing_unseal_manifest(sealed: Buffer, remote_ts: Option<String>) -> Result<(String, Buffer)> {
    call(|| hooks::unseal(&sealed, remote_ts.as_deref()).map(|(embedded_ts, payload)| (embedded_ts, payload.into())))
}

#[napi(catch_unwind, skip_typescript)]
pub fn testing_decode_config_json(blob: String) -> Result<String> {
    call(|| hooks::decode_config_json(&blob))
}

#[napi(catch_unwind, skip_typescript)]
pub fn testing_open_payload(
    payload: Buffer,
    env_label: String,
    pointer_ts: Option<String>,
    defaults: Option<HashMap<String, String>>,
) -> Result<NativeVault> {
    let opts = options(defaults, None, None).map_err(napi::Error::<String>::from)?;
    call(|| {
        Vault::from_payload(&payload, &env_label, pointer_ts.as_deref(), opts)
            .map(|v| NativeVault { inner: Arc::new(v) })
    })
}

/// `[config, passphrase, warnings]`.
#[napi(catch_unwind, skip_typescript)]
pub fn testing_resolve_bootstrap(env: HashMap<String, String>) -> Result<(String, String, Vec<String>)> {
    call(|| hooks::resolve_bootstrap(&env).map(|(c, p, warnings)| (c.to_string(), p.to_string(), warnings)))
}

/// Throws the JS error the addon throws for the core kind `class_name` (with a test message),
/// so the facade's table is tested per variant through the real native path.
#[napi(catch_unwind, skip_typescript)]
pub fn testing_throw(class_name: String) -> Result<()> {
    call(|| {
        let kind = ErrorKind::from_class_name(&class_name)
            .ok_or_else(|| vsync_core::Error::invalid_argument(format!("no error kind named {class_name:?}")))?;
        Err(vsync_core::Error::new(kind, format!("test error of kind {class_name}")))
    })
}

/// Panics inside the boundary: it must reach JS as the core's `Internal` kind.
#[napi(catch_unwind, skip_typescript)]
#[allow(clippy::panic)] // the point of this test hook
pub fn testing_panic() -> Result<()> {
    call(|| panic!("deliberate test panic"))
}
