//! `vsync dev-server`: a local S3-compatible server (the s3s-fs crate, embedded) for the demo
//! and for trying vsync without a cloud account. It enforces SigV4 like a real store. Loopback
//! only by default; its default credentials are well-known development values, not secrets.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

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
    /// Secret key the server accepts
    #[arg(long, default_value = DEFAULT_SECRET_KEY, hide_default_value = false)]
    secret_key: String,
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
    let fs = s3s_fs::FileSystem::new(&root)
        .map_err(|e| CliError::input(format!("dev-server: {}: {e:?}", root.display())))?;
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(a.access_key.clone(), a.secret_key.clone()));
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
        if a.secret_key == DEFAULT_SECRET_KEY {
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
