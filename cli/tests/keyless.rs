//! Keyless runtime tokens in the CLI: `runtime-token --ambient-credentials`, and the writers
//! (`push`, `rotate-passphrase`, `status`) signing with the AWS default credential chain when no
//! key is given. Which credentials signed comes from the dev server's request log
//! (`VSYNC_TEST_REQUEST_LOG`, scripts/with-s3.sh): each test hands out its own session token.

use std::time::Duration;

use assert_cmd::Command;
use common::{dev_server, run, test_var, unique_prefix, write_private, S3};
use vsync_core::Config;

mod common;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "keyless cli passphrase";

/// The binary with only the variables given: no stray AWS_* of the caller, the profile files
/// pointed at `dir` and IMDS at a refused port, so only the test's source takes part.
fn vsync(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vsync"));
    c.env_clear();
    let refused = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.to_string());
    c.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("http://{}", refused.unwrap_or_default()));
    c.env("AWS_CONFIG_FILE", dir.join("aws-config"));
    c.env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"));
    c.timeout(Duration::from_secs(60));
    c
}

fn mint(dir: &std::path::Path, s3: &S3, prefix: &str, extra: &[&str]) -> Command {
    let mut c = vsync(dir);
    c.args(s3.runtime_token_args(prefix, "dev")).args(extra);
    c
}

fn signed_with(token: &str) -> Result<Vec<String>, String> {
    let log = std::fs::read_to_string(test_var("VSYNC_TEST_REQUEST_LOG")?).map_err(|e| e.to_string())?;
    Ok(log.lines().filter(|l| l.split(' ').nth(1) == Some(token)).map(str::to_string).collect())
}

#[test]
fn runtime_token_ambient_credentials_embeds_no_key() -> TestResult {
    let s3 = dev_server()?;
    let dir = tempfile::tempdir()?;
    let prefix = unique_prefix("keyless", "mint");
    let token = format!("cli-mint-{}", prefix.trim_end_matches('/'));
    // Keys in the environment (an operator's): not embedded; --check signs with them (+ token).
    let (out, err) = run(
        mint(dir.path(), &s3, &prefix, &["--ambient-credentials", "--check"])
            .env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
            .env("AWS_SESSION_TOKEN", &token),
        0,
    )?;
    assert!(err.contains("reachable"), "{err}");
    assert!(!out.contains(&s3.access_key) && !out.contains(&s3.secret_key));
    let c = Config::decode(&out)?;
    assert!(c.ambient_credentials && c.access_key_id.is_empty() && c.secret_access_key.is_empty());
    let json = c.to_json();
    assert_eq!(json["credentials"], "ambient");
    assert!(json.get("accessKeyId").is_none() && json.get("secretAccessKey").is_none(), "{json}");
    assert_eq!(signed_with(&token)?.len(), 1, "--check's HEAD carried the session token");
    // No keys and no flag: an input error that points at the flag.
    let (_, err) = run(&mut mint(dir.path(), &s3, &prefix, &["--access-key-id", "AK"]), 3)?;
    assert!(err.contains("--ambient-credentials"), "{err}");
    // The help says what a keyless token is and who cannot read it.
    let (help, _) = run(vsync(dir.path()).args(["runtime-token", "--help"]), 0)?;
    assert!(help.contains("--ambient-credentials") && help.contains("cannot read keyless tokens"), "{help}");
    Ok(())
}

#[test]
fn writers_use_the_chain_for_a_keyless_token_and_on_request() -> TestResult {
    let s3 = dev_server()?;
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let prefix = unique_prefix("keyless", "write");
    let token = format!("cli-admin-{}", prefix.trim_end_matches('/'));
    // `AWS_PROFILE=admin vsync push`: the admin profile carries the store's keys and a token.
    write_private(
        &d.join("aws-credentials"),
        format!(
            "[admin]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {token}\n",
            s3.access_key, s3.secret_key
        ),
    )?;
    write_private(&d.join("pw"), PASS)?;
    std::fs::write(d.join(".env"), "DATABASE_URL=postgres://keyless-cli\n")?;
    let (keyless, _) = run(&mut mint(d, &s3, &prefix, &["--ambient-credentials"]), 0)?;
    write_private(&d.join("token"), &keyless)?;
    let with_token = |sub: &str| {
        let mut c = vsync(d);
        c.env("AWS_PROFILE", "admin").args([sub, "--config-file"]).arg(d.join("token"));
        c
    };
    let (out, err) =
        run(with_token("push").arg("--passphrase-file").arg(d.join("pw")).arg("--env-file").arg(d.join(".env")), 0)
            .map_err(|e| format!("push: {e}"))?;
    assert!(out.starts_with("pushed gen=1 "), "{out}{err}");
    let pushed = signed_with(&token)?.len();
    assert!(pushed >= 3, "the push's requests were signed by the admin profile: {pushed}");
    let (out, _) = run(with_token("status").arg("--json"), 0)?;
    let j: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(j["remote"]["generation"], 1, "{out}");
    // status names the chain source that signed: here the profile AWS_PROFILE selected.
    let signed_by = j["remote"]["signed_by"].as_str().unwrap_or_default();
    assert!(signed_by.starts_with("the shared config and credentials files (profile `admin`"), "{out}");
    assert!(signed_by.ends_with("from the AWS default chain (the token is keyless)"), "{out}");
    let (out, _) = run(&mut with_token("status"), 0)?;
    assert!(out.contains("signed by     the shared config and credentials files (profile `admin`"), "{out}");
    let (out, _) = run(
        with_token("rotate-passphrase").arg("--passphrase-file").arg(d.join("pw")).arg("--new-passphrase-file").arg({
            write_private(&d.join("pw2"), "second keyless passphrase")?;
            d.join("pw2")
        }),
        0,
    )?;
    assert!(out.contains("gen=2") || signed_with(&token)?.len() > pushed, "{out}");
    // A keyed token with a wrong secret: --ambient-credentials signs with the profile instead.
    let keyed_prefix = unique_prefix("keyless", "keyed");
    let (keyed, _) = run(
        mint(d, &s3, &keyed_prefix, &["--access-key-id", &s3.access_key]).env("AWS_SECRET_ACCESS_KEY", "wrong-secret"),
        0,
    )?;
    write_private(&d.join("keyed"), &keyed)?;
    let before = signed_with(&token)?.len();
    let push_keyed = |extra: &[&str], code| {
        let mut c = vsync(d);
        c.env("AWS_PROFILE", "admin")
            .arg("push")
            .arg("--config-file")
            .arg(d.join("keyed"))
            .arg("--passphrase-file")
            .arg(d.join("pw"))
            .arg("--env-file")
            .arg(d.join(".env"))
            .args(extra);
        run(&mut c, code)
    };
    push_keyed(&[], 13)?; // the token's own (wrong) keys: 403
    push_keyed(&["--ambient-credentials"], 0)?;
    assert!(signed_with(&token)?.len() > before);
    Ok(())
}
