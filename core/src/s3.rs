//! S3 access (SPEC §5): path-style, static credentials and endpoint from the config, no ambient
//! AWS credential chain. Every public entry point builds a current-thread Tokio runtime and a
//! client for the duration of one call and drops both before returning, so no thread, runtime
//! or socket outlives a call (a process may fork after `open()`).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::config::Config;
use crate::error::{Error, Result};

/// Default bound on one call (`open`, `remote_generation`, a push).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The user-metadata key that carries the generation (`x-amz-meta-gen`).
pub const GEN_METADATA: &str = "gen";

/// A bucket + prefix with a client; only lives inside [`run`].
pub struct Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    endpoint: String,
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

/// Run `f` against the store described by `config` on a fresh current-thread runtime, bounded
/// by `timeout` (exceeding it is `S3UnreachableError`). The runtime and client are dropped
/// before this returns.
pub fn run<T, F, Fut>(config: &Config, timeout: Duration, f: F) -> Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| Error::unreachable("could not start the I/O runtime for the S3 request"))?;
    let store = Store::new(config);
    let endpoint = config.endpoint.clone();
    let out = rt.block_on(async move {
        match tokio::time::timeout(timeout, f(store)).await {
            Ok(r) => r,
            Err(_) => Err(Error::unreachable(format!(
                "S3 at {endpoint} did not answer within {timeout:?}; check the endpoint and network, or raise the timeout"
            ))),
        }
    });
    drop(rt);
    out
}

impl Store {
    fn new(config: &Config) -> Store {
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        let creds = Credentials::new(
            config.access_key_id.as_str(),
            config.secret_access_key.as_str(),
            None,
            None,
            "vsync-config",
        );
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url(config.endpoint.clone())
            .force_path_style(true)
            .credentials_provider(creds)
            .http_client(http)
            // S3-compatible stores (R2, B2, older MinIO) reject the SDK's default checksums.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).build())
            .build();
        Store {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            endpoint: config.endpoint.clone(),
        }
    }

    /// `<prefix><name>`: no separator is added (SPEC §5).
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// GET `<prefix><name>`; `Ok(None)` when the key does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Object>> {
        let key = self.key(name);
        let res = self.client.get_object().bucket(&self.bucket).key(&key).send().await;
        match res {
            Ok(out) => {
                let gen = gen_from_metadata(out.metadata());
                let body = out.body.collect().await.map_err(|_| {
                    Error::unreachable(format!(
                        "the download of s3://{}/{key} from {} was interrupted; retry",
                        self.bucket, self.endpoint
                    ))
                })?;
                Ok(Some(Object { body: body.into_bytes().to_vec(), gen }))
            }
            Err(e) => self.classify(&e, &key).map(|()| None),
        }
    }

    /// HEAD `<prefix><name>`; `Ok(None)` when the key does not exist.
    pub async fn head(&self, name: &str) -> Result<Option<Head>> {
        let key = self.key(name);
        match self.client.head_object().bucket(&self.bucket).key(&key).send().await {
            Ok(out) => Ok(Some(Head { gen: gen_from_metadata(out.metadata()) })),
            Err(e) => self.classify(&e, &key).map(|()| None),
        }
    }

    /// PUT `<prefix><name>`, with `gen` user metadata when given, unconditionally (last writer
    /// wins). The writer's protocol uses [`Store::put_if`].
    pub async fn put(&self, name: &str, body: Vec<u8>, gen: Option<u64>) -> Result<()> {
        match self.put_if(name, body, gen, &PutIf::Always).await {
            Ok(_) => Ok(()),
            Err(f) => Err(f.error),
        }
    }

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

    /// DELETE `<prefix><name>` (tests and the corpus seeder use it to build torn buckets).
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
                s.truncate(300);
                s
            }),
            _ => None,
        };
        classify_failure(status, code.as_deref(), &self.bucket, key, &self.endpoint, detail.as_deref())
    }
}

/// SPEC §5's mapping from an S3 answer to an error class, separate from the SDK so it is
/// unit-tested (the local test server cannot produce `NoSuchBucket`).
pub fn classify_failure(
    status: Option<u16>,
    code: Option<&str>,
    bucket: &str,
    key: &str,
    endpoint: &str,
    detail: Option<&str>,
) -> Result<()> {
    match (status, code) {
        (Some(404), Some("NoSuchBucket")) => Err(Error::unreachable(format!(
            "bucket {bucket} does not exist at {endpoint}; check the bucket name in VSYNC_CONFIG"
        ))),
        (Some(404), _) => Ok(()),
        (Some(403), c) => Err(Error::unreachable(format!(
            "S3 refused access to s3://{bucket}/{key} at {endpoint} (403{}); check that the \
             credentials in VSYNC_CONFIG are valid and allowed to read this bucket and prefix",
            c.map(|c| format!(" {c}")).unwrap_or_default()
        ))),
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

/// The answer to a conditional PUT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored; the new ETag when the store returned one.
    Stored { etag: Option<String> },
    /// The precondition did not hold (412, 409 ConditionalRequestConflict, or 404 for
    /// `If-Match` on a missing key): nothing was stored.
    PreconditionFailed,
}

/// A PUT that failed. `maybe_stored` is false only when the store answered with a refusal
/// (4xx); after a time-out, a reset or a 5xx the object may or may not have been stored.
#[derive(Debug)]
pub struct PutFailure {
    pub error: Error,
    pub status: Option<u16>,
    pub maybe_stored: bool,
}

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
        let k = |s, c| classify_failure(s, c, "b", "p/manifest", "http://h", None).map_err(|e| e.kind());
        assert_eq!(k(Some(404), Some("NoSuchKey")), Ok(()));
        assert_eq!(k(Some(404), None), Ok(()));
        assert_eq!(k(Some(404), Some("NoSuchBucket")), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(Some(403), Some("SignatureDoesNotMatch")), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(Some(500), None), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(Some(301), None), Err(ErrorKind::S3Unreachable));
        assert_eq!(k(None, None), Err(ErrorKind::S3Unreachable));
        let e = classify_failure(Some(404), Some("NoSuchBucket"), "mybucket", "k", "http://h", None).unwrap_err();
        assert!(e.message().contains("mybucket"));
        let e = classify_failure(Some(403), None, "b", "k", "http://h", None).unwrap_err();
        assert!(e.message().contains("credentials"));
    }
}
