//! The local S3 server that scripts/with-s3.sh started, for integration tests and benchmarks.
//! Missing variables panic: a test that needs the server never silently skips.
#![allow(dead_code)]

pub mod moto;
pub mod net;

use vsync_core::{writer, Config};

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run under scripts/with-s3.sh"))
}

/// A config for `prefix` in the test bucket, with a fresh salt.
pub fn test_config(prefix: String, env: &str) -> Config {
    Config {
        endpoint: var("VSYNC_TEST_ENDPOINT"),
        region: "us-east-1".into(),
        bucket: var("VSYNC_TEST_BUCKET"),
        access_key_id: var("VSYNC_TEST_ACCESS_KEY"),
        secret_access_key: var("VSYNC_TEST_SECRET_KEY").into(),
        ambient_credentials: false,
        prefix,
        env: env.into(),
        salt: writer::random_salt(),
        iterations: 600_000,
    }
}

/// A config for tests that never get an answer from `endpoint` (a name that does not resolve,
/// a refused port): fixed placeholder credentials and salt, few iterations.
pub fn unanswered_config(endpoint: String) -> Config {
    Config {
        endpoint,
        region: "us-east-1".into(),
        bucket: "bucket".into(),
        access_key_id: "AK".into(),
        secret_access_key: "SK".to_string().into(),
        ambient_credentials: false,
        prefix: "p/".into(),
        env: "prod".into(),
        salt: "0123456789abcdef0123".into(),
        iterations: 1000,
    }
}
