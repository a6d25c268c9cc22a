//! Helpers shared by the CLI's integration tests (each test file includes this with `mod common;`):
//! the real local S3 server that `scripts/with-s3.sh` starts (VSYNC_TEST_ENDPOINT,
//! VSYNC_TEST_ACCESS_KEY, VSYNC_TEST_SECRET_KEY, VSYNC_TEST_BUCKET), fresh prefixes under it,
//! private files, and running the binary for an expected exit code. A missing variable is an
//! error, never a skip. Not every test file uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use vsync_core::Config;

/// A variable `scripts/with-s3.sh` exports; its absence says how to run the tests.
pub fn test_var(n: &str) -> Result<String, String> {
    std::env::var(n)
        .map_err(|_| format!("{n} is not set: run these tests through scripts/with-s3.sh (./scripts/task test:cli)"))
}

/// An S3 endpoint and credentials tests may write under.
#[derive(Clone)]
pub struct S3 {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
}

/// The dev server `scripts/with-s3.sh` started.
pub fn dev_server() -> Result<S3, String> {
    Ok(S3 {
        endpoint: test_var("VSYNC_TEST_ENDPOINT")?,
        access_key: test_var("VSYNC_TEST_ACCESS_KEY")?,
        secret_key: test_var("VSYNC_TEST_SECRET_KEY")?,
        bucket: test_var("VSYNC_TEST_BUCKET")?,
    })
}

impl S3 {
    /// `vsync runtime-token` for `prefix` of this server (region us-east-1), without credentials:
    /// the caller adds keys or `--ambient-credentials`.
    pub fn runtime_token_args<'a>(&'a self, prefix: &'a str, env: &'a str) -> [&'a str; 11] {
        [
            "runtime-token",
            "--endpoint",
            &self.endpoint,
            "--region",
            "us-east-1",
            "--bucket",
            &self.bucket,
            "--prefix",
            prefix,
            "--env",
            env,
        ]
    }

    /// A vault config (region us-east-1) for `prefix` of this server.
    pub fn config(&self, prefix: String, env: &str, salt: String, iterations: u32) -> Config {
        Config {
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            bucket: self.bucket.clone(),
            access_key_id: self.access_key.clone(),
            secret_access_key: self.secret_key.clone().into(),
            ambient_credentials: false,
            prefix,
            env: env.into(),
            salt,
            iterations,
        }
    }
}

/// A test's scratch directory (token and passphrase files, inputs) and its vault: a prefix of
/// `s3` and the token for it. Each test file adds its own constructor and commands.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub s3: S3,
    pub prefix: String,
    pub token: String,
}

impl Scratch {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// [`Scratch::path`] as a string, for argv.
    pub fn p(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

/// A prefix no other test (or earlier run) uses: `<scope>-<tag>-<nanos>-<n>/`.
pub fn unique_prefix(scope: &str, tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{scope}-{tag}-{nanos}-{}/", N.fetch_add(1, Ordering::Relaxed))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Write `path` with mode 0600 (vsync refuses token and passphrase files others can read).
pub fn write_private(path: &Path, content: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Run and require an exit code; returns (stdout, stderr).
pub fn run(cmd: &mut assert_cmd::Command, code: i32) -> Result<(String, String), String> {
    let out: Output = cmd.output().map_err(|e| e.to_string())?;
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    if out.status.code() != Some(code) {
        return Err(format!("expected exit {code}, got {:?}\nstdout: {so}\nstderr: {se}", out.status.code()));
    }
    Ok((so, se))
}

/// Push `kv` with the core's writer (which takes any key name, as another writer of the format
/// could) to a fresh prefix `<scope>-<tag>-…` of the dev server (prod, 600 000 iterations), and
/// write its token and `passphrase` as `dir/token` and `dir/pw` (mode 0600).
pub fn push_with_writer(
    dir: &Path,
    scope: &str,
    tag: &str,
    passphrase: &str,
    kv: &[(&str, &str)],
) -> Result<Config, Box<dyn std::error::Error>> {
    let config = dev_server()?.config(unique_prefix(scope, tag), "prod", vsync_core::writer::random_salt(), 600_000);
    let mut data = vsync_core::payload::VaultData::default();
    for (k, v) in kv {
        data.kv.insert((*k).to_string(), (*v).to_string().into());
    }
    vsync_core::writer::push(&config, passphrase, &data, None, std::time::Duration::from_secs(60))
        .map_err(|e| format!("push failed: {e:?}"))?;
    write_private(&dir.join("token"), config.encode())?;
    write_private(&dir.join("pw"), passphrase)?;
    Ok(config)
}
