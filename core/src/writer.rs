//! The writer: mint runtime tokens, push vaults in the runtime layout (and, for tests, in the
//! public CLI's layout), rotate passphrases. What the CLI writes is what the readers read, by
//! construction: both sides use the same format code.
//!
//! Push and rotate follow SPEC §5's writer protocol (docs/writer-protocol.md): probe that the
//! store honours conditional writes, create the bundle `v=<ts>` with `If-None-Match: *` (a
//! taken second moves to the next one), move the manifest with `If-Match` on the ETag read at
//! the start (a refusal is a conflict), then `latest.meta`. A write whose reply is lost is read
//! back before anything is reported.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::config::Config;
use crate::envelope::{derive_key, open_envelope, seal_envelope, seal_manifest, unseal_manifest, Key, TS_LEN};
use crate::error::{Error, Result};
use crate::payload::{decode_payload, encode_sealed_bundle, VaultData};
use crate::s3::{self, PutFailure, PutIf, PutOutcome, Store};
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

/// The result of a push or rotation: the generation and timestamp the manifest now names, and
/// what the caller should know beyond that (a lost reply confirmed by reading back, a
/// `latest.meta` that could not be updated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub gen: u64,
    pub ts: String,
    pub notes: Vec<String>,
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
/// The bundle's plaintext carries `seal.ts` = `ts` and `seal.gen` = `gen`, so pointing the
/// manifest at another bundle, or rewriting its generation, is detected by readers.
pub async fn write_runtime(store: &Store, key: &Key, data: &VaultData, ts: &str, gen: u64) -> Result<()> {
    let bundle = seal_envelope(key, &encode_sealed_bundle(data, ts, Some(gen)));
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

/// The object the conditional-write probe creates once per prefix (`<prefix>.vsync-write-probe`).
/// Readers never read it; deleting it only costs the next push one extra request.
pub const PROBE_NAME: &str = ".vsync-write-probe";
const PROBE_BODY: &[u8] = b"{\"purpose\":\"vsync push checks here that this store honours conditional writes \
(If-None-Match, If-Match) before it writes a vault; safe to delete\"}\n";
/// An `If-Match` value no object can have: the probe's write with it must be refused.
const PROBE_FALSE_ETAG: &str = "\"vsync-probe-no-object-has-this-etag\"";
/// How many bundle names (consecutive seconds) a push tries while other writers hold them.
const MAX_NAME_ATTEMPTS: usize = 30;

/// How a push or rotation writes.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The lost-update guard: refuse unless the remote generation is this one.
    pub expect_gen: Option<u64>,
    /// Bound on the writes; reading back after a lost reply gets the same bound again.
    pub timeout: Duration,
    /// For stores without conditional writes: skip the probe and send no preconditions. Only
    /// safe when no other writer can push to the prefix at the same time.
    pub single_writer: bool,
}

impl WriteOptions {
    pub fn new(timeout: Duration) -> Self {
        WriteOptions { expect_gen: None, timeout, single_writer: false }
    }
}

/// Push a new version in the runtime layout: gen = remote gen + 1. With `expect_gen`, refuse
/// with [`PushError::Conflict`] when the bucket is at another generation, when the push
/// started or at any point before the manifest moves.
pub fn push(
    config: &Config,
    passphrase: &str,
    data: &VaultData,
    expect_gen: Option<u64>,
    timeout: Duration,
) -> Result<Pushed, PushError> {
    push_with(config, passphrase, data, &WriteOptions { expect_gen, ..WriteOptions::new(timeout) })
}

/// [`push`] with every option.
pub fn push_with(
    config: &Config,
    passphrase: &str,
    data: &VaultData,
    options: &WriteOptions,
) -> Result<Pushed, PushError> {
    write(config, Content::Given(data), (config, passphrase), options, &mut |_| Ok(()))
}

/// A writer failure. Every variant but `Unconfirmed` means the manifest was not moved: readers
/// still get the vault that was there before.
#[derive(Debug)]
pub enum PushError {
    /// One of the reader classes; nothing readers see was changed.
    Vsync(Error),
    /// The lost-update guard: the bucket is at generation `found`, not `expected` (someone else
    /// pushed). Nothing of ours was left in the bucket.
    Conflict { expected: u64, found: u64 },
    /// The store ignores (or refuses) conditional writes, so concurrent writers could silently
    /// replace each other's data. Nothing was written but the probe object.
    NoConditionalWrites { detail: String },
    /// The manifest write naming `gen`/`ts` was sent but neither acknowledged nor confirmed by
    /// reading it back: readers get either the previous vault or this one.
    Unconfirmed { gen: u64, ts: String, error: Error },
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
            PushError::NoConditionalWrites { detail } => write!(
                f,
                "this store does not honour S3 conditional writes ({detail}): concurrent pushes could silently \
                 replace each other, so nothing was written"
            ),
            PushError::Unconfirmed { gen, ts, error } => write!(
                f,
                "the manifest write for gen {gen} (ts {ts}) was sent but not acknowledged, and reading it back \
                 failed ({error}): readers get either the previous vault or gen {gen}"
            ),
        }
    }
}

impl From<Error> for PushError {
    fn from(e: Error) -> Self {
        PushError::Vsync(e)
    }
}

/// What the write started from: the manifest's ETag (for `If-Match`) and the bucket's state.
struct Base {
    etag: Option<String>,
    state: RemoteState,
}

/// What a write seals: the data given (push), or the vault as it is, read with the old
/// passphrase (rotate).
enum Content<'a> {
    Given(&'a VaultData),
    Current { old_passphrase: &'a str },
}

/// The write protocol of both push and rotate: derive the key of `sealed_with` (its config's
/// salt and iterations, and its passphrase), read the base, [`commit`], settle the outcome.
fn write(
    config: &Config,
    content: Content<'_>,
    sealed_with: (&Config, &str),
    options: &WriteOptions,
    before_move: &mut dyn FnMut(&Pushed) -> Result<()>,
) -> Result<Pushed, PushError> {
    let (new_config, passphrase) = sealed_with;
    let key = derive_key(passphrase, &new_config.salt, new_config.iterations);
    let progress = Mutex::new(Progress::default());
    let (key, progress_ref) = (&key, &progress);
    let out = s3::run(config, options.timeout, |store| async move {
        let step = async {
            // The HEAD comes first: any change after it (even between this HEAD and the reads
            // that follow) changes the ETag, so the final `If-Match` refuses to build on a stale
            // read. No manifest (it may appear between the HEAD and the reads): build on nothing,
            // and let `If-None-Match: *` on the manifest refuse it. A manifest without an ETag
            // cannot be guarded with `If-Match`: `commit` refuses.
            let etag = store.head_version("manifest").await?.map(|v| v.etag.unwrap_or_default());
            let current;
            let (data, state, verify_env) = match content {
                Content::Given(data) => (data, remote_state(&store).await?, None),
                Content::Current { old_passphrase } => {
                    let state;
                    (current, state) = read_current(&store, config, old_passphrase).await?;
                    // Rotation reads the new bundle back and opens it before the manifest moves.
                    (&current, state, Some(new_config.env.as_str()))
                }
            };
            let plan = Plan { key, data, verify_env };
            commit(&store, &Base { etag, state }, &plan, options, progress_ref, before_move).await
        };
        Ok(step.await)
    });
    settle(config, options, out, &progress)
}

/// What to write.
struct Plan<'a> {
    key: &'a Key,
    data: &'a VaultData,
    /// Rotation reads the stored bundle back and opens it (with this env label) before the
    /// manifest may point at it.
    verify_env: Option<&'a str>,
}

/// How far a write got. It lives outside the deadline-bounded future, so when the deadline
/// cancels a write in flight the caller still knows what may have happened.
#[derive(Default)]
struct Progress {
    /// The generation and timestamp the write started from.
    base: Option<(u64, Option<String>)>,
    /// The generation and timestamp of the manifest being written.
    target: Option<(u64, String)>,
    /// The manifest PUT was sent: its outcome is open until acknowledged or read back.
    manifest_sent: bool,
    /// The manifest names our bundle (acknowledged, or confirmed by reading back).
    manifest_moved: bool,
}

fn lock(p: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    p.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The protocol, from a read base to a moved manifest (SPEC §5; docs/writer-protocol.md).
async fn commit(
    store: &Store,
    base: &Base,
    plan: &Plan<'_>,
    options: &WriteOptions,
    progress: &Mutex<Progress>,
    before_move: &mut dyn FnMut(&Pushed) -> Result<()>,
) -> Result<Pushed, PushError> {
    lock(progress).base = Some((base.state.gen, base.state.ts.clone()));
    if let Some(expected) = options.expect_gen {
        if expected != base.state.gen {
            return Err(PushError::Conflict { expected, found: base.state.gen });
        }
    }
    // The generation comes from unauthenticated metadata: a huge value must not wrap to 0 (or
    // panic) and silently restart the sequence readers compare against.
    let gen = base.state.gen.checked_add(1).ok_or_else(|| {
        Error::corrupt(format!(
            "the remote generation {} (manifest metadata) cannot be incremented; the manifest is damaged: \
             push to a fresh prefix or repair the manifest's `gen`",
            base.state.gen
        ))
    })?;
    let manifest_condition = if options.single_writer {
        PutIf::Always
    } else {
        probe_conditional_writes(store).await?;
        match &base.etag {
            None => PutIf::Absent,
            Some(e) if e.is_empty() => {
                return Err(PushError::NoConditionalWrites {
                    detail: "the manifest has no ETag, so If-Match cannot guard it".into(),
                })
            }
            Some(e) => PutIf::Matches(e.clone()),
        }
    };

    let ts = put_bundle(store, base, plan, options, gen).await?;
    let name = format!("v={ts}");
    let mut pushed = Pushed { gen, ts: ts.clone(), notes: Vec::new() };
    if let Some(env) = plan.verify_env {
        // Rotation: the manifest must never point at a bundle the new key cannot open.
        let verified = async {
            let stored = store
                .get(&name)
                .await?
                .ok_or_else(|| Error::corrupt("the new bundle vanished right after it was written"))?;
            let plain = open_envelope(plan.key, &stored.body)?;
            decode_payload(&plain, Some(&ts), env).map(|_| ())
        };
        if let Err(e) = verified.await {
            discard_bundle(store, &name).await;
            return Err(PushError::Vsync(e));
        }
    }
    if let Err(e) = before_move(&pushed) {
        discard_bundle(store, &name).await;
        return Err(PushError::Vsync(e));
    }

    let manifest = seal_manifest(&ts, json!({"gen": gen, "ts": ts, "format": "json"}).to_string().as_bytes())?;
    {
        let mut p = lock(progress);
        p.target = Some((gen, ts.clone()));
        p.manifest_sent = true;
    }
    match store.put_if("manifest", manifest, Some(gen), &manifest_condition).await {
        Ok(PutOutcome::Stored { .. }) => {}
        Ok(PutOutcome::PreconditionFailed) => match read_back(store, &ts).await {
            // Our own earlier attempt (its reply lost, the request retried) moved it.
            Ok(ReadBack::Ours) => pushed.notes.push(lost_reply_note(gen, &ts)),
            Ok(ReadBack::Other(now)) => {
                discard_bundle(store, &name).await;
                return Err(PushError::Conflict { expected: base.state.gen, found: now.gen });
            }
            Err(e) => return Err(PushError::Unconfirmed { gen, ts, error: e }),
        },
        Err(PutFailure { error, maybe_stored: false, .. }) => {
            discard_bundle(store, &name).await;
            return Err(PushError::Vsync(error));
        }
        Err(PutFailure { error, .. }) => match read_back(store, &ts).await {
            Ok(ReadBack::Ours) => pushed.notes.push(lost_reply_note(gen, &ts)),
            Ok(ReadBack::Other(now)) if now.ts == base.state.ts => return Err(PushError::Vsync(not_moved(error))),
            Ok(ReadBack::Other(now)) => return Err(PushError::Conflict { expected: base.state.gen, found: now.gen }),
            Err(_) => return Err(PushError::Unconfirmed { gen, ts, error }),
        },
    }
    lock(progress).manifest_moved = true;
    if let Err(e) = store.put("latest.meta", json!({"gen": gen}).to_string().into_bytes(), None).await {
        pushed.notes.push(meta_note(gen, &e));
    }
    Ok(pushed)
}

/// Create `v=<ts>` with `If-None-Match: *`, moving to the next second while other writers hold
/// the name. Returns the timestamp whose bundle is ours.
async fn put_bundle(
    store: &Store,
    base: &Base,
    plan: &Plan<'_>,
    options: &WriteOptions,
    gen: u64,
) -> Result<String, PushError> {
    let mut previous = base.state.ts.clone();
    for _ in 0..MAX_NAME_ATTEMPTS {
        let ts = next_timestamp(previous.as_deref());
        let name = format!("v={ts}");
        let bundle = sealed_bundle(plan.key, plan.data, &ts, gen)?;
        let condition = if options.single_writer {
            if store.head_version(&name).await?.is_some() {
                previous = Some(ts);
                continue;
            }
            PutIf::Always
        } else {
            PutIf::Absent
        };
        match store.put_if(&name, bundle.clone(), None, &condition).await {
            Ok(PutOutcome::Stored { .. }) => return Ok(ts),
            // Another writer took this second, or our own first attempt did (reply lost, the
            // request retried): the bytes tell (AES-GCM with a fresh nonce never repeats).
            Ok(PutOutcome::PreconditionFailed) => {
                if is_ours(store, &name, &bundle).await? {
                    return Ok(ts);
                }
                previous = Some(ts);
            }
            Err(PutFailure { error, maybe_stored: true, .. }) => {
                return match is_ours(store, &name, &bundle).await {
                    Ok(true) => Ok(ts),
                    _ => Err(PushError::Vsync(error)),
                };
            }
            Err(PutFailure { error, .. }) => return Err(PushError::Vsync(error)),
        }
    }
    let now = remote_state(store).await?;
    Err(PushError::Conflict { expected: base.state.gen, found: now.gen })
}

/// The bundle for `ts`: RQE1 of the bare-JSON payload whose seal is `{"ts": ts, "gen": gen}`
/// (SPEC §5: the family's readers take bare JSON; ours check the seal against the manifest).
fn sealed_bundle(key: &Key, data: &VaultData, ts: &str, gen: u64) -> Result<Vec<u8>> {
    Ok(seal_envelope(key, &encode_sealed_bundle(data, ts, Some(gen))))
}

async fn is_ours(store: &Store, name: &str, bundle: &[u8]) -> Result<bool> {
    Ok(store.get(name).await?.is_some_and(|o| o.body == bundle))
}

/// Best effort: a bundle no manifest will name (ours alone: `If-None-Match` gave us the name).
async fn discard_bundle(store: &Store, name: &str) {
    let _ = store.delete(name).await;
}

/// The conditional-write probe: a second create of the probe object with `If-None-Match: *`
/// must be refused, and so must a write with an `If-Match` no object matches. A store that
/// accepts either ignores the headers, and the protocol's guards would silently do nothing.
async fn probe_conditional_writes(store: &Store) -> Result<(), PushError> {
    let unsupported = |detail: &str| PushError::NoConditionalWrites { detail: detail.to_string() };
    let refused = |f: PutFailure| match f.status {
        Some(400) | Some(501) => {
            PushError::NoConditionalWrites { detail: format!("it refused a conditional PUT: {}", f.error.message()) }
        }
        _ => PushError::Vsync(f.error),
    };
    let create = || store.put_if(PROBE_NAME, PROBE_BODY.to_vec(), None, &PutIf::Absent);
    match create().await.map_err(refused)? {
        PutOutcome::PreconditionFailed => {}
        PutOutcome::Stored { .. } => {
            if let PutOutcome::Stored { .. } = create().await.map_err(refused)? {
                return Err(unsupported("If-None-Match: * was ignored: a second create of the same key succeeded"));
            }
        }
    }
    let guarded = PutIf::Matches(PROBE_FALSE_ETAG.to_string());
    match store.put_if(PROBE_NAME, PROBE_BODY.to_vec(), None, &guarded).await.map_err(refused)? {
        PutOutcome::PreconditionFailed => Ok(()),
        PutOutcome::Stored { .. } => {
            Err(unsupported("If-Match was ignored: a write with an ETag nothing has succeeded"))
        }
    }
}

/// What the manifest names after a write whose outcome was open.
enum ReadBack {
    Ours,
    Other(RemoteState),
}

async fn read_back(store: &Store, ts: &str) -> Result<ReadBack> {
    let now = remote_state(store).await?;
    Ok(if now.ts.as_deref() == Some(ts) { ReadBack::Ours } else { ReadBack::Other(now) })
}

fn lost_reply_note(gen: u64, ts: &str) -> String {
    format!(
        "the manifest write was not acknowledged, but reading it back shows it landed: readers get gen {gen} (ts {ts})"
    )
}

fn meta_note(gen: u64, e: &Error) -> String {
    format!(
        "latest.meta (read only by older readers) was not updated to gen {gen} ({e}); the manifest moved: \
         readers get gen {gen}"
    )
}

fn not_moved(e: Error) -> Error {
    Error::new(
        e.kind(),
        format!("{} (reading the manifest back afterwards shows it unchanged: it was not moved)", e.message()),
    )
}

/// Turn the outcome of a deadline-bounded write into what really happened: when the deadline
/// cancelled the manifest write in flight, read the manifest back (with a fresh deadline).
fn settle(
    config: &Config,
    options: &WriteOptions,
    out: Result<Result<Pushed, PushError>>,
    progress: &Mutex<Progress>,
) -> Result<Pushed, PushError> {
    let error = match out {
        Ok(r) => return r,
        Err(e) => e,
    };
    let p = lock(progress);
    let Some((gen, ts)) = p.target.clone() else { return Err(PushError::Vsync(error)) };
    if p.manifest_moved {
        return Ok(Pushed { gen, ts, notes: vec![meta_note(gen, &error)] });
    }
    if !p.manifest_sent {
        return Err(PushError::Vsync(error));
    }
    let base = p.base.clone();
    drop(p);
    let ts_ref = &ts;
    match s3::run(config, options.timeout, |store| async move { read_back(&store, ts_ref).await }) {
        Ok(ReadBack::Ours) => {
            let mut notes = vec![lost_reply_note(gen, &ts)];
            notes.push(format!("latest.meta (read only by older readers) was not updated to gen {gen}"));
            Ok(Pushed { gen, ts, notes })
        }
        Ok(ReadBack::Other(now)) => match base {
            Some((_, base_ts)) if now.ts == base_ts => Err(PushError::Vsync(not_moved(error))),
            Some((base_gen, _)) => Err(PushError::Conflict { expected: base_gen, found: now.gen }),
            None => Err(PushError::Vsync(not_moved(error))),
        },
        Err(_) => Err(PushError::Unconfirmed { gen, ts, error }),
    }
}

/// Read the current vault's contents with a passphrase (either layout), with the readers'
/// checks (SPEC §4): a manifest whose generation disagrees with the bundle's seal is refused
/// here too, so neither a push's read-back nor a rotation re-seals a rolled-back vault under a
/// new generation. For rotation and `export`.
pub async fn read_current(store: &Store, config: &Config, passphrase: &str) -> Result<(VaultData, RemoteState)> {
    // Nothing pushed yet: ManifestNotFoundError saying to push first.
    let fetched = crate::vault::fetch(store).await?;
    let key = derive_key(passphrase, &config.salt, config.iterations);
    let (data, gen) =
        crate::vault::decrypt_fetched(&fetched, &key, &config.env, crate::limits::DEFAULT_MAX_BUNDLE_BYTES, None)?;
    Ok((data, RemoteState { gen, ts: Some(fetched.ts.clone()), layout: Some(fetched.layout) }))
}

/// The fewest bundles retention keeps: the one the manifest names and the one before it, which a
/// reader that read the previous manifest just before a push moved it is still fetching.
pub const MIN_KEEP: usize = 2;

/// What [`prune_bundles`] did: the timestamps of the bundles kept and deleted, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub kept: Vec<String>,
    pub deleted: Vec<String>,
}

/// Retention (SPEC §5): delete superseded bundles `v=<ts>`, keeping the `keep` newest up to the
/// one the manifest names now (at least [`MIN_KEEP`]), `also_keep` (a push passes the
/// timestamp the manifest named before it moved), and every bundle newer than the manifest's
/// (another writer's push in flight: its bundle is written before its manifest moves). Needs
/// `s3:ListBucket` and `s3:DeleteObject`. Every old bundle is rollback material for someone who
/// can write the manifest; deleting them shrinks what can be replayed (the floor is what stops a
/// replay, SPEC §4). Objects that are not `v=` + a timestamp are never touched.
pub async fn prune_bundles(store: &Store, keep: usize, also_keep: Option<&str>) -> Result<Pruned> {
    let manifest = store.get("manifest").await?.ok_or_else(|| {
        Error::manifest_not_found(format!(
            "no manifest at {}: nothing to prune (retention handles the runtime layout that `vsync push` writes)",
            store.key("manifest")
        ))
    })?;
    let current = unseal_manifest(&manifest.body, None)?.0.to_string();
    let mut bundles: Vec<String> = store
        .list_names("v=")
        .await?
        .into_iter()
        .filter_map(|n| {
            n.strip_prefix("v=").filter(|ts| ts.len() == TS_LEN && parse_ts(ts).is_some()).map(str::to_string)
        })
        .collect();
    bundles.sort_unstable_by(|a, b| b.cmp(a));
    bundles.dedup();
    let mut out = Pruned::default();
    let mut kept_up_to_current = 0;
    for ts in bundles {
        let keep_it = if ts.as_str() > current.as_str() {
            true
        } else {
            kept_up_to_current += 1;
            kept_up_to_current <= keep.max(MIN_KEEP) || also_keep == Some(ts.as_str())
        };
        if keep_it {
            out.kept.push(ts);
        } else {
            store.delete(&format!("v={ts}")).await?;
            out.deleted.push(ts);
        }
    }
    Ok(out)
}

/// [`prune_bundles`] as one bounded call (`vsync prune`, and `vsync push --keep` after the push).
pub fn prune(config: &Config, keep: usize, also_keep: Option<&str>, timeout: Duration) -> Result<Pruned> {
    s3::run(config, timeout, |store| async move { prune_bundles(&store, keep, also_keep).await })
}

/// Rotate: decrypt with the old passphrase, re-encrypt with the new one (and `new_config`'s
/// salt/iterations) under a new timestamp and gen+1, read the new bundle back and open it, call
/// `before_move` (the CLI shows the new runtime token there, so a salt can never be lost), then
/// move the manifest, following the same protocol as [`push_with`].
pub fn rotate(
    config: &Config,
    old_passphrase: &str,
    new_config: &Config,
    new_passphrase: &str,
    options: &WriteOptions,
    before_move: &mut dyn FnMut(&Pushed) -> Result<()>,
) -> Result<Pushed, PushError> {
    write(config, Content::Current { old_passphrase }, (new_config, new_passphrase), options, before_move)
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
