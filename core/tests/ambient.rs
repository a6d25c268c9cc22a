//! Keyless runtime tokens (`"credentials": "ambient"`, SPEC §2): every source of the AWS default
//! chain, each served by a real HTTP server on 127.0.0.1 where it is a service (STS, the
//! container credentials endpoint, IMDSv2), signs the S3 requests — proven by the dev server's
//! request log (`VSYNC_TEST_REQUEST_LOG`: the access key id that passed SigV4 and the session
//! token sent with it; every test hands out a session token of its own).
//!
//! The chain reads the process environment, so the tests take one lock and set exactly the
//! variables of their source (every other AWS variable removed, the profile files pointed at
//! empty paths and IMDS at a refused port, so the host's own credentials never take part).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use common::moto::{readme_reader_policy, Moto};
use common::{test_config, var};
use vsync_core::payload::VaultData;
use vsync_core::{open_with, writer, Config, ErrorKind, OpenOptions};

const PASS: &str = "ambient-test-passphrase";

static ENV_LOCK: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Every variable the chain reads.
const AWS_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// The environment of one test: the lock, a temporary directory, and a clean chain.
struct Env {
    _lock: MutexGuard<'static, ()>,
    dir: tempfile::TempDir,
}

impl Env {
    fn clean() -> Env {
        let lock = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        for v in AWS_VARS {
            std::env::remove_var(v);
        }
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("AWS_CONFIG_FILE", dir.path().join("no-config"));
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("no-credentials"));
        std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("http://{}", refused_addr()));
        Env { _lock: lock, dir }
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

/// An address whose connections are refused: the port of a listener just closed.
fn refused_addr() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A request a loopback server received.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

type Handler = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1 (one request per connection), recording each request.
struct Server {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (r, s) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((sock, _)) => {
                        sock.set_nonblocking(false).unwrap();
                        serve(sock, &*handler, &r);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { addr, requests, stop, thread: Some(thread) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(sock: TcpStream, handler: &Handler, requests: &Mutex<Vec<Request>>) {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(sock.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0usize);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let req = Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
    let (status, body) = handler(&req);
    requests.lock().unwrap().push(req);
    let mut sock = sock;
    let _ = sock.write_all(
        // The TTL header is what IMDSv2's token answer needs; the other services ignore it.
        format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

/// A vault pushed with the server's static keys; returns its keyless twin (same prefix, salt).
fn pushed_keyless() -> (Config, String) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let keyed = test_config(format!("ambient/{}-{n}/", std::process::id()), "prod");
    let mut d = VaultData::default();
    d.kv.insert("DATABASE_URL".into(), "postgres://ambient".to_string().into());
    writer::push(&keyed, PASS, &d, None, Duration::from_secs(30)).unwrap();
    let mut keyless = keyed.clone();
    keyless.ambient_credentials = true;
    keyless.access_key_id.clear();
    keyless.secret_access_key = String::new().into();
    (keyless, format!("tok-{}-{n}", std::process::id()))
}

/// A test's start: a clean chain environment (held for the test) and a keyless token for a
/// freshly pushed vault, with the session token the test's credentials will carry.
fn keyless_case() -> (Env, Config, String) {
    let env = Env::clean();
    let (c, token) = pushed_keyless();
    (env, c, token)
}

fn open_keyless(c: &Config, timeout: Duration) -> vsync_core::Result<vsync_core::Vault> {
    open_with(&c.encode(), PASS, OpenOptions { timeout, ..OpenOptions::default() })
}

/// The dev server's log lines (`<key id> <session token>`) that carry `token`.
fn signed_with(token: &str) -> Vec<String> {
    let log = std::fs::read_to_string(var("VSYNC_TEST_REQUEST_LOG")).unwrap();
    log.lines().filter(|l| l.split(' ').nth(1) == Some(token)).map(str::to_string).collect()
}

/// Opens the keyless vault and checks that the S3 requests were signed with the server's key
/// id and carried `token` (a GET of the manifest and one of the bundle at least).
fn opens_signed_with(c: &Config, token: &str) {
    let v = open_keyless(c, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{:?}: {}", e.kind(), e.message()));
    assert_eq!(
        v.get_env("DATABASE_URL", &mut |_| None).unwrap().map(|s| s.to_string()),
        Some("postgres://ambient".to_string())
    );
    let lines = signed_with(token);
    assert!(lines.len() >= 2, "the S3 requests carried the session token {token}: {lines:?}");
    assert!(lines.iter().all(|l| l.starts_with(&format!("{} ", var("VSYNC_TEST_ACCESS_KEY")))), "{lines:?}");
}

/// The dev server's key pair: every source under test hands it out, each with its own session token.
fn dev_keys() -> (String, String) {
    (var("VSYNC_TEST_ACCESS_KEY"), var("VSYNC_TEST_SECRET_KEY"))
}

/// The environment source: the dev server's keys with `token` as AWS_SESSION_TOKEN.
fn set_env_credentials(token: &str) {
    let (key_id, secret) = dev_keys();
    std::env::set_var("AWS_ACCESS_KEY_ID", key_id);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", secret);
    std::env::set_var("AWS_SESSION_TOKEN", token);
}

/// `AWS_PROFILE=profile`, with `content` written to `file` in the test's directory and named by
/// `file_var` (`AWS_CONFIG_FILE` or `AWS_SHARED_CREDENTIALS_FILE`).
fn select_profile(env: &Env, (file_var, file, content): (&str, &str, &str), profile: &str) {
    std::env::set_var(file_var, env.file(file, content));
    std::env::set_var("AWS_PROFILE", profile);
}

fn container_json(token: &str, expiration: &str) -> String {
    format!(
        r#"{{"AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{token}","Expiration":"{expiration}"}}"#,
        var("VSYNC_TEST_ACCESS_KEY"),
        var("VSYNC_TEST_SECRET_KEY")
    )
}

fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap()
}

fn in_an_hour() -> String {
    rfc3339(SystemTime::now() + Duration::from_secs(3600))
}

#[test]
fn environment_with_session_token_signs() {
    let (_env, c, token) = keyless_case();
    set_env_credentials(&token);
    opens_signed_with(&c, &token);
}

#[test]
fn profile_file_of_aws_profile_signs() {
    let (env, c, token) = keyless_case();
    let (key_id, secret) = dev_keys();
    let profiles = format!(
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[reader]\naws_access_key_id = {key_id}\n\
         aws_secret_access_key = {secret}\naws_session_token = {token}\n"
    );
    select_profile(&env, ("AWS_SHARED_CREDENTIALS_FILE", "credentials", &profiles), "reader");
    opens_signed_with(&c, &token);
}

#[test]
fn credential_process_signs_and_its_failure_names_the_profile_not_the_command() {
    let (env, c, token) = keyless_case();
    // A failing helper: the error names the profile, never the command line (it may hold a secret).
    let failing = "[profile helper]\ncredential_process = sh -c 'exit 3' --secret-arg-zzz\n";
    select_profile(&env, ("AWS_CONFIG_FILE", "config", failing), "helper");
    let e = open_keyless(&c, Duration::from_secs(20)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(e.message().contains("credential_process of profile `helper`"), "{}", e.message());
    assert!(!e.message().contains("secret-arg-zzz"), "{}", e.message());
    // A working helper: its credentials sign.
    let ((key_id, secret), expiration) = (dev_keys(), in_an_hour());
    let process_output = format!(
        r#"{{"Version":1,"AccessKeyId":"{key_id}","SecretAccessKey":"{secret}","SessionToken":"{token}","Expiration":"{expiration}"}}"#
    );
    let out = env.file("creds.json", &process_output);
    let working = format!("[profile helper]\ncredential_process = cat {}\n", out.display());
    select_profile(&env, ("AWS_CONFIG_FILE", "config", &working), "helper");
    opens_signed_with(&c, &token);
}

#[test]
fn web_identity_through_sts_signs() {
    let (env, c, token) = keyless_case();
    let ((key_id, secret), t) = (dev_keys(), token.clone());
    let expiration = in_an_hour();
    let sts = Server::start(move |_| {
        (
            200,
            format!(
                "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{key_id}</AccessKeyId>\
                 <SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{t}</SessionToken>\
                 <Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser>\
                 <Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>\
                 </AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId>\
                 </ResponseMetadata></AssumeRoleWithWebIdentityResponse>"
            ),
        )
    });
    let jwt = env.file("token", "the-projected-service-account-jwt");
    std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", jwt);
    std::env::set_var("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/reader");
    std::env::set_var("AWS_ENDPOINT_URL_STS", sts.url(""));
    opens_signed_with(&c, &token);
    let calls = sts.requests();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].body.contains("Action=AssumeRoleWithWebIdentity"), "{}", calls[0].body);
    assert!(calls[0].body.contains("WebIdentityToken=the-projected-service-account-jwt"), "{}", calls[0].body);
    assert!(calls[0].body.contains("role%2Freader"), "{}", calls[0].body);
}

/// Web identity with moto as STS **and** as the store, which checks every S3 request once
/// `authenticate_after(1)` has let the (unsigned, as on AWS) AssumeRoleWithWebIdentity through:
/// the read only succeeds if it was signed with the secret STS issued for the role and carried
/// its session token, and only as far as the role's policy (README.md's, verbatim) allows.
#[test]
fn web_identity_through_moto_sts_signs_and_the_role_policy_decides() {
    let env = Env::clean();
    let moto = Moto::start();
    moto.create_bucket("vault");
    let reader = moto.create_role("reader", &readme_reader_policy("vault", "app/"));
    let elsewhere = moto.create_role("elsewhere", &readme_reader_policy("vault", "other-app/"));
    // The writer pushes with keys of its own while moto checks none.
    let keyed = Config {
        endpoint: moto.endpoint.clone(),
        bucket: "vault".into(),
        access_key_id: "writer".into(),
        secret_access_key: "writer-secret".to_string().into(),
        ..test_config("app/".into(), "prod")
    };
    let mut d = VaultData::default();
    d.kv.insert("DATABASE_URL".into(), "postgres://moto".to_string().into());
    writer::push(&keyed, PASS, &d, None, Duration::from_secs(30)).unwrap();
    let keyless = Config {
        ambient_credentials: true,
        access_key_id: String::new(),
        secret_access_key: String::new().into(),
        ..keyed
    };
    std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", env.file("token", "the-projected-service-account-jwt"));
    std::env::set_var("AWS_ENDPOINT_URL_STS", &moto.endpoint);

    std::env::set_var("AWS_ROLE_ARN", &reader);
    moto.authenticate_after(1);
    let v =
        open_keyless(&keyless, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{:?}: {}", e.kind(), e.message()));
    assert_eq!(
        v.get_env("DATABASE_URL", &mut |_| None).unwrap().map(|s| s.to_string()),
        Some("postgres://moto".into())
    );
    assert_eq!(moto.assumed_roles(), std::slice::from_ref(&reader), "STS issued the reader role's credentials once");

    // A role whose policy names another prefix: STS answers, S3 refuses, the message names the
    // source whose credentials were refused and the permission they lack.
    std::env::set_var("AWS_ROLE_ARN", &elsewhere);
    moto.authenticate_after(1);
    let e = open_keyless(&keyless, Duration::from_secs(20)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable, "{}", e.message());
    assert!(e.message().contains("(403 AccessDenied) to the credentials of web identity"), "{}", e.message());
    assert!(e.message().contains("s3:GetObject"), "{}", e.message());
    assert_eq!(moto.assumed_roles(), [reader, elsewhere]);
}

/// A source that is configured but fails ends the search, as in the SDKs (an expired IRSA token
/// must not fall through to the node's role), and the message names that source and its answer
/// instead of claiming that no credentials were found.
#[test]
fn a_failing_web_identity_is_named_and_later_sources_are_not_tried() {
    let (env, c, token) = keyless_case();
    let sts = Server::start(|_| {
        (
            400,
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>InvalidIdentityToken</Code><Message>Token is expired</Message></Error>\
             <RequestId>1</RequestId></ErrorResponse>"
                .to_string(),
        )
    });
    let container = container_server(&token, None);
    std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", env.file("token", "an-expired-jwt"));
    std::env::set_var("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/reader");
    std::env::set_var("AWS_ENDPOINT_URL_STS", sts.url(""));
    std::env::set_var("AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url("/creds"));
    let e = open_keyless(&c, Duration::from_secs(20)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    let m = e.message();
    assert!(m.contains("come from web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, via STS)"), "{m}");
    assert!(m.contains("InvalidIdentityToken"), "{m}");
    assert!(!m.contains("no AWS credentials were found") && !m.contains("an-expired-jwt"), "{m}");
    assert!(container.requests().is_empty(), "the container endpoint was not asked");
    assert!(signed_with(&token).is_empty());
}

fn container_server(token: &str, auth: Option<&str>) -> Server {
    let (token, auth) = (token.to_string(), auth.map(str::to_string));
    Server::start(move |req| match &auth {
        Some(a) if req.headers.get("authorization") != Some(a) => (401, "{}".into()),
        _ => (200, container_json(&token, &in_an_hour())),
    })
}

#[test]
fn container_credentials_sign() {
    let (_env, c, token) = keyless_case();
    let server = container_server(&token, None);
    std::env::set_var("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/v2/credentials/abc"));
    opens_signed_with(&c, &token);
    assert_eq!(server.requests()[0].path, "/v2/credentials/abc");
}

#[test]
fn container_credentials_with_authorization_token_file_sign() {
    let (env, c, token) = keyless_case();
    let server = container_server(&token, Some("pod-identity-token"));
    std::env::set_var("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/v1/credentials"));
    std::env::set_var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", env.file("auth", "pod-identity-token"));
    opens_signed_with(&c, &token);
    // Without the token file the endpoint refuses: the header really came from the file.
    std::env::remove_var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    let e = open_keyless(&c, Duration::from_secs(20)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable, "{}", e.message());
}

#[test]
fn imds_v2_signs() {
    let (_env, c, token) = keyless_case();
    let t = token.clone();
    let imds = Server::start(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("PUT", "/latest/api/token") => (200, "imds-session-token".into()),
        _ if req.headers.get("x-aws-ec2-metadata-token").map(String::as_str) != Some("imds-session-token") => {
            (401, String::new())
        }
        ("GET", "/latest/meta-data/iam/security-credentials/") => (200, "reader-role".into()),
        ("GET", "/latest/meta-data/iam/security-credentials/reader-role") => (
            200,
            format!(
                r#"{{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{t}","Expiration":"{}"}}"#,
                var("VSYNC_TEST_ACCESS_KEY"),
                var("VSYNC_TEST_SECRET_KEY"),
                in_an_hour()
            ),
        ),
        _ => (404, String::new()),
    });
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url(""));
    opens_signed_with(&c, &token);
    let reqs = imds.requests();
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("PUT", "/latest/api/token"), "{reqs:?}");
}

#[test]
fn environment_wins_over_container_credentials() {
    let (_env, c, token) = keyless_case();
    let container_token = format!("{token}-container");
    let server = container_server(&container_token, None);
    std::env::set_var("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/creds"));
    set_env_credentials(&token);
    opens_signed_with(&c, &token);
    assert!(signed_with(&container_token).is_empty());
    assert!(server.requests().is_empty(), "the container endpoint was not even asked");
}

#[test]
fn no_source_fails_fast_naming_the_sources() {
    let (_env, c, _) = keyless_case();
    // IMDS at a refused port (Env::clean), then at a server that accepts and never answers.
    let t0 = Instant::now();
    let e = open_keyless(&c, Duration::from_secs(30)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(t0.elapsed() < Duration::from_secs(2), "no source: failed after {:?}", t0.elapsed());
    for source in [
        "AWS_ACCESS_KEY_ID",
        "profile `default`",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "IMDSv2",
    ] {
        assert!(e.message().contains(source), "{source} in: {}", e.message());
    }
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("http://{}", silent.local_addr().unwrap()));
    let t0 = Instant::now();
    let e = open_keyless(&c, Duration::from_secs(30)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable, "{}", e.message());
    // The bound this protects: a host without IMDS pays at most the one short IMDS attempt.
    assert!(t0.elapsed() < Duration::from_secs(2), "silent IMDS: failed after {:?}", t0.elapsed());
    assert!(e.message().contains("IMDSv2"), "{}", e.message());
}

#[test]
fn a_token_without_keys_or_marker_is_refused_before_any_request() {
    let (_env, c, token) = keyless_case();
    set_env_credentials(&token);
    let mut json = c.to_json();
    json.as_object_mut().unwrap().remove("credentials");
    let blob = vsync_core::config::encode_json_blob(&json);
    let e = open_with(&blob, PASS, OpenOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
    assert!(e.message().contains("accessKeyId"), "{}", e.message());
    assert!(signed_with(&token).is_empty(), "the host's credentials were never used");
}

#[test]
fn expiring_container_credentials_are_fetched_again_by_remote_generation() {
    let (_env, c, token) = keyless_case();
    // Each call to the endpoint hands out new credentials that expire two seconds later.
    let served = Arc::new(AtomicUsize::new(0));
    let (s, t) = (served.clone(), token.clone());
    let server = Server::start(move |_| {
        let n = s.fetch_add(1, Ordering::SeqCst) + 1;
        (200, container_json(&format!("{t}-{n}"), &rfc3339(SystemTime::now() + Duration::from_secs(2))))
    });
    std::env::set_var("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/creds"));
    let (threads_before, fds_before) = (threads(), fds());
    let v = open_keyless(&c, Duration::from_secs(20)).unwrap();
    assert_eq!(signed_with(&format!("{token}-1")).len(), 2, "open: manifest + bundle with the first credentials");
    // Wait until the first credentials have expired (the event is the clock passing it).
    let expired = SystemTime::now() + Duration::from_secs(3);
    while SystemTime::now() < expired {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(v.remote_generation().unwrap(), 1);
    assert_eq!(served.load(Ordering::SeqCst), 2, "remote_generation fetched fresh credentials");
    assert_eq!(signed_with(&format!("{token}-2")).len(), 1, "the HEAD was signed with the new ones");
    // Nothing of the chain outlives a call.
    assert!(threads() <= threads_before, "threads: {threads_before} before, {} after", threads());
    assert!(fds() <= fds_before, "open files and sockets: {fds_before} before, {} after", fds());
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}
