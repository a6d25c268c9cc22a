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

Examples:
  vsync dev-server --port 9000
  vsync dev-server --data ./.s3-data --bucket secrets --bucket other")]
pub struct DevServerArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
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
}

impl DevServerArgs {
    fn secret_key(&self) -> CliResult<zeroize::Zeroizing<String>> {
        if let Some(p) = &self.secret_key_file {
            let mut warnings = Vec::new();
            let s = crate::inputs::read_secret_input(p, "--secret-key-file", &mut warnings)?;
            for w in warnings {
                eprintln!("{w}");
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

pub fn run(a: DevServerArgs) -> CliResult {
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
    rt.block_on(serve(&a, root))
    // `_temp` is dropped here, deleting a temporary data directory.
}

async fn serve(a: &DevServerArgs, root: PathBuf) -> CliResult {
    let secret_key = a.secret_key()?;
    let fs = s3s_fs::FileSystem::new(&root)
        .map_err(|e| CliError::input(format!("dev-server: {}: {e:?}", root.display())))?;
    let service = {
        let mut b = S3ServiceBuilder::new(KeyLocked::new(fs));
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
    eprintln!("vsync: dev S3 server on http://{addr}, data in {} (Ctrl-C to stop)", root.display());

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
    eprintln!("vsync: dev S3 server stopped");
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
}

impl KeyLocked {
    fn new(fs: s3s_fs::FileSystem) -> Self {
        KeyLocked { fs, stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
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
                let _guard = self.lock(&req.input.bucket, &req.input.key).await;
                self.fs.$op(req).await
            })*

            async fn delete_objects(
                &self,
                req: S3Request<DeleteObjectsInput>,
            ) -> S3Result<S3Response<DeleteObjectsOutput>> {
                let bucket = req.input.bucket.clone();
                let keys: Vec<String> = req.input.delete.objects.iter().map(|o| o.key.clone()).collect();
                let _guards = self.lock_all(&bucket, keys.iter().map(String::as_str)).await;
                self.fs.delete_objects(req).await
            }

            $(async fn $unlocked_op(
                &self,
                req: S3Request<$unlocked_input>,
            ) -> S3Result<S3Response<$unlocked_output>> {
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
