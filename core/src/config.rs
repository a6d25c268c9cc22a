//! `VSYNC_CONFIG`: `vsync-cfg-v1:` + base64url (no padding) of a gzip member holding a JSON
//! object (SPEC §2). Decoding applies the reader rules in the order the spec lists them, because
//! the order decides which error class a doubly-broken blob gets.

use std::fmt;
use std::io::Read;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::read::GzDecoder;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const BLOB_PREFIX: &str = "vsync-cfg-v1:";
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Shortest salt string a reader accepts (SPEC §2 rule 7).
pub const MIN_SALT_CHARS: usize = 16;
/// A decompressed config larger than this is not a config (guards against a gzip bomb).
const MAX_CONFIG_JSON: u64 = 1 << 20;
/// The field that marks a keyless token (SPEC §2): `"credentials": "ambient"`.
pub const CREDENTIALS_FIELD: &str = "credentials";
/// Its only value: the readers sign with the AWS default credential chain of the host.
pub const AMBIENT_CREDENTIALS: &str = "ambient";

/// The decoded bootstrap blob. `Debug` redacts the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Empty when `ambient_credentials`.
    pub access_key_id: String,
    /// Empty when `ambient_credentials`.
    pub secret_access_key: Zeroizing<String>,
    /// A keyless token (`"credentials": "ambient"`): S3 requests are signed with credentials
    /// from the AWS default chain of the host (`crate::ambient`), never with whatever keys the
    /// token lacks. Explicit, so that a token that lost its keys is an error, not a silent
    /// fall-through to the node's role.
    pub ambient_credentials: bool,
    pub prefix: String,
    pub env: String,
    /// PBKDF2 salt: its UTF-8 bytes are the salt, it is never base64-decoded.
    pub salt: String,
    pub iterations: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("ambient_credentials", &self.ambient_credentials)
            .field("prefix", &self.prefix)
            .field("env", &self.env)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Decode a blob, applying SPEC §2's reader rules in order.
    pub fn decode(blob: &str) -> Result<Config> {
        // Rule 1: the CLI prints a newline; trailing ASCII whitespace is not part of the blob.
        let blob = blob.trim_end_matches(|c: char| c.is_ascii_whitespace());
        // Rule 2.
        let Some(body) = blob.strip_prefix(BLOB_PREFIX) else {
            let hint = if blob.trim_start().starts_with('{') {
                "it looks like raw JSON; pass the blob printed by `vsync runtime-token`"
            } else if blob.is_empty() {
                "it is empty"
            } else {
                "it is another blob version or not a vsync config at all"
            };
            return Err(Error::config_missing(format!("VSYNC_CONFIG does not start with {BLOB_PREFIX:?} ({hint})")));
        };
        // Rule 3: standard base64 and padding are refused, never translated.
        if body.contains(['+', '/', '=']) {
            return Err(Error::config_version(
                "VSYNC_CONFIG body uses standard base64 or padding ('+', '/' or '='); this reader \
                 understands only vsync-cfg-v1 (base64url without padding); mint a new token \
                 with `vsync runtime-token`",
            ));
        }
        // Rule 4.
        let gz = URL_SAFE_NO_PAD.decode(body).map_err(|_| {
            Error::corrupt(
                "VSYNC_CONFIG body is not valid base64url; the token was truncated or altered, copy it again",
            )
        })?;
        let mut json = Zeroizing::new(Vec::new());
        GzDecoder::new(&gz[..]).take(MAX_CONFIG_JSON + 1).read_to_end(&mut json).map_err(|_| {
            Error::corrupt("VSYNC_CONFIG body is not a gzip stream; the token was altered, mint a new one")
        })?;
        if json.len() as u64 > MAX_CONFIG_JSON {
            return Err(Error::corrupt("VSYNC_CONFIG decompresses to more than 1 MiB; it is not a vsync config"));
        }
        // Rule 5.
        let root: Value = serde_json::from_slice(&json)
            .map_err(|_| Error::corrupt("VSYNC_CONFIG does not contain UTF-8 JSON; mint a new token"))?;
        let Value::Object(obj) = root else {
            return Err(Error::corrupt("VSYNC_CONFIG JSON root is not an object; mint a new token"));
        };
        // Rule 6: `v` first, before any other field.
        match obj.get("v") {
            Some(v) if v.as_u64() == Some(1) && v.is_u64() => {}
            Some(v) => {
                return Err(Error::config_version(format!(
                    "VSYNC_CONFIG schema version {} is not understood (only 1); upgrade the library or mint a v1 token",
                    short_json(v)
                )))
            }
            None => {
                return Err(Error::config_version(
                    "VSYNC_CONFIG has no schema version `v`; only v=1 is understood, mint a new token",
                ))
            }
        }
        // Rule 7.
        let salt = match obj.get("salt") {
            Some(Value::String(s)) if s.chars().count() >= MIN_SALT_CHARS => s.clone(),
            _ => {
                return Err(Error::config_version(format!(
                    "VSYNC_CONFIG salt is absent, not a string or shorter than {MIN_SALT_CHARS} \
                     characters (an older token format); mint a new token with `vsync runtime-token`"
                )))
            }
        };
        // Rule 8.
        let iterations = match obj.get("iterations") {
            Some(v) => v.as_u64().filter(|n| *n > 0).and_then(|n| u32::try_from(n).ok()),
            None => None,
        }
        .ok_or_else(|| Error::corrupt("VSYNC_CONFIG field `iterations` is absent or not a positive integer"))?;
        let endpoint = required_str(&obj, "endpoint")?;
        let region = required_str(&obj, "region")?;
        let bucket = required_str(&obj, "bucket")?;
        let ambient_credentials = ambient_marker(&obj)?;
        let (access_key_id, secret_access_key) = if ambient_credentials {
            (String::new(), Zeroizing::new(String::new()))
        } else {
            (required_key(&obj, "accessKeyId")?, Zeroizing::new(required_key(&obj, "secretAccessKey")?))
        };
        let config = Config {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            ambient_credentials,
            prefix: required_str(&obj, "prefix")?,
            env: required_str(&obj, "env")?,
            salt,
            iterations,
        };
        config.validate_fields()?;
        Ok(config)
    }

    /// Field contents that could never work and could break the request signer (which panics on
    /// a CR/LF in a header value): `BundleCorruptError` (SPEC §2 rule 8, a field of the wrong
    /// shape), naming the field, never its value. Run at decode; `vsync runtime-token` runs
    /// [`Config::field_problem`] before minting.
    pub fn validate_fields(&self) -> Result<()> {
        match self.field_problem() {
            None => Ok(()),
            Some((field, problem)) => Err(Error::corrupt(format!(
                "VSYNC_CONFIG field `{field}` {problem}; mint a new token with `vsync runtime-token`"
            ))),
        }
    }

    /// The first field whose content is unusable, with what is wrong with it:
    /// - `endpoint`, `region`, `bucket`, `accessKeyId` go into the URL and the signed headers:
    ///   non-empty, no whitespace, no control character;
    /// - `prefix` and `env` go into object keys and messages: no control character (a prefix may
    ///   be empty and, used verbatim, may contain spaces).
    pub fn field_problem(&self) -> Option<(&'static str, &'static str)> {
        let key_id = if self.ambient_credentials { None } else { Some(("accessKeyId", self.access_key_id.as_str())) };
        for (field, value) in [
            Some(("endpoint", self.endpoint.as_str())),
            Some(("region", self.region.as_str())),
            Some(("bucket", self.bucket.as_str())),
            key_id,
        ]
        .into_iter()
        .flatten()
        {
            if value.is_empty() {
                return Some((field, "is empty"));
            }
            if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Some((field, "contains whitespace or a control character (such as a line break)"));
            }
        }
        for (field, value) in [("prefix", self.prefix.as_str()), ("env", self.env.as_str())] {
            if value.chars().any(char::is_control) {
                return Some((field, "contains a control character (such as a line break)"));
            }
        }
        None
    }

    /// The blob's JSON object, fields in the family's order. Contains the secret key: for the
    /// writer and for conformance checks, never for printing. A keyless token carries the
    /// marker where the keys would be, and no key fields at all.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("v".into(), Value::from(1));
        m.insert("endpoint".into(), Value::from(self.endpoint.as_str()));
        m.insert("region".into(), Value::from(self.region.as_str()));
        m.insert("bucket".into(), Value::from(self.bucket.as_str()));
        if self.ambient_credentials {
            m.insert(CREDENTIALS_FIELD.into(), Value::from(AMBIENT_CREDENTIALS));
        } else {
            m.insert("accessKeyId".into(), Value::from(self.access_key_id.as_str()));
            m.insert("secretAccessKey".into(), Value::from(self.secret_access_key.as_str()));
        }
        m.insert("prefix".into(), Value::from(self.prefix.as_str()));
        m.insert("env".into(), Value::from(self.env.as_str()));
        m.insert("salt".into(), Value::from(self.salt.as_str()));
        m.insert("iterations".into(), Value::from(self.iterations));
        Value::Object(m)
    }

    /// The same JSON with the secret key replaced by `"<redacted>"`, safe to print.
    pub fn to_redacted_json(&self) -> Value {
        let mut v = self.to_json();
        if let Value::Object(m) = &mut v {
            if let Some(secret) = m.get_mut("secretAccessKey") {
                *secret = Value::from("<redacted>");
            }
        }
        v
    }

    /// Encode as a `vsync-cfg-v1:` blob (no trailing newline). Deterministic: the gzip header
    /// has mtime 0, so the same config always gives the same blob.
    #[cfg(feature = "writer")]
    pub fn encode(&self) -> String {
        encode_json_blob(&self.to_json())
    }
}

/// Encode any JSON value as a blob body: used by `Config::encode` and by the corpus generator
/// to build deliberately broken blobs.
#[cfg(feature = "writer")]
pub fn encode_json_blob(json: &Value) -> String {
    encode_bytes_blob(json.to_string().as_bytes())
}

/// gzip + base64url of arbitrary bytes, behind the v1 prefix.
#[cfg(feature = "writer")]
pub fn encode_bytes_blob(content: &[u8]) -> String {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(content);
    let bytes = gz.finish().unwrap_or_default();
    format!("{BLOB_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn required_str(obj: &Map<String, Value>, field: &str) -> Result<String> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Error::corrupt(format!("VSYNC_CONFIG field `{field}` is not a string; mint a new token"))),
        None => Err(Error::corrupt(format!("VSYNC_CONFIG field `{field}` is missing; mint a new token"))),
    }
}

/// The `credentials` marker (SPEC §2): absent → static keys (`false`); `"ambient"` → keyless
/// (`true`), and then key fields must be absent too (a token with both is ambiguous: which one
/// signs?); another string is a newer credentials mode → `ConfigUnsupportedVersionError`;
/// anything else → `BundleCorruptError`.
fn ambient_marker(obj: &Map<String, Value>) -> Result<bool> {
    match obj.get(CREDENTIALS_FIELD) {
        None => Ok(false),
        Some(Value::String(s)) if s == AMBIENT_CREDENTIALS => {
            if let Some(field) = ["accessKeyId", "secretAccessKey"].into_iter().find(|f| obj.contains_key(*f)) {
                return Err(Error::corrupt(format!(
                    "VSYNC_CONFIG has both `\"{CREDENTIALS_FIELD}\": \"{AMBIENT_CREDENTIALS}\"` and `{field}`; a token \
                     either carries keys or asks for the host's AWS credentials, never both: mint a new token"
                )));
            }
            Ok(true)
        }
        Some(Value::String(s)) => Err(Error::config_version(format!(
            "VSYNC_CONFIG field `{CREDENTIALS_FIELD}` is {}, which this reader does not understand (only \
             \"{AMBIENT_CREDENTIALS}\"); upgrade the library or mint a new token",
            short_json(&Value::from(s.as_str()))
        ))),
        Some(_) => {
            Err(Error::corrupt(format!("VSYNC_CONFIG field `{CREDENTIALS_FIELD}` is not a string; mint a new token")))
        }
    }
}

/// A key field of a token without the marker. Missing is the same `BundleCorruptError` as every
/// missing field (a forgotten key never falls through to the host's credentials), with a hint
/// for the operator who meant a keyless token.
fn required_key(obj: &Map<String, Value>, field: &str) -> Result<String> {
    required_str(obj, field).map_err(|e| {
        if obj.contains_key(field) {
            return e;
        }
        Error::corrupt(format!(
            "{}; a keyless token must say so with `\"{CREDENTIALS_FIELD}\": \"{AMBIENT_CREDENTIALS}\"` \
             (`vsync runtime-token --ambient-credentials`)",
            e.message()
        ))
    })
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 20 {
        format!("{}…", &s[..s.char_indices().nth(20).map(|(i, _)| i).unwrap_or(s.len())])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn sample() -> Config {
        Config {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            bucket: "secrets".into(),
            access_key_id: "AK".into(),
            secret_access_key: Zeroizing::new("SK-very-secret".into()),
            ambient_credentials: false,
            prefix: "app/dev/".into(),
            env: "dev".into(),
            salt: "UME0UbAv7viJRLZ9vEQZ3w==".into(),
            iterations: 600_000,
        }
    }

    fn kind(blob: &str) -> ErrorKind {
        match Config::decode(blob) {
            Ok(_) => panic!("decoded"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn round_trip_and_trailing_newline() {
        let c = sample();
        let blob = c.encode();
        assert_eq!(Config::decode(&blob).ok(), Some(c.clone()));
        assert_eq!(Config::decode(&format!("{blob}\r\n \t")).ok(), Some(c));
        assert_eq!(sample().encode(), blob, "encoding is deterministic");
    }

    #[test]
    fn reader_rules_in_order() {
        assert_eq!(kind(""), ErrorKind::ConfigMissing);
        assert_eq!(kind("{\"v\":1}"), ErrorKind::ConfigMissing);
        assert_eq!(kind("vsync-cfg-v2:abc"), ErrorKind::ConfigMissing);
        assert_eq!(kind("vsync-cfg-v1:ab+c"), ErrorKind::ConfigUnsupportedVersion);
        assert_eq!(kind("vsync-cfg-v1:abc="), ErrorKind::ConfigUnsupportedVersion);
        assert_eq!(kind("vsync-cfg-v1:a"), ErrorKind::BundleCorrupt);
        assert_eq!(kind("vsync-cfg-v1:aGVsbG8"), ErrorKind::BundleCorrupt);
        assert_eq!(kind(&encode_bytes_blob(b"\xff\xfe")), ErrorKind::BundleCorrupt);
        assert_eq!(kind(&encode_json_blob(&json!([1]))), ErrorKind::BundleCorrupt);
        // `v` is checked before anything else, even when everything else is wrong too.
        assert_eq!(kind(&encode_json_blob(&json!({"v": 2}))), ErrorKind::ConfigUnsupportedVersion);
        assert_eq!(kind(&encode_json_blob(&json!({"v": "1"}))), ErrorKind::ConfigUnsupportedVersion);
        assert_eq!(kind(&encode_json_blob(&json!({"v": 1.0}))), ErrorKind::ConfigUnsupportedVersion);
        assert_eq!(kind(&encode_json_blob(&json!({"v": 1}))), ErrorKind::ConfigUnsupportedVersion);
        let mut j = sample().to_json();
        j["salt"] = json!("short");
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::ConfigUnsupportedVersion);
        let mut j = sample().to_json();
        j["iterations"] = json!(0);
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::BundleCorrupt);
        let mut j = sample().to_json();
        j.as_object_mut().map(|m| m.remove("bucket"));
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::BundleCorrupt);
        let mut j = sample().to_json();
        j["extra"] = json!({"ignored": true});
        assert!(Config::decode(&encode_json_blob(&j)).is_ok());
    }

    #[test]
    fn hostile_fields_are_refused_at_decode() {
        let hostile = [
            ("region", "us-east-1\r\nX-Injected: 1"),
            ("region", "us east 1"),
            ("region", ""),
            ("accessKeyId", "AK\r\n"),
            ("accessKeyId", "AK\u{0}"),
            ("accessKeyId", "AK\u{85}"),
            ("endpoint", "http://127.0.0.1:9\n"),
            ("endpoint", "http://h ost"),
            ("bucket", "b\tb"),
            ("prefix", "app/\r\n"),
            ("env", "prod\u{1b}[31m"),
        ];
        for (field, value) in hostile {
            let mut j = sample().to_json();
            j[field] = json!(value);
            let e = Config::decode(&encode_json_blob(&j)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BundleCorrupt, "{field}={value:?}");
            assert!(e.message().contains(field), "{}", e.message());
            assert!(!e.message().contains(value) || value.is_empty(), "the value is not echoed: {}", e.message());
        }
        // What stays accepted: an empty prefix, spaces in a prefix, non-ASCII in env and prefix.
        let mut j = sample().to_json();
        j["prefix"] = json!("");
        assert!(Config::decode(&encode_json_blob(&j)).is_ok());
        j["prefix"] = json!("my app/é/");
        j["env"] = json!("prød");
        assert!(Config::decode(&encode_json_blob(&j)).is_ok());
        assert!(sample().validate_fields().is_ok());
    }

    #[test]
    fn keyless_tokens_need_the_marker() {
        let mut keyless = sample();
        keyless.access_key_id.clear();
        keyless.secret_access_key = Zeroizing::new(String::new());
        keyless.ambient_credentials = true;
        let j = keyless.to_json();
        assert_eq!(j["credentials"], json!("ambient"));
        assert!(j.get("accessKeyId").is_none() && j.get("secretAccessKey").is_none());
        assert_eq!(Config::decode(&keyless.encode()).ok(), Some(keyless.clone()));
        assert!(keyless.to_redacted_json().get("secretAccessKey").is_none());
        // Neither keys nor marker: the missing-field error of today, with a hint.
        let mut j = keyless.to_json();
        j.as_object_mut().map(|m| m.remove("credentials"));
        let e = Config::decode(&encode_json_blob(&j)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BundleCorrupt);
        assert!(e.message().contains("`accessKeyId` is missing") && e.message().contains("--ambient-credentials"));
        // Marker and keys together, a mode of the future, a marker of the wrong type.
        let mut j = keyless.to_json();
        j["secretAccessKey"] = json!("SK");
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::BundleCorrupt);
        let mut j = keyless.to_json();
        j["credentials"] = json!("web-identity");
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::ConfigUnsupportedVersion);
        j["credentials"] = json!(1);
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::BundleCorrupt);
        // A keyed token with a marker of "ambient" is refused, not silently keyless.
        let mut j = sample().to_json();
        j["credentials"] = json!("ambient");
        assert_eq!(kind(&encode_json_blob(&j)), ErrorKind::BundleCorrupt);
    }

    #[test]
    fn debug_redacts_secret() {
        let s = format!("{:?}", sample());
        assert!(!s.contains("SK-very-secret"));
        assert!(!sample().to_redacted_json().to_string().contains("SK-very-secret"));
    }
}
