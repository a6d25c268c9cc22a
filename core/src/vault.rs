//! The handle every binding wraps: `open`, the locked fallback chain (SPEC §8), assets,
//! generations, `close` (SPEC §10).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::bootstrap;
use crate::config::Config;
use crate::envelope::{check_envelope_header, derive_key_boxed, open_envelope, unseal_manifest, Key, TS_LEN};
use crate::error::{Error, Result};
use crate::limits;
use crate::payload::{decode_payload_capped, decode_payload_sealed, VaultData};
use crate::s3::{self, ObjectSource, DEFAULT_TIMEOUT};

/// Where a value came from. The order of the variants is the order of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Vault,
    Env,
    Default,
    Missing,
}

impl Source {
    /// Every source, in the order of the chain (the C ABI's `vsync_source` is made from it).
    pub const ALL: [Source; 4] = [Source::Vault, Source::Env, Source::Default, Source::Missing];

    /// The source's place in the chain, from 1 (vault) to 4 (missing): the number the C ABI
    /// (`vsync_source`) and Java's `Source` carry.
    pub fn number(self) -> i32 {
        self as i32 + 1
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::Vault => "vault",
            Source::Env => "env",
            Source::Default => "default",
            Source::Missing => "missing",
        }
    }
}

/// Options of `open` / `open_with`.
#[derive(Clone)]
pub struct OpenOptions {
    /// Step 3 of the chain. Values are wiped on close like the vault's.
    pub defaults: IndexMap<String, String>,
    /// Bound on the whole open (and on each `remote_generation`). Clamped to
    /// `limits::MAX_TIMEOUT`.
    pub timeout: Duration,
    /// Cap on the bundle object and on the payload's decoded contents, in bytes. `None`: the
    /// `VSYNC_MAX_BUNDLE_BYTES` environment variable, else `limits::DEFAULT_MAX_BUNDLE_BYTES`.
    pub max_bundle_bytes: Option<u64>,
    /// The rollback floor (SPEC §4): refuse a vault whose sealed generation is below it, or
    /// that has no sealed generation. `None` or 0: no floor from the caller. The floor in force
    /// is the larger of this and `VSYNC_MIN_GENERATION` (`bootstrap::min_generation`).
    pub min_generation: Option<u64>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            defaults: IndexMap::new(),
            timeout: DEFAULT_TIMEOUT,
            max_bundle_bytes: None,
            min_generation: None,
        }
    }
}

/// Which bucket layout a vault was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `manifest` + `v=<ts>` (our writer).
    Runtime,
    /// `latest` + `versions/<ts>.enc` (the public CLI's push).
    Cli,
}

impl Layout {
    pub fn label(self) -> &'static str {
        match self {
            Layout::Runtime => "runtime",
            Layout::Cli => "cli",
        }
    }
}

/// An open vault. `Send + Sync`; readers share a read lock, `close` takes the write lock.
pub struct Vault {
    state: RwLock<Option<Contents>>,
    env: String,
    generation: u64,
    timeout: Duration,
    layout: Option<Layout>,
}

struct Contents {
    data: VaultData,
    defaults: IndexMap<String, Zeroizing<String>>,
    /// `None` for a vault built from a payload (tests, corpus): it has no remote.
    config: Option<Config>,
}

/// A lookup result: the value (when resolved) and its source.
pub struct Resolved {
    pub value: Option<Zeroizing<String>>,
    pub source: Source,
}

/// Open from the process environment through `lookup` (SPEC §7). Bootstrap warnings are
/// printed to stderr, once each.
pub fn open(lookup: &dyn Fn(&str) -> Option<String>, mut options: OpenOptions) -> Result<Vault> {
    let b = bootstrap::resolve(lookup)?;
    // `VSYNC_MIN_GENERATION` through the same view of the environment as the bootstrap inputs
    // (a binding's injected lookup included); `open_with` also applies the process's own.
    options.min_generation = bootstrap::min_generation(options.min_generation, lookup)?;
    for w in &b.warnings {
        // Not eprintln!, which panics when stderr cannot be written (issue 23 #8).
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), format!("{w}\n").as_bytes());
    }
    open_with(&b.config, &b.passphrase, options)
}

/// Open with explicit inputs, skipping the environment.
pub fn open_with(config: &str, passphrase: &str, options: OpenOptions) -> Result<Vault> {
    if config.is_empty() {
        return Err(Error::config_missing("open_with: the config is empty; pass the VSYNC_CONFIG blob"));
    }
    if passphrase.is_empty() {
        return Err(Error::config_missing("open_with: the passphrase is empty"));
    }
    let config = Config::decode(config)?;
    let max_bundle = limits::max_bundle_bytes(options.max_bundle_bytes)?;
    let floor = bootstrap::min_generation(options.min_generation, &bootstrap::process_env)?;
    // The key derivation needs nothing fetched: run it beside the S3 requests so that open()
    // costs max(KDF, network), not the sum. The thread is joined before returning.
    let (fetched, key) = std::thread::scope(|scope| {
        let kdf = scope.spawn(|| derive_key_boxed(passphrase, &config.salt, config.iterations));
        let fetched =
            s3::run_capped(&config, options.timeout, Some(max_bundle), |store| async move { fetch(&store).await });
        (fetched, kdf.join())
    });
    let fetched = fetched?;
    let key = key.map_err(|_| Error::wrong_passphrase())?;
    let (data, gen) = decrypt_fetched(&fetched, &key, &config.env, max_bundle, floor)?;
    Ok(Vault::new(data, config.env.clone(), gen, Some(config), options, Some(fetched.layout)))
}

/// What the fetch path found: the pointer's timestamp, the bundle, the generation, the layout.
pub(crate) struct Fetched {
    pub ts: String,
    pub bundle: Vec<u8>,
    /// The generation the pointer side reports (metadata, manifest payload, `latest.meta`, 0):
    /// unauthenticated, used only when the bundle seals none.
    pub gen: u64,
    /// Every generation the manifest object itself states (its `gen` metadata, its payload's
    /// `gen`), with where: each must equal the bundle's sealed generation.
    pub claims: Vec<(&'static str, u64)>,
    pub layout: Layout,
}

/// Decrypt and decode a fetched bundle (SPEC §3 then §6), the payload capped at `max_bundle`,
/// and decide its generation (SPEC §4): the sealed one, checked against the manifest's claims
/// and against `floor` (`None`: no floor).
pub(crate) fn decrypt_fetched(
    fetched: &Fetched,
    key: &Key,
    env: &str,
    max_bundle: u64,
    floor: Option<u64>,
) -> Result<(VaultData, u64)> {
    check_envelope_header(&fetched.bundle)?;
    let plain = open_envelope(key, &fetched.bundle)?;
    let (data, sealed) = decode_payload_sealed(&plain, Some(&fetched.ts), env, max_bundle)?;
    let gen = checked_generation(fetched, sealed, floor)?;
    Ok((data, gen))
}

/// SPEC §4's generation rules. The manifest is plaintext that anyone with write access to the
/// bucket can rewrite (`RQEM0001<old ts>{"gen":99}` needs no passphrase); the sealed generation
/// is inside the ciphertext. So: a bundle that seals its generation reports that one, and a
/// manifest claiming another is refused; a floor refuses sealed generations below it, and
/// bundles that seal none (their generation is only the manifest's word).
pub(crate) fn checked_generation(fetched: &Fetched, sealed: Option<u64>, floor: Option<u64>) -> Result<u64> {
    let gen = match sealed {
        Some(sealed) => {
            if let Some((what, claimed)) = fetched.claims.iter().find(|(_, g)| *g != sealed) {
                return Err(Error::corrupt(format!(
                    "the bundle is sealed at generation {sealed} but the manifest's {what} says generation \
                     {claimed}: the manifest was rewritten (rolled back or tampered with) by someone with write \
                     access to the bucket; push again and audit bucket access"
                )));
            }
            sealed
        }
        None => fetched.gen,
    };
    match (floor, sealed) {
        (Some(min), None) => Err(Error::corrupt(format!(
            "the vault carries no sealed generation (it was written by an older vsync writer or another tool), \
             so the minimum generation {min} (min_generation / {}) cannot be checked: push again with this \
             vsync version, or lower the floor to 0",
            bootstrap::MIN_GENERATION_VAR
        ))),
        (Some(min), Some(sealed)) if sealed < min => Err(Error::corrupt(format!(
            "the vault is at generation {sealed}, below the minimum generation {min} this reader requires \
             (min_generation / {}): the bucket was rolled back to an older vault, or the floor is above \
             every push; audit bucket access and push again",
            bootstrap::MIN_GENERATION_VAR
        ))),
        _ => Ok(gen),
    }
}

/// The SPEC §5 fetch path: runtime layout first, the CLI layout when `manifest` is absent.
pub(crate) async fn fetch<S: ObjectSource>(store: &S) -> Result<Fetched> {
    if let Some(manifest) = store.get("manifest").await? {
        let (ts, payload) = unseal_manifest(&manifest.body, None)?;
        let ts = ts.to_string();
        let payload_gen = manifest_payload_gen(payload)?;
        let bundle = store.get(&format!("v={ts}")).await?.ok_or_else(|| torn(store, &format!("v={ts}")))?;
        let gen = match manifest.gen.or(payload_gen) {
            Some(g) => g,
            None => json_gen(store.get("latest.meta").await?)?.unwrap_or(0),
        };
        let claims = [("gen metadata", manifest.gen), ("payload gen", payload_gen)]
            .into_iter()
            .filter_map(|(what, g)| Some((what, g?)))
            .collect();
        return Ok(Fetched { ts, bundle: bundle.body, gen, claims, layout: Layout::Runtime });
    }
    let Some(latest) = store.get("latest").await? else {
        return Err(not_pushed(store));
    };
    let ts = pointer_ts(&latest.body)?;
    let name = format!("versions/{ts}.enc");
    let bundle = store.get(&name).await?.ok_or_else(|| torn(store, &name))?;
    let gen = match latest.gen {
        Some(g) => g,
        None => json_gen(store.get("latest.manifest").await?)?.unwrap_or(0),
    };
    let claims = latest.gen.map(|g| ("gen metadata", g)).into_iter().collect();
    Ok(Fetched { ts, bundle: bundle.body, gen, claims, layout: Layout::Cli })
}

/// The remote generation: one HEAD when the pointer carries `gen` metadata (our writer always
/// sets it); the slower sources only when it does not.
pub async fn remote_generation_of<S: ObjectSource>(store: &S) -> Result<(u64, Layout)> {
    if let Some(head) = store.head("manifest").await? {
        if let Some(g) = head.gen {
            return Ok((g, Layout::Runtime));
        }
        let gen = match store.get("manifest").await? {
            Some(m) => manifest_payload_gen(unseal_manifest(&m.body, None)?.1)?,
            None => None,
        };
        let gen = match gen {
            Some(g) => g,
            None => json_gen(store.get("latest.meta").await?)?.unwrap_or(0),
        };
        return Ok((gen, Layout::Runtime));
    }
    let Some(head) = store.head("latest").await? else {
        return Err(not_pushed(store));
    };
    let gen = match head.gen {
        Some(g) => g,
        None => json_gen(store.get("latest.manifest").await?)?.unwrap_or(0),
    };
    Ok((gen, Layout::Cli))
}

fn not_pushed<S: ObjectSource>(store: &S) -> Error {
    Error::manifest_not_found(format!(
        "no vault at {} or {}: run `vsync push` for this env first (check bucket and prefix in VSYNC_CONFIG)",
        store.key("manifest"),
        store.key("latest")
    ))
}

fn torn<S: ObjectSource>(store: &S, name: &str) -> Error {
    Error::corrupt(format!(
        "the pointer names {} but that object is missing (a torn or partly deleted bucket); push again",
        store.key(name)
    ))
}

pub(crate) fn pointer_ts(body: &[u8]) -> Result<String> {
    let ts = std::str::from_utf8(body).map(str::trim).unwrap_or("");
    if ts.len() != TS_LEN || !ts.is_ascii() || ts.contains('/') {
        return Err(Error::corrupt("the `latest` pointer is not a YYYYMMDD-HHmmss timestamp; push again"));
    }
    Ok(ts.to_string())
}

/// The manifest payload is JSON with an integer `gen` (or empty). Anything else is corrupt.
pub(crate) fn manifest_payload_gen(payload: &[u8]) -> Result<Option<u64>> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => Ok(m.get("gen").and_then(Value::as_u64)),
        _ => Err(Error::corrupt("the manifest payload is not a JSON object; push again")),
    }
}

/// `latest.meta` / `latest.manifest`: JSON `{"gen": N}`. Unreadable JSON here only loses the
/// generation (these objects are advisory), it does not fail the open.
pub(crate) fn json_gen(obj: Option<s3::Object>) -> Result<Option<u64>> {
    Ok(obj
        .and_then(|o| serde_json::from_slice::<Value>(&o.body).ok())
        .and_then(|v| v.get("gen").and_then(Value::as_u64)))
}

impl Vault {
    pub(crate) fn new(
        data: VaultData,
        env: String,
        generation: u64,
        config: Option<Config>,
        options: OpenOptions,
        layout: Option<Layout>,
    ) -> Vault {
        let defaults = options.defaults.into_iter().map(|(k, v)| (k, Zeroizing::new(v))).collect();
        Vault {
            state: RwLock::new(Some(Contents { data, defaults, config })),
            env,
            generation,
            timeout: options.timeout,
            layout,
        }
    }

    /// A vault from a decrypted payload, without S3 (the corpus runners' fallback-chain and
    /// payload categories). `remote_generation` on it is a `ConfigMissingError`.
    pub fn from_payload(payload: &[u8], env: &str, pointer_ts: Option<&str>, options: OpenOptions) -> Result<Vault> {
        let max_bundle = limits::max_bundle_bytes(options.max_bundle_bytes)?;
        let data = decode_payload_capped(payload, pointer_ts, env, max_bundle)?;
        Ok(Vault::new(data, env.to_string(), 0, None, options, None))
    }

    fn read<T>(&self, f: impl FnOnce(&Contents) -> T) -> Result<T> {
        let guard = self.state.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(f).ok_or_else(Error::closed)
    }

    /// The locked chain: vault → `env_lookup` (the language's process environment, consulted
    /// at lookup time and only when the vault misses) → defaults → missing.
    ///
    /// The lock is not held while `env_lookup` runs: it calls into the binding's runtime
    /// (Python, the JVM), which must never wait on a lock of ours it could be holding up.
    pub fn resolve(&self, key: &str, env_lookup: &mut dyn FnMut(&str) -> Option<String>) -> Result<Resolved> {
        if let Some(v) = self.read(|c| c.data.kv.get(key).cloned())? {
            return Ok(Resolved { value: Some(v), source: Source::Vault });
        }
        if let Some(v) = env_lookup(key) {
            // A handle closed meanwhile still reports "closed", never a stale answer.
            self.read(|_| ())?;
            return Ok(Resolved { value: Some(Zeroizing::new(v)), source: Source::Env });
        }
        Ok(match self.read(|c| c.defaults.get(key).cloned())? {
            Some(v) => Resolved { value: Some(v), source: Source::Default },
            None => Resolved { value: None, source: Source::Missing },
        })
    }

    pub fn get_env(
        &self,
        key: &str,
        env_lookup: &mut dyn FnMut(&str) -> Option<String>,
    ) -> Result<Option<Zeroizing<String>>> {
        self.resolve(key, env_lookup).map(|r| r.value)
    }

    pub fn has_env(&self, key: &str, env_lookup: &mut dyn FnMut(&str) -> Option<String>) -> Result<bool> {
        self.resolve(key, env_lookup).map(|r| r.source != Source::Missing)
    }

    pub fn env_source(&self, key: &str, env_lookup: &mut dyn FnMut(&str) -> Option<String>) -> Result<Source> {
        self.resolve(key, env_lookup).map(|r| r.source)
    }

    /// The resolved view (SPEC §8): every name `get_env` answers, with the value it answers,
    /// given `process_env`, a snapshot of the language's process environment (name, value)
    /// taken by the binding. The names are the union of the vault's keys, the snapshot's names
    /// and the defaults' names; each is answered by [`Vault::resolve`] with the snapshot as step
    /// 2, so `environ(env)[k] == get_env(k)` by construction (one chain, not a second copy of
    /// its order), and a name absent from the result is one `get_env` misses. Sorted by name
    /// (byte order of the UTF-8 text, which is code-point order): the same order in every
    /// language. A name given twice in the snapshot keeps its last value, as a later `setenv`
    /// would.
    ///
    /// The snapshot is consumed before the lock is taken (it may come from a binding's
    /// runtime); the values stay `Zeroizing` until the binding copies them out.
    pub fn environ(
        &self,
        process_env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Vec<(String, Zeroizing<String>)>> {
        let env: BTreeMap<String, Zeroizing<String>> =
            process_env.into_iter().map(|(k, v)| (k, Zeroizing::new(v))).collect();
        let mut names: BTreeSet<String> = env.keys().cloned().collect();
        self.read(|c| names.extend(c.data.kv.keys().chain(c.defaults.keys()).cloned()))?;
        let mut lookup = |k: &str| env.get(k).map(|v| v.to_string());
        let mut view = Vec::with_capacity(names.len());
        for name in names {
            if let Some(value) = self.resolve(&name, &mut lookup)?.value {
                view.push((name, value));
            }
        }
        Ok(view)
    }

    /// An asset's bytes; else the key/value of that name as UTF-8; else `NotFound`.
    pub fn get_as_content(&self, name: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.read(|c| {
            if let Some(b) = c.data.assets.get(name) {
                return Ok(b.clone());
            }
            if let Some(v) = c.data.kv.get(name) {
                return Ok(Zeroizing::new(v.as_bytes().to_vec()));
            }
            Err(Error::not_found(name))
        })?
    }

    /// Key names of the vault, in payload order (no values).
    pub fn keys(&self) -> Result<Vec<String>> {
        self.read(|c| c.data.kv.keys().cloned().collect())
    }

    /// Asset names, in payload order.
    pub fn asset_names(&self) -> Result<Vec<String>> {
        self.read(|c| c.data.assets.keys().cloned().collect())
    }

    /// The generation read at open time: the one sealed inside the bundle when it seals one
    /// (checked against the manifest), else the manifest's (SPEC §4, §5).
    pub fn generation(&self) -> Result<u64> {
        self.read(|_| self.generation)
    }

    /// The environment label (not secret; for `repr` and messages).
    pub fn env_label(&self) -> &str {
        &self.env
    }

    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// The generation in the bucket now: one HEAD on a bucket our writer wrote. Bounded by
    /// the timeout the handle was opened with.
    pub fn remote_generation(&self) -> Result<u64> {
        self.remote_generation_within(self.timeout)
    }

    /// `remote_generation` with a deadline of the caller's (Go passes its context's): the sooner
    /// of `timeout` and the handle's own timeout bounds the call; a later one never extends it
    /// (docs/deadlines.md).
    pub fn remote_generation_within(&self, timeout: Duration) -> Result<u64> {
        let config = self.read(|c| c.config.clone())?.ok_or_else(|| {
            Error::config_missing("this handle was built from a payload and has no remote; open it with a config")
        })?;
        s3::run(&config, timeout.min(self.timeout), |store| async move {
            remote_generation_of(&store).await.map(|(g, _)| g)
        })
    }

    pub fn has_new_version(&self) -> Result<bool> {
        self.has_new_version_within(self.timeout)
    }

    /// `has_new_version` with a deadline of the caller's, as `remote_generation_within`.
    pub fn has_new_version_within(&self, timeout: Duration) -> Result<bool> {
        let local = self.generation()?;
        Ok(self.remote_generation_within(timeout)? > local)
    }

    /// Wipe every value, asset, default and the credentials. Idempotent.
    pub fn close(&self) {
        let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
        // Dropping the contents runs Zeroizing's wipes.
        guard.take();
    }

    pub fn is_closed(&self) -> bool {
        self.state.read().map(|g| g.is_none()).unwrap_or(true)
    }

    /// `<vsync:redacted gen=N env=E>`: what every binding's repr/toString shows.
    pub fn redacted(&self) -> String {
        format!("<vsync:redacted gen={} env={}>", self.generation, self.env)
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn vault() -> Vault {
        let mut opts = OpenOptions::default();
        opts.defaults.insert("D".into(), "dv".into());
        opts.defaults.insert("A".into(), "default-a".into());
        Vault::from_payload(br#"{"kv":{"A":"va"},"assets":{"cert":"AAE="}}"#, "dev", None, opts)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn chain_order_and_close() {
        let v = vault();
        let mut env = |k: &str| (k == "A" || k == "E").then(|| format!("env-{k}"));
        let r = |v: &Vault, k: &str, env: &mut dyn FnMut(&str) -> Option<String>| {
            let r = v.resolve(k, env).unwrap_or_else(|e| panic!("{e}"));
            (r.value.map(|v| v.to_string()), r.source)
        };
        assert_eq!(r(&v, "A", &mut env), (Some("va".into()), Source::Vault));
        assert_eq!(r(&v, "E", &mut env), (Some("env-E".into()), Source::Env));
        assert_eq!(r(&v, "D", &mut env), (Some("dv".into()), Source::Default));
        assert_eq!(r(&v, "X", &mut env), (None, Source::Missing));
        let mut empty_env = |k: &str| (k == "D").then(String::new);
        assert_eq!(r(&v, "D", &mut empty_env), (Some(String::new()), Source::Env));
        assert_eq!(v.get_as_content("cert").map(|b| b.to_vec()).ok(), Some(vec![0, 1]));
        assert_eq!(v.get_as_content("A").map(|b| b.to_vec()).ok(), Some(b"va".to_vec()));
        assert_eq!(v.get_as_content("nope").map(|_| ()).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(format!("{v:?}"), "<vsync:redacted gen=0 env=dev>");
        assert_eq!(v.remote_generation().unwrap_err().kind(), ErrorKind::ConfigMissing);
        v.close();
        v.close();
        assert!(v.is_closed());
        assert_eq!(v.resolve("A", &mut env).map(|_| ()).unwrap_err().kind(), ErrorKind::Closed);
        assert_eq!(v.generation().unwrap_err().kind(), ErrorKind::Closed);
        assert_eq!(v.get_as_content("cert").map(|_| ()).unwrap_err().kind(), ErrorKind::Closed);
    }

    #[test]
    fn environ_is_get_env_for_every_name_sorted() {
        let v = vault();
        let env = || {
            vec![
                ("A".to_string(), "env-A".to_string()),
                ("E".to_string(), "env-E".to_string()),
                ("Z_EMPTY".to_string(), String::new()),
                ("E".to_string(), "env-E-later".to_string()),
            ]
        };
        let view: Vec<(String, String)> =
            v.environ(env()).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|(k, v)| (k, v.to_string())).collect();
        let expected = [("A", "va"), ("D", "dv"), ("E", "env-E-later"), ("Z_EMPTY", "")];
        assert_eq!(view, expected.map(|(k, v)| (k.to_string(), v.to_string())).to_vec());
        // Key by key, the view is what get_env answers from the same environment.
        for name in ["A", "D", "E", "Z_EMPTY", "X"] {
            let mut lookup = |k: &str| env().into_iter().rev().find(|(n, _)| n == k).map(|(_, v)| v);
            let got = v.get_env(name, &mut lookup).unwrap_or_else(|e| panic!("{e}")).map(|s| s.to_string());
            assert_eq!(got, view.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()), "{name}");
        }
        // An environment variable beats a default of the same name; the order is code-point order.
        let view = v
            .environ(vec![("D".to_string(), "env-D".to_string()), ("é".to_string(), "x".to_string())])
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = view.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["A", "D", "é"]);
        assert_eq!(view[1].1.as_str(), "env-D");
        v.close();
        assert_eq!(v.environ(Vec::new()).map(|_| ()).unwrap_err().kind(), ErrorKind::Closed);
    }

    fn fetched(gen: u64, claims: Vec<(&'static str, u64)>) -> Fetched {
        Fetched { ts: "20260101-000000".into(), bundle: Vec::new(), gen, claims, layout: Layout::Runtime }
    }

    #[test]
    fn the_sealed_generation_wins_and_must_match_the_manifest() {
        let kind = |r: Result<u64>| r.map_err(|e| e.kind());
        // Sealed and stated alike: the sealed one.
        assert_eq!(
            kind(checked_generation(&fetched(2, vec![("gen metadata", 2), ("payload gen", 2)]), Some(2), None)),
            Ok(2)
        );
        // The manifest rewritten to claim 99 over a bundle sealed at 1 (metadata or payload).
        for claims in [
            vec![("gen metadata", 99), ("payload gen", 99)],
            vec![("payload gen", 99)],
            vec![("gen metadata", 99), ("payload gen", 1)],
        ] {
            let e = checked_generation(&fetched(99, claims), Some(1), None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
            assert!(e.message().contains("sealed at generation 1") && e.message().contains("99"), "{e}");
        }
        // A manifest stating nothing: the sealed generation, not latest.meta's.
        assert_eq!(kind(checked_generation(&fetched(7, vec![]), Some(3), None)), Ok(3));
        // Floors.
        assert_eq!(kind(checked_generation(&fetched(3, vec![("gen metadata", 3)]), Some(3), Some(3))), Ok(3));
        let e = checked_generation(&fetched(1, vec![("gen metadata", 1)]), Some(1), Some(2)).unwrap_err();
        assert!(e.message().contains("generation 1, below the minimum generation 2"), "{e}");
        // Unsealed: the manifest's generation, and no floor can be checked.
        assert_eq!(kind(checked_generation(&fetched(5, vec![("gen metadata", 5)]), None, None)), Ok(5));
        let e = checked_generation(&fetched(99, vec![("gen metadata", 99)]), None, Some(1)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
        assert!(e.message().contains("no sealed generation"), "{e}");
    }

    #[test]
    fn vault_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Vault>();
    }
}
