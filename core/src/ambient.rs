//! Credentials for keyless tokens (`"credentials": "ambient"`, SPEC §2): the AWS SDKs' default
//! chain, in its documented order — environment variables (with a session token), the shared
//! config and credentials files (`AWS_PROFILE`: keys, `credential_process`, SSO, role
//! assumption), web identity (IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` through STS),
//! container credentials (ECS task roles, EKS Pod Identity: `AWS_CONTAINER_CREDENTIALS_*`), EC2
//! instance metadata (IMDSv2).
//!
//! Resolved once per call (`open`, `remote_generation`, a push) inside the call's runtime and
//! deadline, so a long-lived handle gets fresh credentials on every call (no cache that could
//! expire) and nothing — thread, socket, token cache — outlives the call.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::Region;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::date_time::{DateTime, Format};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::limits;

/// IMDS is the chain's last source: on a host without it (a laptop, a CI runner, a container
/// outside AWS) the chain must fail fast instead of paying the SDK's defaults (4 attempts of 1 s
/// connect + 1 s read). One attempt, one second each way: a real IMDS answers in milliseconds.
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
const IMDS_ATTEMPTS: u32 = 1;
/// Largest `credential_process` output read (a credentials JSON is a few hundred bytes).
const MAX_PROCESS_OUTPUT: u64 = 64 << 10;
/// How often a running `credential_process` is polled for its exit.
const PROCESS_POLL: Duration = Duration::from_millis(5);
/// Longest detail from the chain kept in a message.
const MAX_DETAIL: usize = 300;

/// The chain's sources, in order, as messages name them (names and variables, never values);
/// `{profile}` stands for the selected profile.
const SOURCE_NAMES: [&str; 5] = [
    "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)",
    "the shared config and credentials files (profile {profile}: keys, credential_process, SSO, role assumption)",
    "web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, via STS)",
    "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI: ECS task roles, EKS Pod Identity)",
    "EC2 instance metadata (IMDSv2)",
];

/// One source's name as messages give it, with the selected profile filled in.
fn source_name(i: usize) -> String {
    let profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "default".into());
    SOURCE_NAMES[i].replace("{profile}", &format!("`{profile}`"))
}

/// The sources tried, in order, with the profile that was selected.
pub fn sources_tried() -> String {
    (0..SOURCE_NAMES.len()).map(source_name).collect::<Vec<_>>().join(", ")
}

/// Credentials from the chain, and the source that gave them (for messages: a 403 then names
/// the source whose role S3 refused).
pub struct Resolved {
    pub credentials: Credentials,
    pub source: String,
}

/// Resolve credentials from the default chain. `http` reaches the credential sources (STS, SSO,
/// the container endpoint, IMDS); `region` is the token's, used by STS and SSO unless the
/// environment or profile names another.
///
/// The SDK's `DefaultCredentialsChain` semantics, with the sources named: a source that is not
/// configured passes to the next; a source that is configured but fails ends the search (as in
/// the SDKs: an expired IRSA token must not fall through to the node's instance role) and the
/// message names it. No source at all → `S3UnreachableError` naming every source tried. Built
/// here rather than with the SDK's chain so that the profile step can run `credential_process`
/// without Tokio's process driver (see `ProfileWithProcess`) and so that messages can name the
/// source (the SDK's chain error does not).
pub async fn resolve(http: SharedHttpClient, region: &str) -> Result<Resolved> {
    let conf = ProviderConfig::empty()
        .with_http_client(http)
        .with_sleep_impl(TokioSleep::new())
        .with_region(Some(Region::new(region.to_string())));
    let imds_client = imds::Client::builder()
        .configure(&conf)
        .max_attempts(IMDS_ATTEMPTS)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .build();
    // In SOURCE_NAMES' order.
    let chain: [SharedCredentialsProvider; 5] = [
        SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
        SharedCredentialsProvider::new(ProfileWithProcess {
            sdk: ProfileFileCredentialsProvider::builder().configure(&conf).build(),
        }),
        SharedCredentialsProvider::new(WebIdentityTokenCredentialsProvider::builder().configure(&conf).build()),
        SharedCredentialsProvider::new(EcsCredentialsProvider::builder().configure(&conf).build()),
        SharedCredentialsProvider::new(
            ImdsCredentialsProvider::builder().configure(&conf).imds_client(imds_client).build(),
        ),
    ];
    let mut last_detail = String::from("none");
    for (i, provider) in chain.iter().enumerate() {
        match provider.provide_credentials().await {
            Ok(credentials) => return Ok(Resolved { credentials, source: source_name(i) }),
            Err(e @ CredentialsError::CredentialsNotLoaded(_)) => last_detail = detail_of(&e),
            Err(e) => {
                return Err(Error::unreachable(format!(
                    "the runtime token is keyless (\"credentials\": \"ambient\") and its credentials come from {} \
                     on this host, which failed: {}; fix that source (the SDKs stop at the first source that is \
                     configured, so a later one is not tried)",
                    source_name(i),
                    detail_of(&e)
                )))
            }
        }
    }
    Err(Error::unreachable(format!(
        "the runtime token is keyless (\"credentials\": \"ambient\") and no AWS credentials were found on \
         this host; tried, in order: {}; the last answer: {last_detail}; give the workload a role (IRSA, EKS Pod \
         Identity, an ECS task role, an instance profile) or set AWS_PROFILE",
        sources_tried()
    )))
}

/// A credential source's error for a message: its whole chain of causes, cut to MAX_DETAIL.
fn detail_of(e: &CredentialsError) -> String {
    let mut detail = aws_smithy_types::error::display::DisplayErrorContext(e).to_string();
    limits::truncate_at_char_boundary(&mut detail, MAX_DETAIL);
    detail
}

/// The profile step. The SDK runs `credential_process` only with its `credentials-process`
/// feature, which turns on Tokio's process driver: every runtime would then register in a
/// process-wide signal pipe that outlives it (a socket left behind by every `open()`, inherited
/// across fork). So when the selected profile's own credentials are a `credential_process`, it
/// is run here (std::process, polled on the call's runtime, killed at the deadline); every other
/// profile kind (keys, SSO, role assumption, web identity) goes to the SDK's provider.
#[derive(Debug)]
struct ProfileWithProcess {
    sdk: ProfileFileCredentialsProvider,
}

impl ProvideCredentials for ProfileWithProcess {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match credential_process_command().await {
                Some((profile, command)) => run_credential_process(&profile, &command).await,
                None => self.sdk.provide_credentials().await,
            }
        })
    }
}

/// The selected profile's `credential_process`, when that is what provides its credentials in
/// the SDK's order (no `credential_source`, web identity, SSO or login before it, and not a role
/// assumed from it: those go to the SDK).
async fn credential_process_command() -> Option<(String, Zeroizing<String>)> {
    use aws_types::os_shim_internal::{Env, Fs};
    #[allow(deprecated)] // the alias is the type `load` takes
    let files = aws_config::profile::profile_file::ProfileFiles::default();
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await.ok()?;
    let name = set.selected_profile().to_string();
    let profile = set.get_profile(&name)?;
    let command = profile.get("credential_process")?;
    let before =
        ["role_arn", "credential_source", "web_identity_token_file", "sso_session", "sso_start_url", "login_session"];
    if before.iter().any(|k| profile.get(k).is_some()) {
        return None;
    }
    Some((name, Zeroizing::new(command.to_string())))
}

/// Kills and reaps the child when the call ends first (the deadline dropped the future).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Run `credential_process` (`sh -c`, as the AWS CLI and SDKs do) and parse its JSON. Messages
/// name the profile, never the command (it may carry secrets) or its output.
async fn run_credential_process(profile: &str, command: &str) -> provider::Result {
    let failed =
        |why: &str| CredentialsError::provider_error(format!("credential_process of profile `{profile}` {why}"));
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|_| failed("could not be started"))?;
    let mut child = Reaped(child);
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => tokio::time::sleep(PROCESS_POLL).await,
            Err(_) => return Err(failed("could not be waited for")),
        }
    };
    if !status.success() {
        return Err(failed(&format!("failed ({status})")));
    }
    let mut out = Zeroizing::new(Vec::new());
    if let Some(stdout) = child.0.stdout.take() {
        stdout.take(MAX_PROCESS_OUTPUT).read_to_end(&mut out).map_err(|_| failed("output could not be read"))?;
    }
    parse_process_output(&out).map_err(failed)
}

/// The `credential_process` output format (AWS CLI): `Version` 1, `AccessKeyId`,
/// `SecretAccessKey`, optional `SessionToken` and RFC 3339 `Expiration`.
fn parse_process_output(out: &[u8]) -> std::result::Result<Credentials, &'static str> {
    let json: serde_json::Value = serde_json::from_slice(out).map_err(|_| "printed something that is not JSON")?;
    if json.get("Version").and_then(serde_json::Value::as_u64) != Some(1) {
        return Err("printed JSON without \"Version\": 1");
    }
    let field = |name| json.get(name).and_then(serde_json::Value::as_str).filter(|s| !s.is_empty());
    let (Some(key_id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err("printed JSON without AccessKeyId and SecretAccessKey");
    };
    let expiry = match field("Expiration") {
        None => None,
        Some(t) => Some(
            DateTime::from_str(t, Format::DateTime)
                .ok()
                .and_then(|d| SystemTime::try_from(d).ok())
                .ok_or("printed an Expiration that is not an RFC 3339 time")?,
        ),
    };
    Ok(Credentials::new(key_id, secret, field("SessionToken").map(str::to_string), expiry, "credential_process"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_output_is_parsed_and_checked() {
        let ok = br#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2030-01-02T03:04:05Z"}"#;
        let c = parse_process_output(ok).unwrap();
        assert_eq!((c.access_key_id(), c.secret_access_key(), c.session_token()), ("AK", "SK", Some("T")));
        assert!(c.expiry().is_some());
        assert!(parse_process_output(br#"{"Version":2,"AccessKeyId":"AK","SecretAccessKey":"SK"}"#).is_err());
        assert!(parse_process_output(br#"{"Version":1,"AccessKeyId":"AK"}"#).is_err());
        assert!(parse_process_output(b"AK SK").is_err());
        let e = parse_process_output(br#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","Expiration":"soon"}"#);
        assert!(e.is_err());
    }
}
