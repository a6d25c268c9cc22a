//! The commands. Each one resolves its inputs (inputs.rs), calls the core, and prints: results
//! on stdout, progress and warnings on stderr, secrets only where the command exists for it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use vsync_core::bootstrap::process_env;
use vsync_core::config::{DEFAULT_ITERATIONS, MIN_SALT_CHARS};
use vsync_core::corpus::{self, SeedTarget};
use vsync_core::s3;
use vsync_core::writer::{self, PushError, Pushed, RemoteState, WriteOptions};
use vsync_core::{open_with, Config, Error, ErrorKind, OpenOptions, Source, Vault};
use zeroize::Zeroizing;

use crate::fail::{CliError, CliResult};
use crate::inputs::{self, ConfigInput};

/// `--config-file` (and the deprecated `--config`).
#[derive(Args)]
pub struct ConfigArgs {
    /// Deprecated: the token on the command line is readable by every local user
    #[arg(long, value_name = "BLOB", conflicts_with = "config_file", hide = true)]
    config: Option<String>,
    /// A file holding the runtime token (mode 0600), or - for standard input. Default:
    /// VSYNC_CONFIG_FILE, then VSYNC_CONFIG
    #[arg(long, value_name = "PATH")]
    config_file: Option<PathBuf>,
    /// Bound on the S3 work of this command, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
}

impl ConfigArgs {
    fn resolve(&self) -> CliResult<ConfigInput> {
        inputs::config(self.config.as_deref(), self.config_file.as_deref())
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

/// The secret key flags (runtime-token, push, rotate-passphrase, vectors seed).
#[derive(Args)]
pub struct SecretKeyArgs {
    /// A file holding the secret key, or - for standard input (default: AWS_SECRET_ACCESS_KEY)
    #[arg(long, value_name = "PATH", conflicts_with = "secret_access_key")]
    secret_access_key_file: Option<PathBuf>,
    /// Deprecated: a secret key on the command line is readable by every local user
    #[arg(long, value_name = "KEY", hide = true)]
    secret_access_key: Option<String>,
}

impl SecretKeyArgs {
    /// The file's, else the flag's (with a warning), else AWS_SECRET_ACCESS_KEY.
    fn read(&self) -> CliResult<Option<Zeroizing<String>>> {
        inputs::secret_key(self.secret_access_key_file.as_deref(), self.secret_access_key.as_deref())
    }
}

/// Write credentials (push, rotate-passphrase).
#[derive(Args)]
pub struct WriteCredentialArgs {
    /// Access key id for writing (default: AWS_ACCESS_KEY_ID, else the token's own; the secret
    /// key likewise falls back to the token's own; a keyless token's: the AWS default chain)
    #[arg(long, value_name = "ID")]
    access_key_id: Option<String>,
    #[command(flatten)]
    secret_key: SecretKeyArgs,
    /// Sign with the AWS default credential chain (AWS_PROFILE, SSO, credential_process, a role)
    /// instead of the token's keys; a keyless token does this whenever no key is given
    #[arg(long, conflicts_with_all = ["access_key_id", "secret_access_key_file", "secret_access_key"])]
    ambient_credentials: bool,
}

impl WriteCredentialArgs {
    fn apply(&self, c: &Config) -> CliResult<Config> {
        if self.ambient_credentials {
            return Ok(inputs::with_ambient_credentials(c));
        }
        inputs::with_write_credentials(c, self.access_key_id.as_deref(), self.secret_key.read()?)
    }
}

/// The vault's passphrase: --passphrase-file, else VSYNC_PASSPHRASE(_FILE), else a prompt
/// (`confirm`: asked twice).
fn vault_passphrase(file: Option<&Path>, prompt: &str, confirm: bool) -> CliResult<Zeroizing<String>> {
    inputs::passphrase(file, "--passphrase-file", "VSYNC_PASSPHRASE", prompt, confirm)
}

fn location(c: &Config) -> String {
    format!("s3://{}/{} at {}", c.bucket, c.prefix, c.endpoint)
}

fn print_stdout(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::input(format!("cannot write to stdout: {e}")))
}

// ------------------------------------------------------------------------------------------
// runtime-token

/// Mint a VSYNC_CONFIG runtime token: prints the blob and a newline, nothing else on stdout
#[derive(Args)]
#[command(after_help = "\
Every flag may come from the environment instead (shown in brackets); the secret key comes from
AWS_SECRET_ACCESS_KEY or --secret-access-key-file, never from the command line. The token embeds
the credentials: give it read-only keys; writers pass their own (push --access-key-id ...).

--ambient-credentials mints a keyless token: no keys, the marker \"credentials\": \"ambient\", and
readers sign with the AWS default credential chain of the host they run on (environment, profile
files and AWS_PROFILE incl. credential_process and SSO, web identity/IRSA, EKS Pod Identity and
ECS container credentials, EC2 IMDSv2). Leaked, it reveals a bucket and a prefix, not a key. The
reader's role needs s3:GetObject on <bucket>/<prefix>* (README, trust section). Readers of the
public vsync tool family cannot read keyless tokens: mint keyed tokens for them.

Examples:
  vsync runtime-token --endpoint https://s3.us-east-1.amazonaws.com --region us-east-1 \\
      --bucket acme-secrets --prefix billing/prod/ --env prod --check > prod.token
  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... vsync runtime-token \\
      --endpoint https://<account>.r2.cloudflarestorage.com --region auto \\
      --bucket acme --prefix web/staging/ --env staging
  vsync runtime-token --ambient-credentials --endpoint https://s3.eu-west-1.amazonaws.com \\
      --region eu-west-1 --bucket acme-secrets --prefix billing/prod/ --env prod")]
pub struct RuntimeTokenArgs {
    /// S3 endpoint URL with scheme (AWS, R2, MinIO, B2, any S3-compatible store)
    #[arg(long, env = "VSYNC_ENDPOINT", value_name = "URL")]
    endpoint: String,
    /// Signing region (`auto` for R2)
    #[arg(long, env = "AWS_REGION")]
    region: String,
    /// Bucket name
    #[arg(long, env = "VSYNC_BUCKET")]
    bucket: String,
    /// Object-key prefix, used verbatim (normally ends with `/`; may be empty)
    #[arg(long, env = "VSYNC_PREFIX", allow_hyphen_values = true)]
    prefix: String,
    /// Environment label (for messages; picks `.env.<env>` in vault folders)
    #[arg(long = "env", env = "VSYNC_ENV", value_name = "ENV")]
    env_label: String,
    /// Access key id the readers will use (read-only keys recommended), with the secret key below
    #[arg(long, env = "AWS_ACCESS_KEY_ID", value_name = "ID", required_unless_present = "ambient_credentials")]
    access_key_id: Option<String>,
    #[command(flatten)]
    secret_key: SecretKeyArgs,
    /// A keyless token: no keys; readers use the AWS default credential chain of their host
    /// (see below). Keys in the environment are not embedded
    #[arg(long, conflicts_with_all = ["secret_access_key_file", "secret_access_key"])]
    ambient_credentials: bool,
    /// PBKDF2 salt string (at least 16 characters); default: a fresh random one
    #[arg(long)]
    salt: Option<String>,
    /// PBKDF2 iteration count
    #[arg(long, default_value_t = DEFAULT_ITERATIONS, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// Verify that the bucket is reachable with these credentials (one HEAD) before printing
    #[arg(long)]
    check: bool,
    /// Bound on --check, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
}

pub fn runtime_token(a: RuntimeTokenArgs) -> CliResult {
    if !(a.endpoint.starts_with("http://") || a.endpoint.starts_with("https://")) {
        return Err(CliError::input(format!(
            "--endpoint {:?} has no scheme: give a full URL such as https://s3.us-east-1.amazonaws.com",
            a.endpoint
        )));
    }
    let key_id = if a.ambient_credentials { String::new() } else { a.access_key_id.unwrap_or_default() };
    for (flag, v) in [("--region", &a.region), ("--bucket", &a.bucket), ("--env", &a.env_label)]
        .into_iter()
        .chain((!a.ambient_credentials).then_some(("--access-key-id", &key_id)))
    {
        if v.trim().is_empty() {
            return Err(CliError::input(format!("{flag} is empty")));
        }
    }
    let secret_access_key = if a.ambient_credentials {
        Zeroizing::new(String::new())
    } else {
        a.secret_key.read()?.filter(|s| !s.is_empty()).ok_or_else(|| {
            CliError::input(
                "no secret key: set AWS_SECRET_ACCESS_KEY or pass --secret-access-key-file PATH (or -); for a \
                 keyless token (the readers' AWS role signs), pass --ambient-credentials",
            )
        })?
    };
    let salt = match a.salt {
        Some(s) if s.chars().count() < MIN_SALT_CHARS => {
            return Err(CliError::input(format!(
                "--salt must be at least {MIN_SALT_CHARS} characters (readers refuse shorter ones); omit it for a random one"
            )))
        }
        Some(s) => s,
        None => writer::random_salt(),
    };
    let config = Config {
        endpoint: a.endpoint,
        region: a.region,
        bucket: a.bucket,
        access_key_id: key_id,
        secret_access_key,
        ambient_credentials: a.ambient_credentials,
        prefix: a.prefix,
        env: a.env_label,
        salt,
        iterations: a.iterations,
    };
    // The readers' own check (a CR/LF in a region or key id would panic their request signer):
    // a token they would refuse is never minted.
    if let Some((field, problem)) = config.field_problem() {
        let flag = match field {
            "accessKeyId" => "access-key-id",
            other => other,
        };
        return Err(CliError::input(format!("--{flag} {problem}; no token was printed")));
    }
    if a.check {
        s3::run(&config, Duration::from_secs(a.timeout.max(1)), |store| async move { store.check_bucket().await })
            .map_err(|e| {
                CliError::from(e).with_hint("fix the endpoint, region, bucket or credentials; no token was printed")
            })?;
        crate::fail::say!("vsync: {} is reachable with these credentials", location(&config));
    }
    print_stdout(&format!("{}\n", config.encode()))
}

// ------------------------------------------------------------------------------------------
// push

/// Encrypt a .env file and assets (or a vault folder) and push them as a new generation
#[derive(Args)]
#[command(after_help = "\
Writes the runtime layout (`<prefix>manifest`, `<prefix>v=<ts>`, `<prefix>latest.meta`) with
generation = remote generation + 1: the bundle first, the manifest last, so a failed push leaves
the previous vault readable. Prints `pushed gen=N ts=TS` on stdout.

Concurrent pushes are safe: the bundle is created with If-None-Match and the manifest replaced
with If-Match on what this push read (S3 conditional writes; the store is probed for them
first). When another push got there first, this one fails with ConflictError (exit 20) and
leaves nothing behind. When the manifest write gets no answer, push reads it back and reports
what really happened.

Before writing, push checks that the passphrase opens the vault already there (so a typo cannot
lock every reader out); change a passphrase with `vsync rotate-passphrase`, or pass --force.

With --keep N (N >= 2), push then deletes superseded bundles as `vsync prune --keep N` does,
never the one the manifest named before this push (a reader may still be fetching it). Every
old bundle is rollback material for whoever can write the bucket; retention needs
s3:ListBucket and s3:DeleteObject on the prefix (see `vsync prune --help`).

Examples:
  VSYNC_CONFIG_FILE=prod.token vsync push --env-file .env.prod --asset tls/key.pem=./key.pem
  vsync push --config-file prod.token --passphrase-file pw.txt --vault-dir ./vault --expect-gen 4
  AWS_ACCESS_KEY_ID=<writer> AWS_SECRET_ACCESS_KEY=<writer> vsync push --config-file t --env-file .env")]
pub struct PushArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// File holding the passphrase (default: VSYNC_PASSPHRASE_FILE, VSYNC_PASSPHRASE, a prompt)
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
    /// The key/values, in .env syntax (SPEC §6 rules)
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// A vault folder: `.env.<env>` gives the key/values, every other file is an asset named by its relative path
    #[arg(long, value_name = "DIR", conflicts_with = "env_file")]
    vault_dir: Option<PathBuf>,
    /// A binary asset (repeatable)
    #[arg(long = "asset", value_name = "NAME=PATH", value_parser = inputs::parse_asset)]
    assets: Vec<(String, PathBuf)>,
    /// Refuse to push unless the remote generation is N (lost-update guard)
    #[arg(long, value_name = "N")]
    expect_gen: Option<u64>,
    /// Push even when the passphrase does not open the current vault (or it is unreadable)
    #[arg(long)]
    force: bool,
    /// After the push, delete superseded bundles, keeping the N newest (N >= 2; as `vsync prune`)
    #[arg(long, value_name = "N", value_parser = parse_keep)]
    keep: Option<usize>,
    #[command(flatten)]
    write: WriteModeArgs,
    #[command(flatten)]
    creds: WriteCredentialArgs,
}

/// `--keep N`: at least `writer::MIN_KEEP`, so the bundle the previous manifest named survives.
fn parse_keep(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= writer::MIN_KEEP => Ok(n),
        _ => Err(format!(
            "expected a whole number >= {}: the bundle the manifest names and the one before it (which a \
             reader that read the previous manifest may still be fetching) are always kept",
            writer::MIN_KEEP
        )),
    }
}

/// How push and rotate-passphrase write.
#[derive(Args)]
pub struct WriteModeArgs {
    /// For stores without S3 conditional writes: skip the check for them. Only safe when no
    /// other writer can push to this prefix at the same time
    #[arg(long)]
    single_writer: bool,
}

impl WriteModeArgs {
    fn options(&self, expect_gen: Option<u64>, timeout: Duration) -> WriteOptions {
        WriteOptions { expect_gen, timeout, single_writer: self.single_writer }
    }
}

/// A writer failure as the CLI reports it: every message says whether readers see a change.
/// `new_token` names where a rotation's new runtime token was shown, when there is one.
fn write_failure(e: PushError, wcfg: &Config, new_token: Option<&str>) -> CliError {
    let previous = match new_token {
        Some(shown) => format!(
            "the manifest was not moved: readers still get the previous vault at {} with the current token \
             and passphrase (the new token {shown} is not in use)",
            location(wcfg)
        ),
        None => format!("the manifest was not moved: readers still get the previous vault at {}", location(wcfg)),
    };
    match e {
        PushError::Conflict { expected, found } => CliError::Conflict { expected, found },
        PushError::NoConditionalWrites { detail } => CliError::NoConditionalWrites { detail },
        PushError::Unconfirmed { gen, ts, error } => {
            let landed = match new_token {
                Some(shown) => format!("readers need the new token ({shown}) and the new passphrase"),
                None => "the push is in place".to_string(),
            };
            CliError::Unconfirmed {
                hint: format!(
                    "run `vsync status`: if it shows generation {gen} pushed at {ts}, the write landed and {landed}; \
                     otherwise {previous}"
                ),
                cause: error.to_string(),
                gen,
                ts,
            }
        }
        PushError::Vsync(error) => match error.kind() {
            ErrorKind::WrongPassphrase => CliError::from(error)
                .with_hint("the current passphrase (and token) must open the vault as it is now; nothing was changed"),
            _ => CliError::from(error).with_hint(format!("check the write credentials and the endpoint; {previous}")),
        },
    }
}

fn print_notes(pushed: &Pushed) {
    for n in &pushed.notes {
        crate::fail::say!("vsync: note: {n}");
    }
}

fn remote_state(config: &Config, timeout: Duration) -> CliResult<RemoteState> {
    Ok(s3::run(config, timeout, |store| async move { writer::remote_state(&store).await })?)
}

fn check_expected(expect: Option<u64>, state: &RemoteState) -> CliResult {
    match expect {
        Some(expected) if expected != state.gen => Err(CliError::Conflict { expected, found: state.gen }),
        _ => Ok(()),
    }
}

pub fn push(a: PushArgs) -> CliResult {
    let cfg = a.cfg.resolve()?;
    if a.env_file.is_none() && a.vault_dir.is_none() && a.assets.is_empty() {
        return Err(CliError::input("nothing to push: give --env-file, --vault-dir or --asset NAME=PATH"));
    }
    let data = inputs::vault_data(a.env_file.as_deref(), a.vault_dir.as_deref(), &a.assets, &cfg.config.env)?;
    let wcfg = a.creds.apply(&cfg.config)?;
    let timeout = a.cfg.timeout();
    let state = remote_state(&wcfg, timeout)?;
    check_expected(a.expect_gen, &state)?;
    // A first push asks twice: a typo would lock every reader out.
    let pass = vault_passphrase(a.passphrase_file.as_deref(), "Vault passphrase", state.ts.is_none())?;
    if state.ts.is_some() && !a.force {
        let (c, p) = (&wcfg, &pass);
        s3::run(&wcfg, timeout, |store| async move { writer::read_current(&store, c, p).await.map(|_| ()) }).map_err(
            |e| match e.kind() {
                ErrorKind::WrongPassphrase => CliError::from(e).with_hint(format!(
                    "the vault at {} (gen {}) was pushed with another passphrase; push with that one, \
                     change it with `vsync rotate-passphrase`, or pass --force to replace it (every reader \
                     then needs the new passphrase); nothing was written",
                    location(&wcfg),
                    state.gen
                )),
                ErrorKind::BundleCorrupt | ErrorKind::UnsupportedSpecVersion => CliError::from(e).with_hint(
                    "the current vault cannot be read back; pass --force to replace it; nothing was written",
                ),
                _ => CliError::from(e),
            },
        )?;
    }
    let options = a.write.options(Some(state.gen), timeout);
    let pushed = writer::push_with(&wcfg, &pass, &data, &options).map_err(|e| write_failure(e, &wcfg, None))?;
    print_notes(&pushed);
    crate::fail::say!(
        "vsync: pushed {} key(s) and {} asset(s) to {} (env {})",
        data.kv.len(),
        data.assets.len(),
        location(&wcfg),
        wcfg.env
    );
    print_stdout(&format!("pushed gen={} ts={}\n", pushed.gen, pushed.ts))?;
    if let Some(keep) = a.keep {
        // `state.ts` is what the manifest named before this push moved it (the push was guarded
        // on that state): a reader that read it just before may still be fetching its bundle.
        let pruned = writer::prune(&wcfg, keep, state.ts.as_deref(), timeout).map_err(|e| {
            CliError::from(e).with_hint(format!(
                "the push itself succeeded (gen {}); only deleting old bundles failed: retention needs \
                 s3:ListBucket and s3:DeleteObject on the prefix; run `vsync prune --keep {keep}` later",
                pushed.gen
            ))
        })?;
        report_pruned(&pruned);
    }
    Ok(())
}

fn report_pruned(pruned: &writer::Pruned) {
    for ts in &pruned.deleted {
        crate::fail::say!("vsync: deleted v={ts}");
    }
    crate::fail::say!("vsync: kept {} bundle(s), deleted {}", pruned.kept.len(), pruned.deleted.len());
}

// ------------------------------------------------------------------------------------------
// prune

/// Delete superseded bundles, keeping the newest ones (retention)
#[derive(Args)]
#[command(after_help = "\
Every push leaves its bundle `<prefix>v=<ts>` behind; nothing deletes them unless you prune.
Storage grows per push, and every old bundle is rollback material: whoever can write the bucket
can point the manifest back at it (readers refuse a manifest whose generation disagrees with the
bundle's sealed one, and `min_generation` / VSYNC_MIN_GENERATION refuses old pairs; see SPEC §4).

prune reads the manifest, lists `<prefix>v=*` and deletes every bundle except: the --keep newest
up to the one the manifest names (default 2, at least 2: the current one and the one before,
which a reader that read the previous manifest just before a push may still be fetching), and
every bundle newer than the manifest's (a push in flight writes its bundle before it moves the
manifest). Nothing else under the prefix is touched. Prints `pruned deleted=N kept=M`.

Permissions (write credentials, like push): s3:GetObject on <prefix>manifest, s3:ListBucket on
the bucket with the condition s3:prefix = <prefix>v= (or a prefix-wide grant), s3:DeleteObject
on <prefix>v=*. On a versioned bucket a delete only adds a delete marker: expire noncurrent
versions with a lifecycle rule, or the old bundles stay readable to whoever can read versions.

Examples:
  VSYNC_CONFIG_FILE=prod.token vsync prune
  vsync prune --config-file prod.token --keep 5
  vsync push --config-file prod.token --env-file .env --keep 5     (push, then prune)")]
pub struct PruneArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// How many bundles to keep, newest first, up to the one the manifest names (at least 2)
    #[arg(long, value_name = "N", default_value_t = writer::MIN_KEEP, value_parser = parse_keep)]
    keep: usize,
    #[command(flatten)]
    creds: WriteCredentialArgs,
}

pub fn prune(a: PruneArgs) -> CliResult {
    let cfg = a.cfg.resolve()?;
    let wcfg = a.creds.apply(&cfg.config)?;
    let pruned = writer::prune(&wcfg, a.keep, None, a.cfg.timeout()).map_err(|e| {
        CliError::from(e).with_hint(
            "retention needs s3:ListBucket and s3:DeleteObject on the prefix (write credentials: \
             --access-key-id / AWS_ACCESS_KEY_ID); readers are unaffected by what was not deleted",
        )
    })?;
    report_pruned(&pruned);
    print_stdout(&format!("pruned deleted={} kept={}\n", pruned.deleted.len(), pruned.kept.len()))
}

// ------------------------------------------------------------------------------------------
// rotate-passphrase

/// Re-encrypt the current vault under a new passphrase (and optionally a new salt)
#[derive(Args)]
#[command(after_help = "\
Decrypts the current bundle with the old passphrase, re-encrypts it with the new one under a new
timestamp and generation + 1 (sealed with the new timestamp), reads it back to verify, and only
then moves the manifest (with the same conditional writes as push). Without --new-salt, stdout is
`rotated gen=N ts=TS` and the runtime token is unchanged.

With --new-salt, the NEW runtime token goes to stdout (and to --new-token-file, created 0600)
BEFORE the manifest moves, so the salt can never be lost: if the command then fails, stderr says
whether the new token is in use (exit 0: it is; exit 20 or 13-17: it is not, keep the current
one; exit 21: `vsync status` tells). The summary goes to stderr.

The new passphrase comes from --new-passphrase-file, VSYNC_NEW_PASSPHRASE_FILE,
VSYNC_NEW_PASSPHRASE, or a prompt (asked twice).

Examples:
  vsync rotate-passphrase --config-file prod.token --passphrase-file old.txt --new-passphrase-file new.txt
  vsync rotate-passphrase --config-file prod.token --new-salt > prod.token.new")]
pub struct RotateArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// File holding the current passphrase (default: VSYNC_PASSPHRASE_FILE, VSYNC_PASSPHRASE, a prompt)
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
    /// File holding the new passphrase
    #[arg(long, value_name = "PATH")]
    new_passphrase_file: Option<PathBuf>,
    /// Also change the salt, and print the new runtime token deployments need
    #[arg(long)]
    new_salt: bool,
    /// With --new-salt: also write the new runtime token to this file (created with mode 0600;
    /// it must not exist yet), before the manifest moves
    #[arg(long, value_name = "PATH", requires = "new_salt")]
    new_token_file: Option<PathBuf>,
    #[command(flatten)]
    write: WriteModeArgs,
    #[command(flatten)]
    creds: WriteCredentialArgs,
}

/// Create `path` with mode 0600 (never over an existing file) holding `token` and a newline,
/// flushed to disk.
fn write_token_file(path: &Path, token: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(format!("{token}\n").as_bytes())?;
    f.sync_all()
}

pub fn rotate(a: RotateArgs) -> CliResult {
    let cfg = a.cfg.resolve()?;
    if let Some(p) = &a.new_token_file {
        if p.exists() {
            return Err(CliError::input(format!(
                "--new-token-file {}: the file exists; give a new path (it is never overwritten)",
                p.display()
            )));
        }
    }
    let old = vault_passphrase(a.passphrase_file.as_deref(), "Current passphrase", false)?;
    let new = inputs::passphrase(
        a.new_passphrase_file.as_deref(),
        "--new-passphrase-file",
        "VSYNC_NEW_PASSPHRASE",
        "New passphrase",
        true,
    )?;
    if *old == *new && !a.new_salt {
        return Err(CliError::input(
            "the new passphrase is the same as the current one: nothing to rotate (pass --new-salt to change only the salt)",
        ));
    }
    let wcfg = a.creds.apply(&cfg.config)?;
    let mut new_wcfg = wcfg.clone();
    let mut new_token_config = cfg.config.clone();
    if a.new_salt {
        let salt = writer::random_salt();
        new_wcfg.salt = salt.clone();
        new_token_config.salt = salt;
    }
    let new_token = Zeroizing::new(new_token_config.encode());
    let shown = match &a.new_token_file {
        Some(p) => format!("printed on stdout and written to {}", p.display()),
        None => "printed on stdout".to_string(),
    };
    // Runs after the new bundle is stored and verified, before the manifest moves: once the
    // manifest names a bundle sealed under the new salt, that salt must already be in hand.
    let hook_failure = std::cell::RefCell::new(None);
    let mut show_new_token = |_: &Pushed| -> vsync_core::Result<()> {
        if !a.new_salt {
            return Ok(());
        }
        let shown_ok = match &a.new_token_file {
            Some(p) => write_token_file(p, &new_token).map_err(|e| {
                CliError::input(format!("--new-token-file {}: cannot write the new token: {e}", p.display()))
            }),
            None => Ok(()),
        }
        .and_then(|()| print_stdout(&format!("{}\n", new_token.as_str())));
        if let Err(e) = shown_ok {
            *hook_failure.borrow_mut() = Some(e);
            // Stops the rotation before the manifest moves; the CLI reports `hook_failure`.
            return Err(Error::config_missing("the new runtime token could not be shown"));
        }
        crate::fail::say!(
            "vsync: the new runtime token is {shown}; it takes effect when the manifest moves (reported below)"
        );
        Ok(())
    };
    let options = a.write.options(None, a.cfg.timeout());
    let result = writer::rotate(&wcfg, &old, &new_wcfg, &new, &options, &mut show_new_token);
    let rotated = match result {
        Ok(r) => r,
        Err(e) => {
            let shown_failure = hook_failure.borrow_mut().take();
            return Err(match shown_failure {
                Some(f) => match f {
                    CliError::Input(m) => CliError::input(format!("{m}; nothing was changed")),
                    other => other,
                },
                None => write_failure(e, &wcfg, a.new_salt.then_some(shown.as_str())),
            });
        }
    };
    print_notes(&rotated);
    if a.new_salt {
        crate::fail::say!(
            "vsync: rotated {} to gen={} ts={} with a new salt: deploy the new runtime token ({shown}) with the new passphrase",
            location(&wcfg),
            rotated.gen,
            rotated.ts
        );
        Ok(())
    } else {
        crate::fail::say!("vsync: rotated {}: readers need the new passphrase from now on", location(&wcfg));
        print_stdout(&format!("rotated gen={} ts={}\n", rotated.gen, rotated.ts))
    }
}

// ------------------------------------------------------------------------------------------
// status

/// Show the decoded token (redacted), the remote generation and layout, and where each key resolves from
#[derive(Args)]
#[command(after_help = "\
Never prints a value. Key and asset names are listed when a passphrase is available
(--passphrase-file, VSYNC_PASSPHRASE_FILE or VSYNC_PASSPHRASE; status does not prompt).
`signed by` names the credentials the requests were signed with: for a keyless token, the
source of the AWS default chain this host resolved (AWS_PROFILE, web identity, container
credentials, IMDS, ...), the first thing to check when a role is refused.

Examples:
  VSYNC_CONFIG_FILE=prod.token vsync status
  vsync status --config-file prod.token --passphrase-file pw.txt --key PORT --key LOG_LEVEL --json")]
pub struct StatusArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// File holding the passphrase
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
    /// Also show where this key would resolve from (repeatable): vault, env or missing
    #[arg(long = "key", value_name = "NAME")]
    keys: Vec<String>,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

fn error_json(e: &CliError) -> Value {
    json!({"class": e.class_name(), "code": e.code(), "message": e.message()})
}

pub fn status(a: StatusArgs) -> CliResult {
    let cfg = a.cfg.resolve()?;
    let timeout = a.cfg.timeout();
    let mut report = Map::new();
    report.insert("config_from".into(), json!(cfg.origin));
    report.insert("config".into(), cfg.config.to_redacted_json());
    let mut failure: Option<CliError> = None;

    // Which credentials signed: for a keyless token, the chain source this host resolved (the
    // first question when IRSA or a task role misbehaves).
    let remote = s3::run(&cfg.config, timeout, |store| async move {
        let signed_by = store.signed_by();
        writer::remote_state(&store).await.map(|s| (s, signed_by))
    });
    let remote = match remote {
        Ok((s, signed_by)) => {
            report.insert(
                "remote".into(),
                json!({
                    "generation": s.gen,
                    "layout": s.layout.map(|l| l.label()),
                    "timestamp": s.ts,
                    "pushed": s.ts.is_some(),
                    "signed_by": signed_by,
                }),
            );
            Ok(s)
        }
        Err(e) => {
            let e = CliError::from(e);
            report.insert("remote".into(), json!({"error": error_json(&e)}));
            Err(e)
        }
    };
    let pass =
        inputs::passphrase_noninteractive(a.passphrase_file.as_deref(), "--passphrase-file", "VSYNC_PASSPHRASE")?;
    let mut vault_json = Value::Null;
    match (&remote, pass) {
        (Err(_), _) => {
            if let Err(e) = remote {
                failure = Some(e);
            }
        }
        (Ok(s), _) if s.ts.is_none() => {
            failure = Some(
                CliError::from(Error::manifest_not_found(format!(
                    "nothing has been pushed to {}",
                    location(&cfg.config)
                )))
                .with_hint("push a vault first with `vsync push`, or check the bucket and prefix of the token"),
            );
        }
        (Ok(_), None) => {
            report.insert(
                "keys_hidden_reason".into(),
                json!("no passphrase: pass --passphrase-file or set VSYNC_PASSPHRASE(_FILE) to list key names"),
            );
        }
        (Ok(_), Some(pass)) => match open(&cfg, &pass, timeout) {
            Ok(v) => {
                let mut keys = Vec::new();
                let names = v.keys()?;
                let extra: Vec<&String> = a.keys.iter().filter(|k| !names.contains(k)).collect();
                for k in names.iter().chain(extra) {
                    let source = v.env_source(k, &mut |n| process_env(n))?;
                    let in_env = process_env(k).is_some();
                    keys.push(json!({"name": k, "source": source.label(), "in_vault": source == Source::Vault,
                                     "shadows_env": source == Source::Vault && in_env}));
                }
                let mut assets = Vec::new();
                for n in v.asset_names()? {
                    let len = v.get_as_content(&n)?.len();
                    assets.push(json!({"name": n, "bytes": len}));
                }
                vault_json = json!({"generation": v.generation()?, "keys": keys, "assets": assets});
                v.close();
            }
            Err(e) => failure = Some(e),
        },
    }
    report.insert("vault".into(), vault_json);
    report.insert("error".into(), failure.as_ref().map(error_json).unwrap_or(Value::Null));

    if a.json {
        let text =
            serde_json::to_string_pretty(&Value::Object(report)).map_err(|e| CliError::Internal(e.to_string()))?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_stdout(&human_status(&report))?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn human_status(r: &Map<String, Value>) -> String {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let c = &r["config"];
    out.push_str(&format!("config (from {})\n", s(&r["config_from"])));
    for (label, field) in [
        ("endpoint", "endpoint"),
        ("region", "region"),
        ("bucket", "bucket"),
        ("prefix", "prefix"),
        ("env", "env"),
        ("credentials", "credentials"),
        ("access key id", "accessKeyId"),
        ("secret key", "secretAccessKey"),
        ("salt", "salt"),
        ("iterations", "iterations"),
    ] {
        out.push_str(&format!("  {label:<14}{}\n", s(&c[field])));
    }
    out.push_str("remote\n");
    let rem = &r["remote"];
    if rem.get("signed_by").is_some() {
        out.push_str(&format!("  {:<14}{}\n", "signed by", s(&rem["signed_by"])));
    }
    if rem.get("error").is_some() {
        out.push_str(&format!("  {:<14}{}\n", "error", s(&rem["error"]["class"])));
    } else if rem["pushed"] == json!(false) {
        out.push_str("  nothing pushed yet at this bucket/prefix\n");
    } else {
        out.push_str(&format!("  {:<14}{}\n", "generation", s(&rem["generation"])));
        out.push_str(&format!("  {:<14}{}\n", "layout", s(&rem["layout"])));
        out.push_str(&format!("  {:<14}{}\n", "pushed at", s(&rem["timestamp"])));
    }
    if let Some(reason) = r.get("keys_hidden_reason") {
        out.push_str(&format!("keys: not listed ({})\n", s(reason)));
    }
    if let Value::Object(v) = &r["vault"] {
        out.push_str(&format!("keys (opened gen {}; names and sources only)\n", s(&v["generation"])));
        for k in v["keys"].as_array().into_iter().flatten() {
            let note =
                if k["shadows_env"] == json!(true) { "  (also set in the environment; the vault wins)" } else { "" };
            out.push_str(&format!("  {:<30}{}{}\n", s(&k["name"]), s(&k["source"]), note));
        }
        let assets = v["assets"].as_array().map(Vec::as_slice).unwrap_or_default();
        out.push_str(&format!("assets ({})\n", assets.len()));
        for x in assets {
            out.push_str(&format!("  {:<30}{} bytes\n", s(&x["name"]), s(&x["bytes"])));
        }
    }
    out
}

fn open(cfg: &ConfigInput, pass: &str, timeout: Duration) -> CliResult<Vault> {
    let options = OpenOptions { timeout, ..OpenOptions::default() };
    Ok(open_with(&cfg.blob, pass, options)?)
}

// ------------------------------------------------------------------------------------------
// get / export

/// Print one value (or an asset's bytes); for scripts and debugging
#[derive(Args)]
#[command(after_help = "\
Resolves KEY like the libraries do: the vault, then the process environment. Prints the value
and a newline. With --content, writes the asset (or value) bytes as they are, without a newline.

Examples:
  DB_URL=$(vsync get DATABASE_URL --config-file prod.token --passphrase-file pw.txt)
  vsync get --content tls/key.pem --config-file prod.token > key.pem")]
pub struct GetArgs {
    /// Key (or, with --content, asset) name
    name: String,
    #[command(flatten)]
    cfg: ConfigArgs,
    /// File holding the passphrase (default: VSYNC_PASSPHRASE_FILE, VSYNC_PASSPHRASE, a prompt)
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
    /// Print an asset's raw bytes (or a key's value without a newline)
    #[arg(long)]
    content: bool,
}

fn open_for_reading(cfg: &ConfigArgs, passphrase_file: Option<&Path>) -> CliResult<Vault> {
    let c = cfg.resolve()?;
    let pass = vault_passphrase(passphrase_file, "Vault passphrase", false)?;
    open(&c, &pass, cfg.timeout())
}

pub fn get(a: GetArgs) -> CliResult {
    let v = open_for_reading(&a.cfg, a.passphrase_file.as_deref())?;
    if a.content {
        let bytes = v.get_as_content(&a.name)?;
        let mut out = std::io::stdout().lock();
        return out
            .write_all(&bytes)
            .and_then(|()| out.flush())
            .map_err(|e| CliError::input(format!("cannot write to stdout: {e}")));
    }
    let r = v.resolve(&a.name, &mut |n| process_env(n))?;
    match r.value {
        Some(value) => print_stdout(&Zeroizing::new(format!("{}\n", value.as_str()))),
        None => Err(Error::new(
            ErrorKind::NotFound,
            format!("{:?} is neither in the vault nor in the process environment", a.name),
        )
        .into()),
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Dotenv,
    Json,
}

/// Print every key/value of the vault, for scripts and debugging
#[derive(Args)]
#[command(after_help = "\
Prints the vault's own key/values (not the process environment), in vault order. dotenv output
quotes every value (`KEY=\"value\"`), which `vsync push --env-file` reads back unchanged; values
with line breaks need --format json.

Examples:
  vsync export --config-file prod.token --format dotenv > .env.backup
  vsync export --config-file prod.token --format json | jq .")]
pub struct ExportArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// File holding the passphrase (default: VSYNC_PASSPHRASE_FILE, VSYNC_PASSPHRASE, a prompt)
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "dotenv")]
    format: ExportFormat,
}

pub fn export(a: ExportArgs) -> CliResult {
    let v = open_for_reading(&a.cfg, a.passphrase_file.as_deref())?;
    let mut out = Zeroizing::new(String::new());
    let mut obj = Map::new();
    for k in v.keys()? {
        let value = v.get_env(&k, &mut |_| None)?.unwrap_or_default();
        match a.format {
            ExportFormat::Dotenv => {
                if k.is_empty() || k.contains(['=', '\n', '\r']) || k.starts_with('#') || k.trim() != k {
                    return Err(CliError::input(format!(
                        "key {k:?} cannot be written as a .env line; use --format json"
                    )));
                }
                if value.contains(['\n', '\r']) {
                    return Err(CliError::input(format!("the value of {k} has a line break; use --format json")));
                }
                out.push_str(&format!("{k}=\"{}\"\n", value.as_str()));
            }
            ExportFormat::Json => {
                obj.insert(k, Value::from(value.as_str()));
            }
        }
    }
    if let ExportFormat::Json = a.format {
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&Value::Object(obj)).map_err(|e| CliError::Internal(e.to_string()))?,
        );
        out.push_str(&text);
        out.push('\n');
    }
    v.close();
    print_stdout(&out)
}

// ------------------------------------------------------------------------------------------
// decode-config

/// Print a runtime token's JSON, with the secret key redacted
#[derive(Args)]
#[command(after_help = "\
The token comes from --config-file (- for standard input), else VSYNC_CONFIG_FILE, else
VSYNC_CONFIG; never put it on the command line (it holds a secret key).

Examples:
  vsync decode-config                      # reads VSYNC_CONFIG_FILE or VSYNC_CONFIG
  vsync decode-config --config-file prod.token --show-secrets
  kubectl get secret app -o jsonpath='{.data.VSYNC_CONFIG}' | base64 -d | vsync decode-config --config-file -")]
pub struct DecodeArgs {
    /// Deprecated: the token on the command line is readable by every local user
    #[arg(value_name = "BLOB", conflicts_with_all = ["config", "config_file"], hide = true)]
    blob: Option<String>,
    #[command(flatten)]
    cfg: ConfigArgs,
    /// Reveal secretAccessKey
    #[arg(long)]
    show_secrets: bool,
}

pub fn decode_config(a: DecodeArgs) -> CliResult {
    let config = match &a.blob {
        Some(b) if b == "-" => inputs::config(None, Some(Path::new("-")))?.config,
        Some(b) => {
            inputs::warn_secret_on_command_line(
                "decode-config BLOB",
                "--config-file PATH, --config-file - (standard input), VSYNC_CONFIG_FILE or VSYNC_CONFIG",
            );
            Config::decode(b)?
        }
        None => a.cfg.resolve()?.config,
    };
    let v = if a.show_secrets { config.to_json() } else { config.to_redacted_json() };
    let text = Zeroizing::new(serde_json::to_string_pretty(&v).map_err(|e| CliError::Internal(e.to_string()))?);
    print_stdout(&format!("{}\n", text.as_str()))
}

// ------------------------------------------------------------------------------------------
// vectors

#[derive(Subcommand)]
/// The conformance corpus: regenerate it, or seed its live scenarios into a bucket
pub enum VectorsCommand {
    /// Regenerate the conformance corpus into DIR, deterministically
    Generate {
        /// Target directory (created if needed), normally conformance/vectors
        dir: PathBuf,
    },
    /// Write every live scenario of a corpus into a bucket, and each scenario's runtime token to OUT/<category>/<name>.config
    Seed {
        /// The corpus directory
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, value_name = "URL")]
        endpoint: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        #[arg(long, value_name = "ID")]
        access_key_id: String,
        #[command(flatten)]
        secret_key: SecretKeyArgs,
        #[arg(long)]
        bucket: String,
        /// Where to write the scenario tokens
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn vectors(c: VectorsCommand) -> CliResult {
    match c {
        VectorsCommand::Generate { dir } => {
            let n = corpus::generate(&dir)?;
            crate::fail::say!("vsync: wrote {n} vectors to {}", dir.display());
            Ok(())
        }
        VectorsCommand::Seed { corpus: dir, endpoint, region, access_key_id, secret_key, bucket, out } => {
            let secret_access_key = secret_key
                .read()?
                .ok_or_else(|| {
                    CliError::input("no secret key: set AWS_SECRET_ACCESS_KEY or pass --secret-access-key-file PATH")
                })?
                .to_string();
            let target = SeedTarget { endpoint, region, access_key_id, secret_access_key, bucket };
            let n = corpus::seed(&dir, &target, &out)?;
            crate::fail::say!(
                "vsync: seeded {n} live scenarios into s3://{}; tokens in {}",
                target.bucket,
                out.display()
            );
            Ok(())
        }
    }
}
