//! Small network actors for the robustness tests, all on 127.0.0.1 and all sequential (one
//! request per connection: forwarded requests carry `Connection: close`, so every request of the
//! client passes through the script and is counted):
//! - [`FaultServer`]: answers each request as a script says (forward to the real S3 server, a
//!   canned reply, a stream of bytes, a hang), counting requests;
//! - [`ForwardProxy`]: an HTTP forward proxy (absolute-form requests and `CONNECT` tunnels),
//!   counting what it carried;
//! - [`TlsEndpoint`]: TLS in front of the real S3 server, with the fixtures' certificate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fault server does with one request.
pub enum Reply {
    /// Pass it to the real S3 server and relay its answer.
    Forward,
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Write `head`, then `chunk` up to `count` times (stops when the client goes away), close.
    Stream { head: Vec<u8>, chunk: Vec<u8>, count: usize },
    /// Accept and never answer (until the server is dropped).
    Hang,
}

/// An HTTP answer with a body (`Content-Length` set), closing the connection.
pub fn http_reply(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n", body.len())
            .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An S3 error answer (`<Error><Code>..`).
pub fn s3_error(status: &str, code: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
    );
    http_reply(status, "Content-Type: application/xml\r\n", body.as_bytes())
}

/// A listener on 127.0.0.1 that hands each connection to `serve` on a thread of its own, with
/// the flag that is set when it is dropped (so that a handler holding a connection can let go).
struct Acceptor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Acceptor {
    fn start(serve: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (serve, flag) = (Arc::new(serve), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (serve, flag) = (serve.clone(), flag.clone());
                std::thread::spawn(move || serve(conn, &flag));
            }
        });
        Acceptor { addr, stop }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

struct Shared {
    requests: AtomicUsize,
    /// Request lines seen, in order.
    log: Mutex<Vec<String>>,
    /// Bytes written by `Reply::Stream` answers.
    streamed: AtomicUsize,
}

pub struct FaultServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    _acceptor: Acceptor,
}

type Script = dyn Fn(usize, &str) -> Reply + Send + Sync;

impl FaultServer {
    /// `script(n, request_line)` decides the answer to the n-th request (0-based).
    pub fn start(backend: Option<SocketAddr>, script: impl Fn(usize, &str) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            streamed: AtomicUsize::new(0),
        });
        let sh = shared.clone();
        let acceptor = Acceptor::start(move |conn, stop| serve_fault(conn, backend, &sh, &script, stop));
        FaultServer { addr: acceptor.addr, shared, _acceptor: acceptor }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn streamed(&self) -> usize {
        self.shared.streamed.load(Ordering::SeqCst)
    }
}

fn serve_fault(mut conn: TcpStream, backend: Option<SocketAddr>, sh: &Shared, script: &Script, stop: &AtomicBool) {
    let Some(head) = read_head(&mut conn) else { return };
    let line = request_line(&head);
    let n = sh.requests.fetch_add(1, Ordering::SeqCst);
    sh.log.lock().unwrap().push(line.clone());
    match script(n, &line) {
        Reply::Forward => {
            let backend = backend.expect("Reply::Forward needs a backend");
            relay(&mut conn, &head, backend);
        }
        Reply::Raw(bytes) => {
            let _ = conn.write_all(&bytes);
        }
        Reply::Stream { head, chunk, count } => {
            if conn.write_all(&head).is_ok() {
                for _ in 0..count {
                    if conn.write_all(&chunk).is_err() {
                        break;
                    }
                    sh.streamed.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            }
        }
        Reply::Hang => {
            // Bounded: the server's owner drops it at the end of the test.
            conn.set_read_timeout(Some(Duration::from_millis(100))).ok();
            let mut b = [0u8; 1];
            while !stop.load(Ordering::SeqCst) {
                if let Ok(0) = conn.read(&mut b) {
                    break;
                }
            }
        }
    }
    let _ = conn.shutdown(Shutdown::Both);
}

/// Read one request head (through the blank line). Requests the tests send have no body.
fn read_head(conn: &mut impl Read) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return None,
        }
        if head.len() > 64 << 10 {
            return None;
        }
    }
    Some(head)
}

fn request_line(head: &[u8]) -> String {
    String::from_utf8_lossy(head).lines().next().unwrap_or("").to_string()
}

/// The head with `Connection: close` (replacing any `Connection` header), so the server closes
/// after one answer and the relay knows where it ends.
fn with_connection_close(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// Send `head` to `backend` with `Connection: close` and copy its whole answer to `client`.
fn relay(client: &mut impl Write, head: &[u8], backend: SocketAddr) {
    let Ok(mut up) = TcpStream::connect(backend) else { return };
    if up.write_all(&with_connection_close(head)).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
    let _ = client.flush();
}

/// An HTTP forward proxy: absolute-form requests are relayed to the host they name, `CONNECT`
/// opens a tunnel. Counts both.
pub struct ForwardProxy {
    pub addr: SocketAddr,
    forwarded: Arc<AtomicUsize>,
    tunnels: Arc<AtomicUsize>,
    _acceptor: Acceptor,
}

impl ForwardProxy {
    pub fn start() -> Self {
        let (forwarded, tunnels) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (f, t) = (forwarded.clone(), tunnels.clone());
        let acceptor = Acceptor::start(move |conn, _| proxy_one(conn, &f, &t));
        ForwardProxy { addr: acceptor.addr, forwarded, tunnels, _acceptor: acceptor }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }

    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

fn proxy_one(mut conn: TcpStream, forwarded: &AtomicUsize, tunnels: &AtomicUsize) {
    let Some(head) = read_head(&mut conn) else { return };
    let line = request_line(&head);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(up) = TcpStream::connect(target) else { return };
        tunnels.fetch_add(1, Ordering::SeqCst);
        if conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
            return;
        }
        let (mut c2, mut u2) = (conn.try_clone().unwrap(), up.try_clone().unwrap());
        let (mut conn, mut up) = (conn, up);
        let t = std::thread::spawn(move || {
            let _ = std::io::copy(&mut c2, &mut u2);
            let _ = u2.shutdown(Shutdown::Write);
        });
        let _ = std::io::copy(&mut up, &mut conn);
        let _ = conn.shutdown(Shutdown::Write);
        let _ = t.join();
        return;
    }
    // Absolute form: `GET http://host:port/path HTTP/1.1`.
    let Some(rest) = target.strip_prefix("http://") else { return };
    let hostport = rest.split('/').next().unwrap_or("");
    let Ok(backend) = hostport.parse::<SocketAddr>() else { return };
    forwarded.fetch_add(1, Ordering::SeqCst);
    relay(&mut conn, &head, backend);
    let _ = conn.shutdown(Shutdown::Both);
}

/// TLS (the fixtures' certificate for 127.0.0.1, signed by the fixtures' CA) in front of the
/// real S3 server. Counts TLS handshakes attempted.
pub struct TlsEndpoint {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    _acceptor: Acceptor,
}

pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

impl TlsEndpoint {
    pub fn start(backend: SocketAddr) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(fixture("server.pem")).unwrap().map(|c| c.unwrap()).collect();
        let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let config = Arc::new(config);
        let connections = Arc::new(AtomicUsize::new(0));
        let c = connections.clone();
        let acceptor = Acceptor::start(move |conn, _| {
            c.fetch_add(1, Ordering::SeqCst);
            let Ok(tls) = rustls::ServerConnection::new(config.clone()) else { return };
            let mut stream = rustls::StreamOwned::new(tls, conn);
            let Some(head) = read_head(&mut stream) else { return };
            relay(&mut stream, &head, backend);
            stream.conn.send_close_notify();
            let _ = stream.flush();
        });
        TlsEndpoint { addr: acceptor.addr, connections, _acceptor: acceptor }
    }

    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The real S3 server's address (from `VSYNC_TEST_ENDPOINT`).
pub fn backend() -> SocketAddr {
    let ep = super::var("VSYNC_TEST_ENDPOINT");
    ep.trim_start_matches("http://").trim_end_matches('/').parse().unwrap()
}
