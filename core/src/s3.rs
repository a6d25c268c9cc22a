//! S3 access (SPEC §5): path-style, endpoint and static credentials from the config — or, for a
//! keyless token only (`"credentials": "ambient"`), credentials from the AWS default chain
//! (`crate::ambient`), resolved inside the call and its deadline. Every public entry point builds a current-thread Tokio runtime and a
//! client for the duration of one call and drops both before returning, so no thread, runtime
//! or socket outlives a call (a process may fork after `open()`).
//!
//! Reads are bounded three ways (docs/robustness.md): by the call's deadline (DNS included), by
//! a size cap per object kind (checked against `Content-Length`, enforced while streaming), and
//! by a retry budget: transient failures are retried with jittered exponential backoff inside
//! the deadline; TLS failures, 403 and 404 are final at once. The network environment is the
//! AWS SDKs': `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` and `AWS_CA_BUNDLE` are honoured.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::limits::{self, ObjectKind};

/// Default bound on one call (`open`, `remote_generation`, a push).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The user-metadata key that carries the generation (`x-amz-meta-gen`).
pub const GEN_METADATA: &str = "gen";
/// A PEM file of the certificate authorities to trust instead of the system's, as the AWS CLI
/// and boto3 read it (SPEC §5 network environment; docs/robustness.md).
pub const CA_BUNDLE_ENV: &str = "AWS_CA_BUNDLE";
/// Largest `AWS_CA_BUNDLE` file read (the Mozilla bundle is ~220 KiB).
const MAX_CA_BUNDLE: u64 = 16 << 20;
/// Longest an error detail from the network stack is kept in a message.
const MAX_DETAIL: usize = 300;

/// How long `run` waits, once the call is over, for the runtime's blocking threads to exit.
/// Idle ones exit at once; a thread stuck in `getaddrinfo` (a resolver that never answers) is
/// left to finish on its own instead of holding the call past its deadline (issue 12 #3).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);

/// Retries of reads (GET, HEAD): attempts in all, and the exponential backoff's base and cap.
/// Each wait is drawn uniformly from [0, min(cap, base * 2^(attempt-1))] ("full jitter"), so a
/// fleet booting together spreads out instead of retrying in lockstep; a wait that would end
/// past the deadline is not started (the last real error is reported instead).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

/// 10 attempts: with 20% of GETs answered 503, a GET still fails only with probability
/// 0.2^10 ≈ 1e-7, so a fleet of 200 booting together (400 GETs) gets through.
pub const READ_RETRY: RetryPolicy =
    RetryPolicy { max_attempts: 10, base: Duration::from_millis(50), cap: Duration::from_secs(1) };

impl RetryPolicy {
    /// The jittered wait before attempt `attempt + 1`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(self.cap);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::random_range(0..=micros))
    }
}

/// A bucket + prefix with a client; only lives inside [`run`].
pub struct Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    endpoint: String,
    /// The call's deadline: retries never wait past it.
    deadline: Instant,
    /// The cap on bundle objects in force for this call.
    max_bundle: u64,
    /// For a keyless token, the chain source whose credentials sign (a 403 names it).
    credentials_source: Option<String>,
}

/// A fetched object: its bytes and its `gen` user metadata when present and numeric.
pub struct Object {
    pub body: Vec<u8>,
    pub gen: Option<u64>,
}

/// What a HEAD found.
pub struct Head {
    pub gen: Option<u64>,
}

/// The reads the fetch path needs (SPEC §5), so that it runs unchanged over S3 ([`Store`]) and
/// over an in-memory object map (`hooks::open_from_memory`, for fuzzing and tests).
#[allow(async_fn_in_trait)] // only used on one thread (a current-thread runtime, or polled inline)
pub trait ObjectSource {
    /// `<prefix><name>` (for messages).
    fn key(&self, name: &str) -> String;
    /// The object, `None` when it does not exist; over its kind's cap is `BundleCorruptError`.
    async fn get(&self, name: &str) -> Result<Option<Object>>;
    /// The object's metadata, `None` when it does not exist.
    async fn head(&self, name: &str) -> Result<Option<Head>>;
}

/// Run `f` against the store described by `config` on a fresh current-thread runtime, bounded
/// by `timeout` (exceeding it is `S3UnreachableError`). The runtime and client are dropped
/// before this returns. The bundle cap is `VSYNC_MAX_BUNDLE_BYTES` or the default.
pub fn run<T, F, Fut>(config: &Config, timeout: Duration, f: F) -> Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    run_capped(config, timeout, None, f)
}

/// [`run`] with an explicit bundle cap (`OpenOptions::max_bundle_bytes`); `None` reads
/// `VSYNC_MAX_BUNDLE_BYTES`, else the default.
pub fn run_capped<T, F, Fut>(config: &Config, timeout: Duration, max_bundle: Option<u64>, f: F) -> Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let timeout = limits::clamp_timeout(timeout);
    let max_bundle = limits::max_bundle_bytes(max_bundle)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| Error::unreachable("could not start the I/O runtime for the S3 request"))?;
    let endpoint = config.endpoint.clone();
    // Set once a keyless token's credentials are in hand: a deadline before that is the
    // credential sources', not S3's.
    let credentials_resolved = std::cell::Cell::new(!config.ambient_credentials);
    let out = rt.block_on(async {
        let call = async {
            let store = Store::new(config, Instant::now() + timeout, max_bundle).await?;
            credentials_resolved.set(true);
            f(store).await
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(r) => r,
            Err(_) if !credentials_resolved.get() => Err(Error::unreachable(format!(
                "the AWS credential sources of this host did not answer within {timeout:?} (the runtime token is \
                 keyless); tried, in order: {}",
                crate::ambient::sources_tried()
            ))),
            Err(_) => Err(Error::unreachable(format!(
                "S3 at {endpoint} did not answer within {timeout:?}; check the endpoint, DNS and network, or raise the timeout"
            ))),
        }
    });
    // Not `drop(rt)`: that waits for every blocking thread, including a `getaddrinfo` that the
    // system resolver may hold for 10-20 s after the deadline has passed.
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    out
}

/// One attempt of a read: final (success, a missing key, or a permanent failure) or transient.
enum Attempt<T> {
    Done(Result<T>),
    Transient(Error),
}

impl Store {
    async fn new(config: &Config, deadline: Instant, max_bundle: u64) -> Result<Store> {
        let tls = ca_bundle()?;
        let (creds, credentials_source) = if config.ambient_credentials {
            // The credential sources (IMDS, the container endpoint, STS, SSO) are reached
            // directly, never through a proxy: a proxy would see the credentials they return.
            let resolved =
                crate::ambient::resolve(http_client(tls.clone(), ProxyConfig::disabled()), &config.region).await?;
            (resolved.credentials, Some(resolved.source))
        } else {
            let keys = Credentials::new(
                config.access_key_id.as_str(),
                config.secret_access_key.as_str(),
                None,
                None,
                "vsync-config",
            );
            (keys, None)
        };
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url(config.endpoint.clone())
            .force_path_style(true)
            .credentials_provider(creds)
            .http_client(http_client(tls, endpoint_proxy(&config.endpoint)))
            // S3-compatible stores (R2, B2, older MinIO) reject the SDK's default checksums.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // Retries are ours (`READ_RETRY`): they know the deadline and which failures are final.
            .retry_config(RetryConfig::disabled())
            .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).build())
            .build();
        Ok(Store {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            endpoint: config.endpoint.clone(),
            deadline,
            max_bundle,
            credentials_source,
        })
    }

    /// What signs this store's requests, for `vsync status`: the chain source that gave a
    /// keyless token's credentials, or the runtime token's (or a writer's) own keys.
    pub fn signed_by(&self) -> String {
        match &self.credentials_source {
            Some(source) => format!("{source}, from the AWS default chain (the token is keyless)"),
            None => "the access key in the runtime token".to_string(),
        }
    }

    /// `<prefix><name>`: no separator is added (SPEC §5).
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// GET `<prefix><name>`; `Ok(None)` when the key does not exist. The body is capped by the
    /// object's kind (`limits::ObjectKind`); transient failures are retried (`READ_RETRY`).
    pub async fn get(&self, name: &str) -> Result<Option<Object>> {
        let key = self.key(name);
        let kind = ObjectKind::of(name);
        let cap = kind.cap(self.max_bundle);
        self.retrying(|| self.get_once(&key, kind, cap)).await
    }

    async fn get_once(&self, key: &str, kind: ObjectKind, cap: u64) -> Attempt<Option<Object>> {
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => return self.failed(&e, key),
        };
        let gen = gen_from_metadata(out.metadata());
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(n) = declared.filter(|n| *n > cap) {
            return Attempt::Done(Err(limits::too_large(&self.uri(key), Some(n), cap, kind)));
        }
        // Pre-sized from Content-Length (bounded by the cap): no regrowth while streaming.
        let mut body = Vec::with_capacity(usize::try_from(declared.unwrap_or(0)).unwrap_or(0));
        let mut stream: ByteStream = out.body;
        loop {
            match stream.next().await {
                None => break,
                Some(Ok(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > cap {
                        return Attempt::Done(Err(limits::too_large(&self.uri(key), None, cap, kind)));
                    }
                    body.extend_from_slice(&chunk);
                }
                // A reset or truncated body: the object is fine, the transfer was not.
                Some(Err(_)) => {
                    return Attempt::Transient(Error::unreachable(format!(
                        "the download of {} from {} was interrupted; retry",
                        self.uri(key),
                        self.endpoint
                    )))
                }
            }
        }
        Attempt::Done(Ok(Some(Object { body, gen })))
    }

    /// HEAD `<prefix><name>`; `Ok(None)` when the key does not exist. Retried like `get`.
    pub async fn head(&self, name: &str) -> Result<Option<Head>> {
        let key = self.key(name);
        self.retrying(|| async {
            match self.client.head_object().bucket(&self.bucket).key(&key).send().await {
                Ok(out) => Attempt::Done(Ok(Some(Head { gen: gen_from_metadata(out.metadata()) }))),
                Err(e) => self.failed(&e, &key),
            }
        })
        .await
    }

    /// Runs `attempt` until it is final, the retry budget is spent, or the next wait would end
    /// past the deadline; then the last error is reported as it was (plus the attempt count).
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut n = 1;
        loop {
            match attempt().await {
                Attempt::Done(r) => return r,
                Attempt::Transient(e) => {
                    let wait = READ_RETRY.backoff(n);
                    if n >= READ_RETRY.max_attempts || Instant::now() + wait >= self.deadline {
                        return Err(Error::new(e.kind(), format!("{} (gave up after {n} attempts)", e.message())));
                    }
                    tokio::time::sleep(wait).await;
                    n += 1;
                }
            }
        }
    }

    /// A failed request as an attempt: 404 is a missing key, transient failures may be retried.
    fn failed<E: ProvideErrorMetadata, T>(&self, err: &SdkError<E, HttpResponse>, key: &str) -> Attempt<Option<T>> {
        match self.classify(err, key) {
            Ok(()) => Attempt::Done(Ok(None)),
            Err(e) if is_transient(err) => Attempt::Transient(e),
            Err(e) => Attempt::Done(Err(e)),
        }
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    #[cfg(feature = "writer")]
    /// PUT `<prefix><name>`, with `gen` user metadata when given, unconditionally (last writer
    /// wins). The writer's protocol uses [`Store::put_if`].
    pub async fn put(&self, name: &str, body: Vec<u8>, gen: Option<u64>) -> Result<()> {
        match self.put_if(name, body, gen, &PutIf::Always).await {
            Ok(_) => Ok(()),
            Err(f) => Err(f.error),
        }
    }

    #[cfg(feature = "writer")]
    /// PUT `<prefix><name>` under an S3 conditional-write precondition (SPEC §5 writer
    /// protocol). A refused precondition is an answer, not an error: `PreconditionFailed`.
    /// A failure says whether the object may have been stored anyway (`maybe_stored`): then
    /// only reading it back tells what happened.
    pub async fn put_if(
        &self,
        name: &str,
        body: Vec<u8>,
        gen: Option<u64>,
        condition: &PutIf,
    ) -> Result<PutOutcome, PutFailure> {
        let key = self.key(name);
        let mut req = self.client.put_object().bucket(&self.bucket).key(&key).body(ByteStream::from(body));
        if let Some(g) = gen {
            req = req.metadata(GEN_METADATA, g.to_string());
        }
        req = match condition {
            PutIf::Always => req,
            PutIf::Absent => req.if_none_match("*"),
            PutIf::Matches(etag) => req.if_match(etag),
        };
        let err = match req.send().await {
            Ok(out) => return Ok(PutOutcome::Stored { etag: out.e_tag().map(str::to_string) }),
            Err(e) => e,
        };
        let (status, code) = match &err {
            SdkError::ServiceError(se) => (Some(se.raw().status().as_u16()), se.err().code().map(str::to_string)),
            SdkError::ResponseError(re) => (Some(re.raw().status().as_u16()), None),
            _ => (None, None),
        };
        let conditional = *condition != PutIf::Always;
        match (status, code.as_deref()) {
            // 412: the precondition does not hold. 409 ConditionalRequestConflict: a concurrent
            // conditional write on the key won (AWS). 404 NoSuchKey: If-Match on a missing key.
            (Some(412), _) | (Some(409), _) if conditional => return Ok(PutOutcome::PreconditionFailed),
            (Some(404), c) if matches!(condition, PutIf::Matches(_)) && c != Some("NoSuchBucket") => {
                return Ok(PutOutcome::PreconditionFailed)
            }
            _ => {}
        }
        let error = match self.classify(&err, &key) {
            // A bare 404 on a PUT: the bucket is missing.
            Ok(()) => Error::unreachable(format!("bucket {} does not exist at {}", self.bucket, self.endpoint)),
            Err(e) => e,
        };
        // A 4xx answer means the store refused the request: nothing was stored. Anything else
        // (no answer, a time-out, a reset, a 5xx) leaves the outcome open.
        let maybe_stored = !matches!(status, Some(400..=499));
        Err(PutFailure { error, status, maybe_stored })
    }

    #[cfg(feature = "writer")]
    /// HEAD `<prefix><name>` for what a conditional write needs: the ETag (for `If-Match`) and
    /// the `gen` metadata of the same version. `Ok(None)` when the key does not exist.
    pub async fn head_version(&self, name: &str) -> Result<Option<Version>> {
        let key = self.key(name);
        match self.client.head_object().bucket(&self.bucket).key(&key).send().await {
            Ok(out) => {
                Ok(Some(Version { etag: out.e_tag().map(str::to_string), gen: gen_from_metadata(out.metadata()) }))
            }
            Err(e) => self.classify(&e, &key).map(|()| None),
        }
    }

    /// The names (without the prefix) of every object whose key starts with `<prefix><start>`,
    /// all pages of ListObjectsV2 (retention: `writer::prune_bundles`). Needs `s3:ListBucket`.
    #[cfg(feature = "writer")]
    pub async fn list_names(&self, start: &str) -> Result<Vec<String>> {
        let key = self.key(start);
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let req = self.client.list_objects_v2().bucket(&self.bucket).prefix(&key).set_continuation_token(token);
            let out = match req.send().await {
                Ok(out) => out,
                Err(e) => {
                    return Err(self.classify(&e, &key).err().unwrap_or_else(|| {
                        Error::unreachable(format!("bucket {} does not exist at {}", self.bucket, self.endpoint))
                    }))
                }
            };
            for o in out.contents() {
                if let Some(name) = o.key().and_then(|k| k.strip_prefix(self.prefix.as_str())) {
                    names.push(name.to_string());
                }
            }
            token = out.next_continuation_token().map(str::to_string);
            if token.is_none() || out.is_truncated() != Some(true) {
                return Ok(names);
            }
        }
    }

    /// DELETE `<prefix><name>` (retention, a push's unused bundle, and the tests' torn buckets).
    #[cfg(feature = "writer")]
    pub async fn delete(&self, name: &str) -> Result<()> {
        let key = self.key(name);
        match self.client.delete_object().bucket(&self.bucket).key(&key).send().await {
            Ok(_) => Ok(()),
            Err(e) => self.classify(&e, &key),
        }
    }

    /// HEAD the bucket: proves the endpoint answers and the credentials may read it.
    pub async fn check_bucket(&self) -> Result<()> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => match self.classify(&e, "") {
                Ok(()) => {
                    Err(Error::unreachable(format!("bucket {} does not exist at {}", self.bucket, self.endpoint)))
                }
                Err(e) => Err(e),
            },
        }
    }

    /// Create the bucket if it is missing (dev server, tests, demo).
    #[cfg(feature = "writer")]
    pub async fn ensure_bucket(&self) -> Result<()> {
        if self.check_bucket().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => match self.classify(&e, "") {
                Ok(()) => Ok(()),
                Err(e) => Err(e),
            },
        }
    }

    /// `Ok(())` means "a plain missing key"; everything else is an error of the right class.
    fn classify<E: ProvideErrorMetadata>(&self, err: &SdkError<E, HttpResponse>, key: &str) -> Result<()> {
        let (status, code) = match err {
            SdkError::ServiceError(se) => (Some(se.raw().status().as_u16()), se.err().code().map(str::to_string)),
            SdkError::ResponseError(re) => (Some(re.raw().status().as_u16()), None),
            SdkError::TimeoutError(_) => (None, Some("Timeout".to_string())),
            _ => (None, None),
        };
        let detail = match err {
            SdkError::DispatchFailure(d) => d.as_connector_error().map(|c| {
                let mut s = aws_smithy_types::error::display::DisplayErrorContext(c).to_string();
                // Char-boundary cut: OS error text is localized (multi-byte under ru_RU, ja_JP).
                limits::truncate_at_char_boundary(&mut s, MAX_DETAIL);
                if is_tls_failure(c) {
                    s.push_str(
                        "; if the endpoint uses a private certificate authority, point AWS_CA_BUNDLE at its PEM file",
                    );
                }
                s
            }),
            _ => None,
        };
        let refused = Refused { bucket: &self.bucket, key, endpoint: &self.endpoint };
        classify_failure(status, code.as_deref(), &refused, self.credentials_source.as_deref(), detail.as_deref())
    }
}

impl ObjectSource for Store {
    fn key(&self, name: &str) -> String {
        Store::key(self, name)
    }
    async fn get(&self, name: &str) -> Result<Option<Object>> {
        Store::get(self, name).await
    }
    async fn head(&self, name: &str) -> Result<Option<Head>> {
        Store::head(self, name).await
    }
}

/// The object a failed request named, for messages.
pub struct Refused<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub endpoint: &'a str,
}

/// SPEC §5's mapping from an S3 answer to an error class, separate from the SDK so it is
/// unit-tested (the local test server cannot produce `NoSuchBucket`). `credentials_source` is
/// the chain source that signed for a keyless token (`None`: the token's or the writer's keys).
pub fn classify_failure(
    status: Option<u16>,
    code: Option<&str>,
    target: &Refused<'_>,
    credentials_source: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    let Refused { bucket, key, endpoint } = *target;
    match (status, code) {
        (Some(404), Some("NoSuchBucket")) => Err(Error::unreachable(format!(
            "bucket {bucket} does not exist at {endpoint}; check the bucket name in VSYNC_CONFIG"
        ))),
        (Some(404), _) => Ok(()),
        (Some(403), c) => {
            let code = c.map(|c| format!(" {c}")).unwrap_or_default();
            Err(Error::unreachable(match credentials_source {
                None => format!(
                    "S3 refused access to s3://{bucket}/{key} at {endpoint} (403{code}); check that the \
                     credentials in VSYNC_CONFIG are valid and allowed to read this bucket and prefix"
                ),
                // A keyless token has no credentials of its own: the refused ones are the host's.
                Some(source) => format!(
                    "S3 refused access to s3://{bucket}/{key} at {endpoint} (403{code}) to the credentials of \
                     {source} on this host (the runtime token is keyless); check that their role may \
                     s3:GetObject (to push, also s3:PutObject) on this bucket and prefix (README, trust section)"
                ),
            }))
        }
        (Some(s), c) => Err(Error::unreachable(format!(
            "S3 at {endpoint} answered HTTP {s}{} for s3://{bucket}/{key}; retry, or check the endpoint and region",
            c.map(|c| format!(" {c}")).unwrap_or_default()
        ))),
        (None, Some("Timeout")) => {
            Err(Error::unreachable(format!("S3 at {endpoint} timed out; check the endpoint and network")))
        }
        (None, _) => Err(Error::unreachable(format!(
            "S3 at {endpoint} could not be reached ({}); check the endpoint, DNS, TLS and network",
            detail.unwrap_or("no response")
        ))),
    }
}

/// Failures worth another attempt: the store said "try again" (5xx, 429, SlowDown and the like),
/// or the connection failed, timed out or broke mid-reply. TLS failures are final: a bad
/// certificate does not get better by asking again.
fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(se) => transient_status(se.raw().status().as_u16(), se.err().code()),
        // An answer whose body could not be read: a success cut short, or a server error.
        SdkError::ResponseError(re) => {
            let status = re.raw().status().as_u16();
            transient_status(status, None) || (200..300).contains(&status)
        }
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(d) => d.as_connector_error().is_some_and(|c| {
            (c.is_io() || c.is_timeout() || c.as_other() == Some(aws_smithy_types::retry::ErrorKind::TransientError))
                && !is_tls_failure(c)
        }),
        _ => false,
    }
}

fn transient_status(status: u16, code: Option<&str>) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
        || matches!(
            code,
            Some(
                "SlowDown"
                    | "RequestTimeout"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
            )
        )
}

/// True when a rustls error (a certificate that does not verify, a handshake failure) is in the
/// chain. `io::Error::source` skips its payload, so the payload is inspected explicitly.
fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            if is_tls_failure(inner) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// The proxy environment the AWS SDKs honour, for the S3 endpoint.
fn endpoint_proxy(endpoint: &str) -> ProxyConfig {
    // `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy`, `ALL_PROXY`, read per client. Whether
    // the endpoint bypasses them is decided by the core's `NO_PROXY` rules (crate::proxy: `*` for
    // IP endpoints too, `host:port`, bracketed IPv6), not by the HTTP stack's narrower matcher,
    // which still sees the same `NO_PROXY` but never bypasses an endpoint the core would proxy.
    if crate::proxy::endpoint_bypasses_proxy(endpoint) {
        ProxyConfig::disabled()
    } else {
        ProxyConfig::from_env()
    }
}

/// The HTTP client: rustls (ring), `proxy`, and the trust store (`AWS_CA_BUNDLE` or the
/// system's). Connectors are cached per settings by the builder.
fn http_client(tls: TlsContext, proxy: ProxyConfig) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut b = Connector::builder();
        b.set_connector_settings(settings.cloned());
        if let Some(sleep) = components.and_then(|c| c.sleep_impl()) {
            b = b.sleep_impl(sleep);
        }
        b.proxy_config(proxy.clone())
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls.clone())
            .build()
    })
}

/// The trust store: the PEM certificates of `AWS_CA_BUNDLE` *instead of* the system roots when it
/// is set (as the AWS CLI and boto3 use it), else the system roots (which honour `SSL_CERT_FILE`
/// and `SSL_CERT_DIR`). The bundle is validated here the way the TLS layer will parse it, because
/// that layer panics on a certificate it cannot parse.
fn ca_bundle() -> Result<TlsContext> {
    let Some(path) = std::env::var_os(CA_BUNDLE_ENV).filter(|p| !p.is_empty()) else {
        return Ok(TlsContext::default());
    };
    let shown = path.to_string_lossy().into_owned();
    let bad = |why: &str| Error::unreachable(format!("{CA_BUNDLE_ENV}={shown}: {why}"));
    let mut pem = Vec::new();
    {
        use std::io::Read;
        let file = std::fs::File::open(&path).map_err(|_| bad("the file cannot be opened"))?;
        file.take(MAX_CA_BUNDLE + 1).read_to_end(&mut pem).map_err(|_| bad("the file cannot be read"))?;
    }
    if pem.len() as u64 > MAX_CA_BUNDLE {
        return Err(bad("the file is larger than 16 MiB; it is not a CA bundle"));
    }
    {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad("the file is not valid PEM"))?;
        if certs.is_empty() {
            return Err(bad("the file contains no PEM certificate"));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs {
            roots.add(cert).map_err(|_| bad("a certificate in the file cannot be parsed"))?;
        }
    }
    TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
        .build()
        .map_err(|_| bad("the certificates cannot be used as a trust store"))
}

#[cfg(feature = "writer")]
/// A precondition on a PUT (S3 conditional writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutIf {
    /// No precondition: the last writer wins.
    Always,
    /// `If-None-Match: *`: store only when the key does not exist yet.
    Absent,
    /// `If-Match: <etag>`: store only when the current object has this ETag.
    Matches(String),
}

#[cfg(feature = "writer")]
/// The answer to a conditional PUT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored; the new ETag when the store returned one.
    Stored { etag: Option<String> },
    /// The precondition did not hold (412, 409 ConditionalRequestConflict, or 404 for
    /// `If-Match` on a missing key): nothing was stored.
    PreconditionFailed,
}

#[cfg(feature = "writer")]
/// A PUT that failed. `maybe_stored` is false only when the store answered with a refusal
/// (4xx); after a time-out, a reset or a 5xx the object may or may not have been stored.
#[derive(Debug)]
pub struct PutFailure {
    pub error: Error,
    pub status: Option<u16>,
    pub maybe_stored: bool,
}

#[cfg(feature = "writer")]
/// What [`Store::head_version`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub etag: Option<String>,
    pub gen: Option<u64>,
}

fn gen_from_metadata(meta: Option<&HashMap<String, String>>) -> Option<u64> {
    meta?.get(GEN_METADATA)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn classifier_follows_spec() {
        const AT: Refused<'static> = Refused { bucket: "mybucket", key: "p/manifest", endpoint: "http://h" };
        let k = |s, c| classify_failure(s, c, &AT, None, None).map_err(|e| e.kind());
        assert_eq!(k(Some(404), Some("NoSuchKey")), Ok(()));
        assert_eq!(k(Some(404), None), Ok(()));
        assert_eq!(k(Some(404), Some("NoSuchBucket")), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(Some(403), Some("SignatureDoesNotMatch")), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(Some(500), None), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(Some(301), None), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(None, None), Err(ErrorKind::S3Unreachable));
        let e = classify_failure(Some(404), Some("NoSuchBucket"), &AT, None, None).unwrap_err();
        assert!(e.message().contains("mybucket"));
        let e = classify_failure(Some(403), None, &AT, None, None).unwrap_err();
        assert!(e.message().contains("credentials in VSYNC_CONFIG"));
        // Keyless: the refused credentials are the host's; the message names their source and
        // the permission, never VSYNC_CONFIG's (it has none).
        let e = classify_failure(Some(403), Some("AccessDenied"), &AT, Some("web identity (…)"), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::S3Unreachable);
        assert!(e.message().contains("credentials of web identity (…) on this host"), "{}", e.message());
        assert!(e.message().contains("s3:GetObject") && !e.message().contains("VSYNC_CONFIG"), "{}", e.message());
    }
}
