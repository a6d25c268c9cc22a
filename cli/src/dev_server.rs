//! `vsync dev-server`: a local S3-compatible server (the s3s-fs crate, embedded) for the demo
//! and for trying vsync without a cloud account. It enforces SigV4 like a real store and honours
//! conditional writes (`If-None-Match: *`, `If-Match`) atomically per key, like AWS S3. Loopback
//! only by default; its default credentials are well-known development values, not secrets.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Request, S3Response, S3Result, S3};
use tokio::sync::{Mutex, MutexGuard};

use crate::fail::{CliError, CliResult};

pub const DEFAULT_ACCESS_KEY: &str = "vsyncdev";
pub const DEFAULT_SECRET_KEY: &str = "vsyncdev-secret";
/// The default cap on one request's body: the core's default bundle cap (what a reader accepts)
/// plus room for an envelope's framing. Larger objects are never vsync's.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = vsync_core::limits::DEFAULT_MAX_BUNDLE_BYTES + (1 << 20);

/// Run a local S3-compatible server (development only) until interrupted
#[derive(Args)]
#[command(after_help = "\
When it is ready, prints shell assignments on stdout (one per line, then flushes):
  VSYNC_DEV_ENDPOINT=http://127.0.0.1:<port>
  VSYNC_DEV_REGION=us-east-1
  VSYNC_DEV_BUCKET=<bucket>
  VSYNC_DEV_ACCESS_KEY=<access key>
  VSYNC_DEV_SECRET_KEY=<secret key>   (only when it is the built-in development default)
Stops on SIGINT or SIGTERM; a temporary --data directory is deleted then.

Refused, as a development server must: an object key that is empty, starts with '/' or has an
empty, '.' or '..' segment (400 InvalidArgument: such keys would name files outside their
bucket); a request body larger than --max-object-bytes (400 EntityTooLarge) or without a length
(411 MissingContentLength); a non-loopback --host with the built-in development secret, which
everyone knows (a usage error: give a secret of your own).

Examples:
  vsync dev-server --port 9000
  vsync dev-server --data ./.s3-data --bucket secrets --bucket other")]
pub struct DevServerArgs {
    /// Address to listen on; not a loopback one unless a secret key of your own is given
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Largest request body (an object, or one part of a multipart upload) the server accepts
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_OBJECT_BYTES)]
    max_object_bytes: u64,
    /// Port (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Directory for the objects (default: a temporary directory, deleted on exit)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Bucket to create (repeatable)
    #[arg(long = "bucket", default_value = "vsync-dev")]
    buckets: Vec<String>,
    /// Access key the server accepts
    #[arg(long, default_value = DEFAULT_ACCESS_KEY)]
    access_key: String,
    /// A file holding the secret key the server accepts, or - for standard input (default:
    /// VSYNC_DEV_SECRET_KEY, else the built-in development value)
    #[arg(long, value_name = "PATH", conflicts_with = "secret_key")]
    secret_key_file: Option<PathBuf>,
    /// Deprecated: a secret key on the command line is readable by every local user
    #[arg(long, value_name = "KEY", hide = true)]
    secret_key: Option<String>,
    /// Tests: append one line per authenticated request, `<access key id> <session token or ->`,
    /// so that a test can tell WHICH credentials signed (keyless tokens: the AWS credential chain)
    #[arg(long, value_name = "PATH", hide = true)]
    request_log: Option<PathBuf>,
}

impl DevServerArgs {
    fn secret_key(&self) -> CliResult<zeroize::Zeroizing<String>> {
        if let Some(p) = &self.secret_key_file {
            let mut warnings = Vec::new();
            let s = crate::inputs::read_secret_input(p, "--secret-key-file", &mut warnings)?;
            for w in warnings {
                crate::fail::say!("{w}");
            }
            return Ok(s);
        }
        if let Some(s) = &self.secret_key {
            crate::inputs::warn_secret_on_command_line(
                "--secret-key KEY",
                "--secret-key-file PATH or VSYNC_DEV_SECRET_KEY",
            );
            return Ok(s.clone().into());
        }
        Ok(vsync_core::bootstrap::process_env("VSYNC_DEV_SECRET_KEY")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SECRET_KEY.to_string())
            .into())
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::input(format!("dev-server: {what}: {e}"))
}

/// Loopback only by name: `localhost` or a loopback IP. Anything else may be reachable from
/// other machines.
fn is_loopback(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

pub fn run(a: DevServerArgs) -> CliResult {
    let secret_key = a.secret_key()?;
    if !is_loopback(&a.host) && secret_key.as_str() == DEFAULT_SECRET_KEY {
        return Err(CliError::Usage(format!(
            "dev-server: --host {} is not a loopback address, and the secret key is the built-in development \
             value that everyone knows: anyone who can reach the port could read and write every bucket. Give a \
             secret of your own (VSYNC_DEV_SECRET_KEY or --secret-key-file), or listen on 127.0.0.1",
            a.host
        )));
    }
    let (root, _temp) = match &a.data {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("vsync-dev-s3-")
                .tempdir()
                .map_err(io("cannot create a temporary directory"))?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    for b in &a.buckets {
        if b.len() < 3 || !b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
            return Err(CliError::input(format!(
                "dev-server: {b:?} is not a valid bucket name (3+ characters: a-z, 0-9, '-', '.')"
            )));
        }
        std::fs::create_dir_all(root.join(b)).map_err(io("cannot create the bucket directory"))?;
    }
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(io("cannot start the runtime"))?;
    rt.block_on(serve(&a, root, secret_key))
    // `_temp` is dropped here, deleting a temporary data directory.
}

async fn serve(a: &DevServerArgs, root: PathBuf, secret_key: zeroize::Zeroizing<String>) -> CliResult {
    let fs = s3s_fs::FileSystem::new(&root)
        .map_err(|e| CliError::input(format!("dev-server: {}: {e:?}", root.display())))?;
    let service = {
        let request_log = match &a.request_log {
            None => None,
            Some(p) => {
                let mut open = std::fs::OpenOptions::new();
                open.create(true).append(true);
                // It names access key ids and session tokens: readable by its owner only.
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
                Some(open.open(p).map_err(io("cannot open --request-log"))?)
            }
        };
        let mut b = S3ServiceBuilder::new(KeyLocked::new(fs, a.max_object_bytes, request_log));
        b.set_auth(SimpleAuth::from_single(a.access_key.clone(), secret_key.as_str()));
        b.build()
    };
    let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port)).await.map_err(io("cannot listen"))?;
    let addr = listener.local_addr().map_err(io("cannot read the listening address"))?;
    // Watch SIGTERM and SIGINT before announcing readiness below: a caller that stops the server
    // as soon as it read those lines must get the clean stop, never the default action.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(io("cannot watch SIGTERM"))?;
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map_err(io("cannot watch SIGINT"))?;
    {
        let mut out = String::new();
        out.push_str(&format!("VSYNC_DEV_ENDPOINT=http://{addr}\nVSYNC_DEV_REGION=us-east-1\n"));
        out.push_str(&format!("VSYNC_DEV_BUCKET={}\n", a.buckets.first().map(String::as_str).unwrap_or("")));
        out.push_str(&format!("VSYNC_DEV_ACCESS_KEY={}\n", a.access_key));
        if secret_key.as_str() == DEFAULT_SECRET_KEY {
            out.push_str(&format!("VSYNC_DEV_SECRET_KEY={DEFAULT_SECRET_KEY}\n"));
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).map_err(io("cannot write to stdout"))?;
    }
    crate::fail::say!("vsync: dev S3 server on http://{addr}, data in {} (Ctrl-C to stop)", root.display());

    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                // Without it, a response written as headers + body stalls ~40 ms on Nagle and
                // the client's delayed ACK (measured: two GETs took 44 ms, a HEAD 1 ms).
                let _ = socket.set_nodelay(true);
                let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    crate::fail::say!("vsync: dev S3 server stopped");
    Ok(())
}

/// Lock stripes: operations on one key are serialised; two keys share a stripe rarely, and
/// then only wait for each other.
const STRIPES: usize = 64;

/// s3s-fs in front of which every operation that reads or replaces one object holds that
/// object's lock. s3s-fs checks a PUT's `If-None-Match`/`If-Match` and then writes, with awaits
/// in between: without the lock two concurrent `If-None-Match: *` PUTs of one key both pass the
/// check and both answer 200 (the lost update the writer protocol exists to prevent), and a
/// GET between a PUT's body rename and its metadata write sees the new body with the old
/// `gen`. With it, check-and-write is atomic per key, as on AWS S3.
struct KeyLocked {
    fs: s3s_fs::FileSystem,
    stripes: Vec<Mutex<()>>,
    max_object_bytes: u64,
    /// `--request-log`: opened for appending; one `write` per line, so lines never interleave.
    request_log: Option<std::fs::File>,
}

impl KeyLocked {
    fn new(fs: s3s_fs::FileSystem, max_object_bytes: u64, request_log: Option<std::fs::File>) -> Self {
        KeyLocked { fs, stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(), max_object_bytes, request_log }
    }

    /// `--request-log`: the access key id that signed (SigV4 already checked it with its secret)
    /// and the session token sent with it (`x-amz-security-token`, which s3s does not check).
    fn record<T>(&self, req: &S3Request<T>) {
        let Some(mut log) = self.request_log.as_ref() else { return };
        let key_id = req.credentials.as_ref().map_or("-", |c| c.access_key.as_str());
        let token = req.headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).unwrap_or("-");
        let _ = log.write_all(format!("{key_id} {token}\n").as_bytes());
    }

    fn stripe(bucket: &str, key: &str) -> usize {
        let mut h = DefaultHasher::new();
        (bucket, key).hash(&mut h);
        usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0)
    }

    async fn lock(&self, bucket: &str, key: &str) -> MutexGuard<'_, ()> {
        self.stripes[Self::stripe(bucket, key)].lock().await
    }

    /// Several keys at once (DeleteObjects), in stripe order so two callers never deadlock.
    async fn lock_all<'a>(&'a self, bucket: &str, keys: impl Iterator<Item = &'a str>) -> Vec<MutexGuard<'a, ()>> {
        let mut idx: Vec<usize> = keys.map(|k| Self::stripe(bucket, k)).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut guards = Vec::with_capacity(idx.len());
        for i in idx {
            guards.push(self.stripes[i].lock().await);
        }
        guards
    }
}

/// The `S3` implementation: each operation is forwarded to s3s-fs. Those that read or write one
/// object run under the lock of its bucket and key; DeleteObjects takes the locks of all its keys.
/// Bucket-level and multipart-part operations touch no object a reader sees: unlocked.
macro_rules! key_locked_s3 {
    (
        locked { $($op:ident($input:ident) -> $output:ident;)* }
        unlocked { $($unlocked_op:ident($unlocked_input:ident) -> $unlocked_output:ident;)* }
    ) => {
        #[async_trait::async_trait]
        impl S3 for KeyLocked {
            $(async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                self.record(&req);
                req.input.admit(self.max_object_bytes)?;
                let _guard = self.lock(&req.input.bucket, &req.input.key).await;
                self.fs.$op(req).await
            })*

            async fn delete_objects(
                &self,
                req: S3Request<DeleteObjectsInput>,
            ) -> S3Result<S3Response<DeleteObjectsOutput>> {
                self.record(&req);
                req.input.admit(self.max_object_bytes)?;
                let bucket = req.input.bucket.clone();
                let keys: Vec<String> = req.input.delete.objects.iter().map(|o| o.key.clone()).collect();
                let _guards = self.lock_all(&bucket, keys.iter().map(String::as_str)).await;
                self.fs.delete_objects(req).await
            }

            $(async fn $unlocked_op(
                &self,
                req: S3Request<$unlocked_input>,
            ) -> S3Result<S3Response<$unlocked_output>> {
                self.record(&req);
                req.input.admit(self.max_object_bytes)?;
                self.fs.$unlocked_op(req).await
            })*
        }
    };
}

key_locked_s3! {
    locked {
        put_object(PutObjectInput) -> PutObjectOutput;
        get_object(GetObjectInput) -> GetObjectOutput;
        head_object(HeadObjectInput) -> HeadObjectOutput;
        delete_object(DeleteObjectInput) -> DeleteObjectOutput;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
        complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    }
    unlocked {
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
        upload_part(UploadPartInput) -> UploadPartOutput;
        upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
        list_parts(ListPartsInput) -> ListPartsOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    }
}

/// What s3s-fs may be handed: it maps `<bucket>/<key>` onto a path under its root, so a key
/// with `..` segments names a file in another bucket or beside its metadata (and `..` alone
/// panics in its path resolution), and a body has no size limit. Each input is checked here,
/// before s3s-fs sees it.
trait Admit {
    fn admit(&self, max_object_bytes: u64) -> S3Result<()>;
}

/// A key that stays inside its bucket directory: not empty, no leading `/`, no empty, `.` or
/// `..` segment, no NUL.
fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() || key.contains('\0') || key.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(s3s::s3_error!(
            InvalidArgument,
            "the dev server refuses object keys that are empty, start with '/' or have an empty, '.' or '..' segment"
        ));
    }
    Ok(())
}

fn check_copy_source(source: &CopySource) -> S3Result<()> {
    match source {
        CopySource::Bucket { key, .. } => check_key(key),
        _ => Ok(()),
    }
}

/// A body of known length, at most the cap (AWS S3 also requires the length of a PUT).
fn check_length(content_length: Option<i64>, max_object_bytes: u64) -> S3Result<()> {
    match content_length {
        None => Err(s3s::s3_error!(MissingContentLength)),
        Some(n) if u64::try_from(n).map_or(true, |n| n > max_object_bytes) => Err(s3s::s3_error!(
            EntityTooLarge,
            "the body is larger than the dev server's cap of {max_object_bytes} bytes (--max-object-bytes)"
        )),
        Some(_) => Ok(()),
    }
}

macro_rules! admit_by_key {
    ($($input:ident),*) => {
        $(impl Admit for $input {
            fn admit(&self, _: u64) -> S3Result<()> {
                check_key(&self.key)
            }
        })*
    };
}

macro_rules! admit_always {
    ($($input:ident),*) => {
        $(impl Admit for $input {
            fn admit(&self, _: u64) -> S3Result<()> {
                Ok(())
            }
        })*
    };
}

admit_by_key!(
    GetObjectInput,
    HeadObjectInput,
    DeleteObjectInput,
    CompleteMultipartUploadInput,
    CreateMultipartUploadInput,
    ListPartsInput,
    AbortMultipartUploadInput
);

// Bucket-level operations: no key (a list prefix only filters names, it is never a path).
admit_always!(
    CreateBucketInput,
    DeleteBucketInput,
    HeadBucketInput,
    GetBucketLocationInput,
    ListBucketsInput,
    ListObjectsInput,
    ListObjectsV2Input
);

impl Admit for PutObjectInput {
    fn admit(&self, max_object_bytes: u64) -> S3Result<()> {
        check_key(&self.key)?;
        check_length(self.content_length, max_object_bytes)
    }
}

impl Admit for UploadPartInput {
    fn admit(&self, max_object_bytes: u64) -> S3Result<()> {
        check_key(&self.key)?;
        check_length(self.content_length, max_object_bytes)
    }
}

impl Admit for CopyObjectInput {
    fn admit(&self, _: u64) -> S3Result<()> {
        check_key(&self.key)?;
        check_copy_source(&self.copy_source)
    }
}

impl Admit for UploadPartCopyInput {
    fn admit(&self, _: u64) -> S3Result<()> {
        check_key(&self.key)?;
        check_copy_source(&self.copy_source)
    }
}

impl Admit for DeleteObjectsInput {
    fn admit(&self, _: u64) -> S3Result<()> {
        self.delete.objects.iter().try_for_each(|o| check_key(&o.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_leave_their_bucket_are_refused() {
        for ok in ["manifest", "app/prod/manifest", "a/b.c/d", ".hidden", "a..b", "..a"] {
            assert!(check_key(ok).is_ok(), "{ok:?} refused");
        }
        for bad in ["", "..", ".", "../other-b/manifest", "a/../../b", "/abs", "a//b", "a/", "./a", "a/./b", "a\0b"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bodies_need_a_length_within_the_cap() {
        assert!(check_length(Some(10), 10).is_ok());
        assert!(check_length(Some(11), 10).is_err());
        assert!(check_length(Some(-1), 10).is_err());
        assert!(check_length(None, 10).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["0.0.0.0", "::", "192.168.1.5", "example.com", "localhost.example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
