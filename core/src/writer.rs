//! The writer: mint runtime tokens, push vaults in the runtime layout (and, for tests, in the
//! public CLI's layout), rotate passphrases. What the CLI writes is what the readers read, by
//! construction: both sides use the same format code.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::config::Config;
use crate::envelope::{derive_key, open_envelope, seal_envelope, seal_manifest, unseal_manifest, Key};
use crate::error::{Error, Result};
use crate::payload::{decode_payload, encode_runtime_bundle, VaultData};
use crate::s3::{self, Store};
use crate::vault::{remote_generation_of, Layout};

/// A fresh salt string: 16 random bytes as 24 base64 characters. Its ASCII bytes are the
/// PBKDF2 salt (SPEC §2), exactly like the public CLI's.
pub fn random_salt() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    STANDARD.encode(b)
}

/// `YYYYMMDD-HHmmss` in UTC.
pub fn timestamp(t: SystemTime) -> String {
    let dt = OffsetDateTime::from(t);
    let f = format_description!("[year][month][day]-[hour][minute][second]");
    dt.format(&f).unwrap_or_else(|_| "19700101-000000".to_string())
}

fn parse_ts(ts: &str) -> Option<SystemTime> {
    let f = format_description!("[year][month][day]-[hour][minute][second]");
    PrimitiveDateTime::parse(ts, &f).ok().map(|d| d.assume_utc().into())
}

/// A push timestamp strictly after `previous` (two pushes in one second must not share a
/// bundle name; a clock behind the bucket's must not roll the name back).
pub fn next_timestamp(previous: Option<&str>) -> String {
    let now = timestamp(SystemTime::now());
    // Compared at the format's one-second resolution: the name must differ, not just the instant.
    match previous.and_then(|p| Some((p, parse_ts(p)?))) {
        Some((p, t)) if now.as_str() <= p => timestamp(t + Duration::from_secs(1)),
        _ => now,
    }
}

/// What the bucket holds now, as far as a writer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteState {
    pub gen: u64,
    pub ts: Option<String>,
    pub layout: Option<Layout>,
}

/// The result of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub gen: u64,
    pub ts: String,
}

/// Generation and timestamp of what is in the bucket (gen 0 and no timestamp when empty).
pub async fn remote_state(store: &Store) -> Result<RemoteState> {
    let (gen, layout) = match remote_generation_of(store).await {
        Ok((g, l)) => (g, Some(l)),
        Err(e) if e.kind() == crate::error::ErrorKind::ManifestNotFound => (0, None),
        Err(e) => return Err(e),
    };
    let ts = match layout {
        Some(Layout::Runtime) => match store.get("manifest").await? {
            Some(m) => Some(unseal_manifest(&m.body, None)?.0.to_string()),
            None => None,
        },
        Some(Layout::Cli) => store.get("latest").await?.map(|o| String::from_utf8_lossy(&o.body).trim().to_string()),
        None => None,
    };
    Ok(RemoteState { gen, ts, layout })
}

/// Write `data` in the runtime layout under `ts` with generation `gen`. The bundle is written
/// first and the manifest last, so a failure part-way leaves the previous vault readable.
/// The bundle's plaintext carries `seal.ts` = `ts`, so pointing the manifest at another bundle
/// is detected by readers.
pub async fn write_runtime(store: &Store, key: &Key, data: &VaultData, ts: &str, gen: u64) -> Result<()> {
    let bundle = seal_envelope(key, &encode_runtime_bundle(data, ts));
    store.put(&format!("v={ts}"), bundle, None).await?;
    let manifest = seal_manifest(ts, json!({"gen": gen, "ts": ts, "format": "json"}).to_string().as_bytes())?;
    store.put("manifest", manifest, Some(gen)).await?;
    store.put("latest.meta", json!({"gen": gen}).to_string().into_bytes(), None).await?;
    Ok(())
}

/// Write a vault in the public CLI's layout: `versions/<ts>.enc` = RQE1(RQEM0001(ts + zip)),
/// then `latest`, then (optionally) `latest.manifest`. For tests and the corpus.
pub async fn write_cli_layout(store: &Store, key: &Key, zip: &[u8], ts: &str, gen: Option<u64>) -> Result<()> {
    let sealed = zeroize::Zeroizing::new(seal_manifest(ts, zip)?);
    store.put(&format!("versions/{ts}.enc"), seal_envelope(key, &sealed), None).await?;
    store.put("latest", format!("{ts}\n").into_bytes(), None).await?;
    if let Some(g) = gen {
        let m = json!({"gen": g, "prev_gen": g.saturating_sub(1), "rotated_at": ts});
        store.put("latest.manifest", m.to_string().into_bytes(), None).await?;
    }
    Ok(())
}

/// Push a new version in the runtime layout: gen = remote gen + 1. With `expect_gen`, refuse
/// (ConfigUnsupportedVersion is wrong here, so this is reported as `Conflict` via `PushError`)
/// when the bucket moved since the caller looked.
pub fn push(
    config: &Config,
    passphrase: &str,
    data: &VaultData,
    expect_gen: Option<u64>,
    timeout: Duration,
) -> Result<Pushed, PushError> {
    let key = derive_key(passphrase, &config.salt, config.iterations);
    let out = s3::run(config, timeout, |store| async move {
        let state = remote_state(&store).await?;
        if let Some(expected) = expect_gen {
            if expected != state.gen {
                return Ok(Err(PushError::Conflict { expected, found: state.gen }));
            }
        }
        let gen = state.gen + 1;
        let ts = next_timestamp(state.ts.as_deref());
        write_runtime(&store, &key, data, &ts, gen).await?;
        Ok(Ok(Pushed { gen, ts }))
    });
    match out {
        Ok(r) => r,
        Err(e) => Err(PushError::Vsync(e)),
    }
}

/// A writer failure: one of the reader classes, or the lost-update guard.
#[derive(Debug)]
pub enum PushError {
    Vsync(Error),
    Conflict { expected: u64, found: u64 },
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Vsync(e) => write!(f, "{e}"),
            PushError::Conflict { expected, found } => write!(
                f,
                "the remote generation is {found}, not the expected {expected}: someone pushed meanwhile; \
                 re-read the vault (`vsync status`) and push again with --expect-gen {found}"
            ),
        }
    }
}

impl From<Error> for PushError {
    fn from(e: Error) -> Self {
        PushError::Vsync(e)
    }
}

/// Read the current vault's contents with a passphrase (either layout). For rotation and
/// `export`.
pub async fn read_current(store: &Store, config: &Config, passphrase: &str) -> Result<(VaultData, RemoteState)> {
    let state = remote_state(store).await?;
    let ts = state.ts.clone().ok_or_else(|| {
        Error::manifest_not_found(format!("no vault at {}: run `vsync push` first", store.key("manifest")))
    })?;
    let name = match state.layout {
        Some(Layout::Cli) => format!("versions/{ts}.enc"),
        _ => format!("v={ts}"),
    };
    let bundle = store.get(&name).await?.ok_or_else(|| {
        Error::corrupt(format!("the pointer names {} but it is missing; push again", store.key(&name)))
    })?;
    let key = derive_key(passphrase, &config.salt, config.iterations);
    let plain = open_envelope(&key, &bundle.body)?;
    let data = decode_payload(&plain, Some(&ts), &config.env)?;
    Ok((data, state))
}

/// Rotate: decrypt with the old passphrase, re-encrypt with the new one (and `new_config`'s
/// salt/iterations) under a new timestamp and gen+1, verify the new bundle decrypts, then move
/// the manifest. Returns the new generation and timestamp.
pub fn rotate(
    config: &Config,
    old_passphrase: &str,
    new_config: &Config,
    new_passphrase: &str,
    timeout: Duration,
) -> Result<Pushed> {
    s3::run(config, timeout, |store| async move {
        let (data, state) = read_current(&store, config, old_passphrase).await?;
        let gen = state.gen + 1;
        let ts = next_timestamp(state.ts.as_deref());
        let key = derive_key(new_passphrase, &new_config.salt, new_config.iterations);
        let bundle = seal_envelope(&key, &encode_runtime_bundle(&data, &ts));
        store.put(&format!("v={ts}"), bundle, None).await?;
        // Verify what was stored before the manifest points at it.
        let stored = store
            .get(&format!("v={ts}"))
            .await?
            .ok_or_else(|| Error::corrupt("the rotated bundle vanished right after it was written; retry"))?;
        let check = open_envelope(&key, &stored.body)?;
        decode_payload(&check, Some(&ts), &new_config.env)?;
        let manifest = seal_manifest(&ts, json!({"gen": gen, "ts": ts, "format": "json"}).to_string().as_bytes())?;
        store.put("manifest", manifest, Some(gen)).await?;
        store.put("latest.meta", json!({"gen": gen}).to_string().into_bytes(), None).await?;
        Ok(Pushed { gen, ts })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_move_forward() {
        assert_eq!(timestamp(SystemTime::UNIX_EPOCH), "19700101-000000");
        let far = "29990101-000000";
        assert_eq!(next_timestamp(Some(far)), "29990101-000001");
        assert!(next_timestamp(Some("20000101-000000")).as_str() > "20260101-000000");
        // Two pushes within one second still get distinct, increasing names.
        let now = timestamp(SystemTime::now());
        assert!(next_timestamp(Some(&now)) > now);
        assert_eq!(random_salt().len(), 24);
    }
}
