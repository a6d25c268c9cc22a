//! The `vsync` binary, driven as a process against the real local S3 server that
//! `scripts/with-s3.sh` starts (VSYNC_TEST_ENDPOINT, VSYNC_TEST_ACCESS_KEY, VSYNC_TEST_SECRET_KEY,
//! VSYNC_TEST_BUCKET). Without those variables every S3 test fails: nothing is skipped.
//! What the CLI wrote is checked independently through the core (the libraries' reader).

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use common::{dev_server, run, text, unique_prefix, write_private, Scratch};
use vsync_core::envelope::{derive_key, open_envelope, unseal_manifest};
use vsync_core::{open_with, Config, ErrorKind, OpenOptions};

mod common;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PASS: &str = "correct horse battery staple";
const PASS2: &str = "new passphrase after rotation";
const SECRET_VALUE: &str = "s3cr3t-db-password-value";

/// The binary with an empty environment (no stray VSYNC_* or AWS_* from the caller).
fn vsync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vsync"));
    c.env_clear();
    c.timeout(Duration::from_secs(60));
    c
}

/// A scratch vault: a token for a fresh prefix, passphrase files, a .env and an asset.
impl Scratch {
    fn new(tag: &str) -> Result<Scratch, Box<dyn std::error::Error>> {
        let s3 = dev_server()?;
        let dir = tempfile::tempdir()?;
        let prefix = unique_prefix("cli", tag);
        let (token, _) = run(
            vsync()
                .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
                .args(s3.runtime_token_args(&prefix, "dev"))
                .args(["--access-key-id", &s3.access_key]),
            0,
        )?;
        write_private(&dir.path().join("token"), token.as_bytes())?;
        write_private(&dir.path().join("pw"), format!("{PASS}\n").as_bytes())?;
        write_private(&dir.path().join("pw2"), PASS2.as_bytes())?;
        std::fs::write(
            dir.path().join(".env"),
            format!("# sample\nDATABASE_URL=\"{SECRET_VALUE}\"\nLOG_LEVEL=debug\n"),
        )?;
        std::fs::write(dir.path().join("logo.bin"), asset_bytes())?;
        Ok(Scratch { dir, s3, prefix, token: token.trim_end().to_string() })
    }
    /// `vsync <sub> --config-file token --passphrase-file pw`.
    fn cmd(&self, sub: &str) -> Command {
        let mut c = vsync();
        c.args([sub, "--config-file", &self.p("token"), "--passphrase-file", &self.p("pw")]);
        c
    }
    fn push(&self) -> Command {
        let mut c = self.cmd("push");
        c.args(["--env-file", &self.p(".env"), "--asset", &format!("logo.bin={}", self.p("logo.bin"))]);
        c
    }
    /// A scratch vault with `.env` and `logo.bin` pushed once (gen 1).
    fn pushed(name: &str) -> Result<Scratch, Box<dyn std::error::Error>> {
        let s = Scratch::new(name)?;
        run(&mut s.push(), 0)?;
        Ok(s)
    }
    /// `rotate-passphrase` from pw to pw2, with `extra` flags.
    fn rotate(&self, extra: &[&str]) -> Command {
        let mut c = self.cmd("rotate-passphrase");
        c.args(["--new-passphrase-file", &self.p("pw2")]).args(extra);
        c
    }
    fn config(&self) -> Result<Config, vsync_core::Error> {
        Config::decode(&self.token)
    }
}

fn asset_bytes() -> Vec<u8> {
    (0..=255u8).chain([0, 0, 255]).collect()
}

fn assert_no_secret(s: &Scratch, outputs: &[&str]) {
    for o in outputs {
        for secret in [PASS, PASS2, SECRET_VALUE, s.s3.secret_key.as_str()] {
            assert!(!o.contains(secret), "a secret leaked into output: {o}");
        }
    }
}

#[test]
fn push_then_read_back_through_the_core() -> TestResult {
    let s = Scratch::new("push")?;
    let (out, err) = run(&mut s.push(), 0)?;
    assert!(out.starts_with("pushed gen=1 ts="), "{out}");
    assert_eq!(out.lines().count(), 1);
    assert_no_secret(&s, &[&out, &err]);
    let v = open_with(&s.token, PASS, OpenOptions::default())?;
    assert_eq!(v.generation()?, 1);
    assert_eq!(v.keys()?, vec!["DATABASE_URL", "LOG_LEVEL"]);
    assert_eq!(v.get_env("DATABASE_URL", &mut |_| None)?.as_deref().map(String::as_str), Some(SECRET_VALUE));
    assert_eq!(v.get_as_content("logo.bin")?.to_vec(), asset_bytes());
    // Second push: gen 2, and a handle opened at gen 1 sees a new version.
    let (out, _) = run(&mut s.push(), 0)?;
    assert!(out.starts_with("pushed gen=2 "), "{out}");
    assert!(v.has_new_version()?);
    assert_eq!(v.remote_generation()?, 2);
    Ok(())
}

#[test]
fn push_from_a_vault_folder_and_env_variables() -> TestResult {
    let s = Scratch::new("folder")?;
    let vault = s.path("vault");
    std::fs::create_dir_all(vault.join("certs"))?;
    std::fs::write(vault.join(".env.dev"), "A=1\nB='two'\n")?;
    std::fs::write(vault.join(".env.prod"), "A=prod-only\n")?;
    std::fs::write(vault.join("certs/ca.pem"), "PEM")?;
    let (out, err) = run(
        vsync().env("VSYNC_CONFIG", &s.token).env("VSYNC_PASSPHRASE", PASS).args([
            "push",
            "--vault-dir",
            &vault.to_string_lossy(),
        ]),
        0,
    )?;
    assert!(out.starts_with("pushed gen=1 "), "{out}");
    assert!(err.contains(".env.prod"), "the other environment's file is reported as skipped: {err}");
    let v = open_with(&s.token, PASS, OpenOptions::default())?;
    assert_eq!(v.keys()?, vec!["A", "B"]);
    assert_eq!(v.asset_names()?, vec!["certs/ca.pem"]);
    assert_eq!(v.get_as_content("certs/ca.pem")?.to_vec(), b"PEM".to_vec());
    Ok(())
}

#[test]
fn rotate_passphrase_moves_generation_and_keeps_the_seal() -> TestResult {
    let s = Scratch::pushed("rotate")?;
    let mut rot = s.rotate(&[]);
    let (out, err) = run(&mut rot, 0)?;
    assert!(out.starts_with("rotated gen=2 ts="), "{out}");
    assert_no_secret(&s, &[&out, &err]);
    let ts = out.trim().rsplit("ts=").next().unwrap_or_default().to_string();

    // Opens with the new passphrase, refused with the old one; values and assets survive.
    let v = open_with(&s.token, PASS2, OpenOptions::default())?;
    assert_eq!(v.generation()?, 2);
    assert_eq!(v.get_env("DATABASE_URL", &mut |_| None)?.as_deref().map(String::as_str), Some(SECRET_VALUE));
    assert_eq!(v.get_as_content("logo.bin")?.to_vec(), asset_bytes());
    let old = open_with(&s.token, PASS, OpenOptions::default()).map(|_| ()).err().map(|e| e.kind());
    assert_eq!(old, Some(ErrorKind::WrongPassphrase));

    // The seal: the manifest names the new timestamp and the bundle, bare JSON that the family's
    // readers parse whole (SPEC §5), carries it as `seal.ts`.
    let config = s.config()?;
    let (manifest, bundle) = vsync_core::s3::run(&config, Duration::from_secs(30), |store| async move {
        let m = store.get("manifest").await?.map(|o| (o.body, o.gen));
        let b = store.get(&format!("v={ts}")).await?.map(|o| o.body);
        Ok((m, b))
    })?;
    let (manifest, meta_gen) = manifest.ok_or("no manifest")?;
    assert_eq!(meta_gen, Some(2));
    let (manifest_ts, _) = unseal_manifest(&manifest, None)?;
    let plain = open_envelope(&derive_key(PASS2, &config.salt, config.iterations), &bundle.ok_or("no bundle")?)?;
    let bundle_json: serde_json::Value = serde_json::from_slice(&plain)?;
    assert_eq!(bundle_json["seal"]["ts"].as_str(), Some(manifest_ts));
    assert!(bundle_json["kv"].is_object() && bundle_json["assets"].is_object(), "kv and assets at the top level");
    assert!(out.contains(manifest_ts));

    // The old passphrase no longer rotates (nothing changes), the new one does: gen 3.
    let (_, err) = run(&mut rot, 15)?;
    assert!(err.contains("WrongPassphraseError") && err.contains("nothing was changed"), "{err}");
    let mut back = vsync();
    back.args([
        "rotate-passphrase",
        "--config-file",
        &s.p("token"),
        "--passphrase-file",
        &s.p("pw2"),
        "--new-passphrase-file",
        &s.p("pw"),
    ]);
    let (out, _) = run(&mut back, 0)?;
    assert!(out.starts_with("rotated gen=3 "), "{out}");
    assert_eq!(open_with(&s.token, PASS, OpenOptions::default())?.generation()?, 3);
    Ok(())
}

#[test]
fn rotate_with_new_salt_prints_the_new_token() -> TestResult {
    let s = Scratch::pushed("salt")?;
    let mut rot = s.rotate(&["--new-salt"]);
    let (out, err) = run(&mut rot, 0)?;
    assert_eq!(out.lines().count(), 1);
    let new_token = out.trim_end();
    assert!(new_token.starts_with("vsync-cfg-v1:"));
    assert!(err.contains("gen=2"), "{err}");
    let (old_c, new_c) = (s.config()?, Config::decode(new_token)?);
    assert_ne!(old_c.salt, new_c.salt);
    assert_eq!((old_c.bucket, old_c.prefix, old_c.access_key_id), (new_c.bucket, new_c.prefix, new_c.access_key_id));
    assert_eq!(open_with(new_token, PASS2, OpenOptions::default())?.generation()?, 2);
    let stale = open_with(&s.token, PASS2, OpenOptions::default()).map(|_| ()).err().map(|e| e.kind());
    assert_eq!(stale, Some(ErrorKind::WrongPassphrase), "the old token's salt no longer opens it");
    Ok(())
}

#[test]
fn rotate_reads_a_vault_in_the_public_cli_layout() -> TestResult {
    let s = Scratch::new("clilayout")?;
    let config = s.config()?;
    let zip = vsync_core::payload::encode_zip_payload("vault/", "dev", "K=from-zip\n", &[("a.bin", b"\x01\x02")]);
    let key = derive_key(PASS, &config.salt, config.iterations);
    vsync_core::s3::run(&config, Duration::from_secs(30), |store| async move {
        vsync_core::writer::write_cli_layout(&store, &key, &zip, "20250101-000000", Some(4)).await
    })?;
    let mut rot = s.rotate(&[]);
    let (out, _) = run(&mut rot, 0)?;
    assert!(out.starts_with("rotated gen=5 "), "{out}");
    let v = open_with(&s.token, PASS2, OpenOptions::default())?;
    assert_eq!(v.layout(), Some(vsync_core::Layout::Runtime));
    assert_eq!(v.get_env("K", &mut |_| None)?.as_deref().map(String::as_str), Some("from-zip"));
    assert_eq!(v.get_as_content("a.bin")?.to_vec(), vec![1, 2]);
    Ok(())
}

#[test]
fn lost_update_guard_and_passphrase_guard() -> TestResult {
    let s = Scratch::new("guard")?;
    let mut first = s.push();
    first.args(["--expect-gen", "0"]);
    run(&mut first, 0)?;
    let (_, err) = run(&mut first, 20)?;
    assert!(err.contains("ConflictError") && err.contains("--expect-gen 1"), "{err}");
    let mut ok = s.push();
    ok.args(["--expect-gen", "1"]);
    assert!(run(&mut ok, 0)?.0.starts_with("pushed gen=2 "));

    // A push with another passphrase would lock every reader out: refused, nothing written.
    let mut typo = vsync();
    typo.args(["push", "--config-file", &s.p("token"), "--passphrase-file", &s.p("pw2"), "--env-file", &s.p(".env")]);
    let (_, err) = run(&mut typo, 15)?;
    assert!(err.contains("rotate-passphrase") && err.contains("nothing was written"), "{err}");
    assert_eq!(open_with(&s.token, PASS, OpenOptions::default())?.generation()?, 2);
    // --force replaces it deliberately.
    typo.arg("--force");
    assert!(run(&mut typo, 0)?.0.starts_with("pushed gen=3 "));
    assert_eq!(open_with(&s.token, PASS2, OpenOptions::default())?.generation()?, 3);
    Ok(())
}

#[test]
fn failed_push_leaves_the_previous_vault_readable() -> TestResult {
    let s = Scratch::pushed("failed")?;
    std::fs::write(s.path(".env"), "DATABASE_URL=changed\n")?;
    // Write credentials override the token's: wrong ones are refused by the server (403).
    write_private(&s.path("bad.key"), b"not-the-secret")?;
    let mut bad = s.push();
    bad.args(["--access-key-id", &s.s3.access_key, "--secret-access-key-file", &s.p("bad.key")]);
    let (_, err) = run(&mut bad, 13)?;
    assert!(err.contains("S3UnreachableError") && err.contains("403"), "{err}");
    // Only one of the pair: an input error before any request.
    let (_, err) = run(s.push().env("AWS_ACCESS_KEY_ID", "x"), 3)?;
    assert!(err.contains("InputError"), "{err}");
    // The same overrides through AWS_* variables, correct this time.
    let (out, _) =
        run(s.push().env("AWS_ACCESS_KEY_ID", &s.s3.access_key).env("AWS_SECRET_ACCESS_KEY", &s.s3.secret_key), 0)?;
    assert!(out.starts_with("pushed gen=2 "), "{out}");
    let v = open_with(&s.token, PASS, OpenOptions::default())?;
    assert_eq!(v.get_env("DATABASE_URL", &mut |_| None)?.as_deref().map(String::as_str), Some("changed"));
    Ok(())
}

#[test]
fn status_lists_names_and_sources_never_values() -> TestResult {
    let s = Scratch::new("status")?;
    // Nothing pushed yet: ManifestNotFound, after printing the local part.
    let (out, err) = run(&mut s.cmd("status"), 14)?;
    assert!(out.contains("nothing pushed yet") && err.contains("ManifestNotFoundError"), "{out}{err}");
    run(&mut s.push(), 0)?;
    let mut st = s.cmd("status");
    st.env("LOG_LEVEL", "info").env("FROM_ENV", "x").args(["--key", "FROM_ENV", "--key", "ABSENT"]);
    let (out, err) = run(&mut st, 0)?;
    assert_no_secret(&s, &[&out, &err]);
    assert!(out.contains("<redacted>") && out.contains(&s.prefix) && out.contains("generation    1"), "{out}");
    assert!(out.contains("LOG_LEVEL") && out.contains("the vault wins"), "{out}");
    assert!(out.contains("logo.bin") && out.contains("259 bytes"), "{out}");
    st.arg("--json");
    let (out, _) = run(&mut st, 0)?;
    assert_no_secret(&s, &[&out]);
    let j: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(j["remote"]["generation"], 1);
    assert_eq!(j["remote"]["layout"], "runtime");
    assert_eq!(j["remote"]["signed_by"], "the access key in the runtime token");
    assert_eq!(j["vault"]["generation"], 1);
    let sources: Vec<(String, String)> = j["vault"]["keys"]
        .as_array()
        .ok_or("keys")?
        .iter()
        .map(|k| (k["name"].as_str().unwrap_or("").into(), k["source"].as_str().unwrap_or("").into()))
        .collect();
    let want = [("DATABASE_URL", "vault"), ("LOG_LEVEL", "vault"), ("FROM_ENV", "env"), ("ABSENT", "missing")];
    assert_eq!(sources, want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec());
    assert_eq!(j["vault"]["assets"][0]["bytes"], 259);
    // Without a passphrase: remote part only, names not listed, success.
    let (out, _) = run(vsync().args(["status", "--config-file", &s.p("token")]), 0)?;
    assert!(out.contains("keys: not listed"), "{out}");
    // Wrong passphrase: the class and its exit code.
    let (_, err) = run(vsync().env("VSYNC_PASSPHRASE", "wrong").env("VSYNC_CONFIG", &s.token).arg("status"), 15)?;
    assert!(err.contains("WrongPassphraseError"), "{err}");
    Ok(())
}

#[test]
fn get_and_export_print_values_only_when_asked() -> TestResult {
    let s = Scratch::pushed("get")?;
    let mut get = s.cmd("get");
    get.arg("DATABASE_URL");
    assert_eq!(run(&mut get, 0)?.0, format!("{SECRET_VALUE}\n"));
    let mut env_key = s.cmd("get");
    env_key.arg("ONLY_IN_ENV").env("ONLY_IN_ENV", "from-env");
    assert_eq!(run(&mut env_key, 0)?.0, "from-env\n");
    let mut missing = s.cmd("get");
    missing.arg("NOPE");
    let (out, err) = run(&mut missing, 19)?;
    assert!(out.is_empty() && err.contains("NotFoundError"), "{err}");
    let out = s.cmd("get").args(["--content", "logo.bin"]).output()?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, asset_bytes());

    let (out, _) = run(&mut s.cmd("export"), 0)?;
    assert_eq!(out, format!("DATABASE_URL=\"{SECRET_VALUE}\"\nLOG_LEVEL=\"debug\"\n"));
    let (out, _) = run(s.cmd("export").args(["--format", "json"]), 0)?;
    let j: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(j, serde_json::json!({"DATABASE_URL": SECRET_VALUE, "LOG_LEVEL": "debug"}));

    // export's dotenv reads back unchanged through push.
    std::fs::write(s.path("roundtrip.env"), run(&mut s.cmd("export"), 0)?.0)?;
    run(s.cmd("push").args(["--env-file", &s.p("roundtrip.env")]), 0)?;
    assert_eq!(run(&mut s.cmd("export"), 0)?.0, format!("DATABASE_URL=\"{SECRET_VALUE}\"\nLOG_LEVEL=\"debug\"\n"));
    Ok(())
}

#[test]
fn runtime_token_from_environment_and_check() -> TestResult {
    let s3 = dev_server()?;
    let env = [
        ("VSYNC_ENDPOINT", s3.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("VSYNC_BUCKET", s3.bucket.as_str()),
        ("VSYNC_PREFIX", "env/prefix/"),
        ("VSYNC_ENV", "staging"),
        ("AWS_ACCESS_KEY_ID", s3.access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", s3.secret_key.as_str()),
    ];
    let (out, err) = run(
        vsync().envs(env).args(["runtime-token", "--check", "--salt", "0123456789abcdef", "--iterations", "1000"]),
        0,
    )?;
    assert!(err.contains("reachable"), "{err}");
    assert_eq!(out.lines().count(), 1);
    assert!(out.ends_with('\n'));
    let c = Config::decode(&out)?;
    assert_eq!(
        (c.prefix.as_str(), c.env.as_str(), c.salt.as_str(), c.iterations),
        ("env/prefix/", "staging", "0123456789abcdef", 1000)
    );
    assert_eq!(c.secret_access_key.as_str(), s3.secret_key);
    // Fresh random salts, default iterations.
    let (a, _) = run(vsync().envs(env).arg("runtime-token"), 0)?;
    let (b, _) = run(vsync().envs(env).arg("runtime-token"), 0)?;
    let (a, b) = (Config::decode(&a)?, Config::decode(&b)?);
    assert_ne!(a.salt, b.salt);
    assert_eq!((a.salt.len(), a.iterations), (24, 600_000));
    // --check with a wrong secret: 403, nothing on stdout.
    let (out, err) =
        run(vsync().envs(env).env("AWS_SECRET_ACCESS_KEY", "wrong-secret").args(["runtime-token", "--check"]), 13)?;
    assert!(out.is_empty() && err.contains("S3UnreachableError") && err.contains("no token was printed"), "{err}");
    assert!(!err.contains("wrong-secret"));
    // Unreachable endpoint.
    let (out, err) = run(
        vsync().envs(env).env("VSYNC_ENDPOINT", "http://127.0.0.1:1").args([
            "runtime-token",
            "--check",
            "--timeout",
            "10",
        ]),
        13,
    )?;
    assert!(out.is_empty() && err.contains("127.0.0.1:1"), "{err}");
    // Input errors: short salt, endpoint without scheme.
    run(vsync().envs(env).args(["runtime-token", "--salt", "short"]), 3)?;
    run(vsync().envs(env).env("VSYNC_ENDPOINT", "s3.example.com").arg("runtime-token"), 3)?;
    // A missing flag is a usage error.
    run(vsync().args(["runtime-token", "--region", "x"]), 2)?;
    Ok(())
}

#[test]
fn reading_errors_have_their_classes_and_exit_codes() -> TestResult {
    let s = Scratch::new("errors")?;
    // Missing manifest.
    let (_, err) = run(s.cmd("get").arg("X"), 14)?;
    assert!(err.contains("ManifestNotFoundError") && err.contains("vsync push"), "{err}");
    run(&mut s.push(), 0)?;
    // Wrong passphrase.
    let (out, err) =
        run(vsync().env("VSYNC_PASSPHRASE", "nope").env("VSYNC_CONFIG", &s.token).args(["get", "DATABASE_URL"]), 15)?;
    assert!(
        out.is_empty() && err.contains("WrongPassphraseError (VSYNC_WRONG_PASSPHRASE)") && err.contains("what to do"),
        "{err}"
    );
    // Unreachable endpoint (same token, another port).
    let mut c = s.config()?;
    c.endpoint = "http://127.0.0.1:1".into();
    let (_, err) = run(
        vsync().env("VSYNC_PASSPHRASE", PASS).env("VSYNC_CONFIG", c.encode()).args(["get", "X", "--timeout", "10"]),
        13,
    )?;
    assert!(err.contains("S3UnreachableError"), "{err}");
    // Bad blobs: each class of SPEC §2.
    let bad = [("{\"v\":1}", 11), ("vsync-cfg-v1:ab+c", 12), ("vsync-cfg-v1:a", 16)];
    for (blob, code) in bad {
        let (_, err) = run(vsync().env("VSYNC_PASSPHRASE", PASS).env("VSYNC_CONFIG", blob).args(["get", "X"]), code)?;
        assert!(err.contains("vsync runtime-token"), "{err}");
    }
    // No config, no passphrase (and no terminal to prompt on).
    let (_, err) = run(vsync().args(["get", "X"]), 11)?;
    assert!(err.contains("VSYNC_CONFIG"), "{err}");
    let (_, err) = run(vsync().env("VSYNC_CONFIG", &s.token).args(["get", "X"]), 11)?;
    assert!(err.contains("VSYNC_PASSPHRASE") && err.contains("no terminal"), "{err}");
    // A world-writable passphrase file is refused (SPEC §7 policy).
    let ww = s.path("ww");
    std::fs::write(&ww, PASS)?;
    std::fs::set_permissions(&ww, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o666))?;
    let (_, err) =
        run(vsync().env("VSYNC_CONFIG", &s.token).args(["get", "X", "--passphrase-file", &ww.to_string_lossy()]), 11)?;
    assert!(err.contains("0666"), "{err}");
    // Push input errors.
    run(&mut s.cmd("push"), 3)?;
    run(s.cmd("push").args(["--env-file", &s.p("does-not-exist")]), 3)?;
    run(s.cmd("push").args(["--asset", "noequals"]), 2)?;
    Ok(())
}

#[test]
fn decode_config_redacts_unless_asked() -> TestResult {
    let s = Scratch::new("decode")?;
    let (out, _) = run(vsync().args(["decode-config", &s.token]), 0)?;
    assert_no_secret(&s, &[&out]);
    let j: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(j["secretAccessKey"], "<redacted>");
    assert_eq!(j["prefix"], s.prefix.as_str());
    assert_eq!(j["v"], 1);
    let (out, _) = run(vsync().env("VSYNC_CONFIG_FILE", s.p("token")).args(["decode-config", "--show-secrets"]), 0)?;
    let j: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(j["secretAccessKey"], s.s3.secret_key.as_str());
    let (_, err) = run(vsync().args(["decode-config", "vsync-cfg-v1:a"]), 16)?;
    assert!(err.contains("BundleCorruptError"), "{err}");
    run(vsync().args(["decode-config", "not-a-token"]), 11)?;
    Ok(())
}

#[test]
fn help_documents_commands_examples_and_exit_codes() -> TestResult {
    let (out, _) = run(vsync().arg("--help"), 0)?;
    for sub in [
        "runtime-token",
        "push",
        "rotate-passphrase",
        "status",
        "get",
        "export",
        "decode-config",
        "vectors",
        "dev-server",
    ] {
        assert!(out.contains(sub), "--help lacks {sub}");
    }
    assert!(out.contains("15  WrongPassphraseError") && out.contains("20  ConflictError"), "{out}");
    for sub in ["runtime-token", "push", "rotate-passphrase", "status", "get", "export", "decode-config", "dev-server"]
    {
        let (out, _) = run(vsync().args([sub, "--help"]), 0)?;
        assert!(out.contains("Examples:"), "{sub} --help has no examples");
        // No help text suggests putting a secret on the command line (issue 12, finding 8).
        for argv_secret in ["--config BLOB", "--secret-access-key KEY", "--secret-key KEY", "\"$VSYNC_CONFIG\""] {
            assert!(!out.contains(argv_secret), "{sub} --help suggests {argv_secret}:\n{out}");
        }
    }
    Ok(())
}

/// Issue 12, finding 8: `--config BLOB` and `--secret-access-key` put secrets in
/// `/proc/<pid>/cmdline`. Every secret has a file, stdin or environment form: run the commands
/// that take secrets that way against a server that accepts and never answers (so each process
/// is alive to inspect), and check what every local user can read of them.
#[test]
fn no_secret_needs_the_command_line() -> TestResult {
    use std::io::Write as _;
    let s = Scratch::new("argv")?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let silent = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            keep.lock().map(|mut v| v.push(conn)).ok();
        }
    });
    let mut c = s.config()?;
    c.endpoint = silent.clone();
    let token = c.encode();
    write_private(&s.path("silent.token"), token.as_bytes())?;
    write_private(&s.path("write.key"), b"write-secret-key-never-on-argv")?;
    let secrets = [token.as_str(), PASS, s.s3.secret_key.as_str(), "write-secret-key-never-on-argv"];
    let bin = env!("CARGO_BIN_EXE_vsync");
    let spawn = |args: &[&str], env: &[(&str, &str)], stdin: Option<&str>| -> std::io::Result<std::process::Child> {
        let mut cmd = std::process::Command::new(bin);
        cmd.env_clear().envs(env.iter().copied()).args(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn()?;
        let mut pipe = child.stdin.take().ok_or("no stdin").map_err(std::io::Error::other)?;
        pipe.write_all(stdin.unwrap_or("").as_bytes())?;
        drop(pipe);
        Ok(child)
    };
    let pw = s.p("pw");
    let children = vec![
        // The token on standard input, the passphrase from a file.
        spawn(&["get", "K", "--config-file", "-", "--passphrase-file", &pw, "--timeout", "20"], &[], Some(&token))?,
        // The token from VSYNC_CONFIG_FILE, the passphrase from VSYNC_PASSPHRASE, write keys from a file.
        spawn(
            &[
                "push",
                "--env-file",
                &s.p(".env"),
                "--access-key-id",
                "AKIDWRITER",
                "--secret-access-key-file",
                &s.p("write.key"),
                "--timeout",
                "20",
            ],
            &[("VSYNC_CONFIG_FILE", &s.p("silent.token")), ("VSYNC_PASSPHRASE", PASS)],
            None,
        )?,
        // runtime-token: the secret key from the environment.
        spawn(
            &[
                "runtime-token",
                "--endpoint",
                &silent,
                "--region",
                "us-east-1",
                "--bucket",
                "b",
                "--prefix",
                "p/",
                "--env",
                "dev",
                "--access-key-id",
                "AKID",
                "--check",
                "--timeout",
                "20",
            ],
            &[("AWS_SECRET_ACCESS_KEY", &s.s3.secret_key)],
            None,
        )?,
    ];
    // Each one is blocked on the silent server once it has connected: wait for 3 connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while held.lock().map(|v| v.len()).unwrap_or(0) < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut report = Vec::new();
    for mut child in children {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id()))?;
        let alive = child.try_wait()?.is_none();
        let _ = child.kill();
        let out = child.wait_with_output()?;
        report.push((String::from_utf8_lossy(&cmdline).replace('\0', " "), alive, text(&out.stderr)));
    }
    for (cmdline, alive, stderr) in &report {
        assert!(alive, "the command ended before it reached the server: {cmdline}\n{stderr}");
        for secret in secrets {
            assert!(!cmdline.contains(secret), "a secret is readable in /proc/<pid>/cmdline: {cmdline}");
        }
        assert!(!stderr.contains("deprecated"), "no deprecated form was used: {stderr}");
    }
    Ok(())
}

/// The argv forms still work for now, and say why they should not be used.
#[test]
fn deprecated_argv_secrets_still_work_and_warn() -> TestResult {
    let s = Scratch::pushed("deprecated")?;
    let (out, err) = run(vsync().env("VSYNC_PASSPHRASE", PASS).args(["get", "LOG_LEVEL", "--config", &s.token]), 0)?;
    assert_eq!(out, "debug\n");
    assert!(err.contains("--config BLOB puts a secret on the command line") && err.contains("--config-file"), "{err}");
    let (out, err) = run(vsync().args(["decode-config", &s.token]), 0)?;
    assert!(out.contains("<redacted>") && err.contains("deprecated"), "{err}");
    let mut push = s.push();
    push.args(["--access-key-id", &s.s3.access_key, "--secret-access-key", &s.s3.secret_key]);
    let (out, err) = run(&mut push, 0)?;
    assert!(out.starts_with("pushed gen=2 "), "{out}");
    assert!(err.contains("--secret-access-key-file") && err.contains("deprecated"), "{err}");
    assert!(!err.contains(&s.s3.secret_key), "the warning does not repeat the secret");
    // Standard input feeds one input: two `-` inputs are refused, not split.
    let (_, err) = run(
        vsync().args(["get", "X", "--config-file", "-", "--passphrase-file", "-"]).write_stdin(s.token.clone()),
        3,
    )?;
    assert!(err.contains("standard input is already used"), "{err}");
    Ok(())
}

#[test]
fn vectors_generate_reports_what_it_wrote() -> TestResult {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("vectors");
    let (_, err) = run(vsync().args(["vectors", "generate", &target.to_string_lossy()]), 0)?;
    let n: usize = err.split_whitespace().nth(2).ok_or("no count")?.parse()?;
    let mut count = 0;
    if target.exists() {
        for cat in std::fs::read_dir(&target)? {
            let cat = cat?.path();
            if cat.is_dir() {
                count += std::fs::read_dir(&cat)?
                    .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json")))
                    .count();
            }
        }
    }
    assert_eq!(count, n, "stderr said {err}");
    Ok(())
}

#[test]
fn dev_server_serves_a_vault_end_to_end() -> TestResult {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir()?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vsync"))
        .env_clear()
        .args(["dev-server", "--data", &data.path().to_string_lossy(), "--bucket", "demo-bucket"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let result = (|| -> TestResult {
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut vars = std::collections::HashMap::new();
        for line in BufReader::new(stdout).lines().take(5) {
            let line = line?;
            if let Some((k, v)) = line.split_once('=') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        let get = |k: &str| vars.get(k).cloned().ok_or(format!("dev-server did not print {k}"));
        assert_eq!(get("VSYNC_DEV_BUCKET")?, "demo-bucket");
        let (token, _) = run(
            vsync().env("AWS_SECRET_ACCESS_KEY", get("VSYNC_DEV_SECRET_KEY")?).args([
                "runtime-token",
                "--check",
                "--endpoint",
                &get("VSYNC_DEV_ENDPOINT")?,
                "--region",
                "us-east-1",
                "--bucket",
                "demo-bucket",
                "--prefix",
                "p/",
                "--env",
                "dev",
                "--access-key-id",
                &get("VSYNC_DEV_ACCESS_KEY")?,
            ]),
            0,
        )?;
        let envf = data.path().join("in.env");
        std::fs::write(&envf, "K=v\n")?;
        run(
            vsync().env("VSYNC_CONFIG", token.trim()).env("VSYNC_PASSPHRASE", PASS).args([
                "push",
                "--env-file",
                &envf.to_string_lossy(),
            ]),
            0,
        )?;
        let v = open_with(token.trim(), PASS, OpenOptions::default())?;
        assert_eq!(v.get_env("K", &mut |_| None)?.as_deref().map(String::as_str), Some("v"));
        // SigV4 is enforced: a wrong secret is refused.
        let mut c = Config::decode(&token)?;
        c.secret_access_key = "wrong".to_string().into();
        let e = open_with(&c.encode(), PASS, OpenOptions::default()).map(|_| ()).err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::S3Unreachable));
        Ok(())
    })();
    // SIGTERM stops it cleanly.
    let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait()?;
    result?;
    assert_eq!(status.code(), Some(0));
    Ok(())
}

/// A caller may stop the dev server as soon as it read the variables it prints: SIGTERM is then
/// the clean stop (exit 0, the temporary data directory deleted), never the signal's default
/// action, because the server watches its signals before it announces itself.
#[test]
fn dev_server_stops_cleanly_right_after_it_announced_itself() -> TestResult {
    use std::io::{BufRead, BufReader, Read};
    for _ in 0..5 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vsync"))
            .env_clear()
            .arg("dev-server")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let announced: Vec<String> = BufReader::new(stdout).lines().take(5).collect::<Result<_, _>>()?;
        assert!(announced.iter().any(|l| l.starts_with("VSYNC_DEV_ENDPOINT=http://")), "{announced:?}");
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
        let status = child.wait()?;
        let mut err = String::new();
        child.stderr.take().ok_or("no stderr")?.read_to_string(&mut err)?;
        assert_eq!(status.code(), Some(0), "{status:?} {err}");
        assert!(err.contains("dev S3 server stopped"), "{err}");
        let data = err.split("data in ").nth(1).and_then(|r| r.split(" (Ctrl-C").next()).ok_or(err.clone())?;
        assert!(!Path::new(data).exists(), "the temporary data directory {data} is still there");
    }
    Ok(())
}

/// Runs the vsync binary with `args` on a fresh pseudo-terminal, its controlling terminal, and
/// types each answer once its prompt is on the screen AND the terminal's echo is off: rpassword
/// writes the prompt before it turns echo off, so a line typed in between would be echoed by the
/// terminal through no fault of the program (the old `sleep 1; printf ...` feed raced with that).
/// Returns the exit code and everything the terminal showed.
fn on_terminal(args: &[&str], steps: &[(&str, &str)]) -> Result<(Option<i32>, String), Box<dyn std::error::Error>> {
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (mut master_fd, mut slave_fd) = (-1, -1);
    // SAFETY: openpty writes two new descriptors; NULL name, termios and window size are allowed.
    let rc = unsafe {
        libc::openpty(&mut master_fd, &mut slave_fd, std::ptr::null_mut(), std::ptr::null(), std::ptr::null())
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: both descriptors are fresh and owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master_fd), OwnedFd::from_raw_fd(slave_fd)) };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vsync"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(slave.try_clone()?)
        .stdout(slave.try_clone()?)
        .stderr(slave.try_clone()?);
    // SAFETY: between fork and exec only async-signal-safe calls: a new session whose controlling
    // terminal is the pty (so /dev/tty, where rpassword prompts, is it).
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    drop(cmd); // its copies of the slave: the reader below ends once the child's are closed too
    let screen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let screen = screen.clone();
        let mut from = std::fs::File::from(master.try_clone()?);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                screen.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut to = std::fs::File::from(master);
    let echo_is_off = || {
        // SAFETY: tcgetattr fills a termios of the pty (the same one for every descriptor of it).
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut t) == 0 && t.c_lflag & libc::ECHO == 0 }
    };
    // Waits for events (the prompt, then echo off), polled; the bound only turns a hang into a failure.
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    'steps: for (prompt, answer) in steps {
        loop {
            // The prompt first, then the terminal state: once the prompt is shown, an echo that is
            // off is this prompt's (rpassword restores echo before it writes the next prompt).
            let shown = {
                let screen = screen.lock().unwrap_or_else(|p| p.into_inner());
                text(&screen[seen..]).find(prompt).map(|at| seen + at + prompt.len())
            };
            if let Some(end) = shown {
                if echo_is_off() {
                    seen = end;
                    break;
                }
            }
            if child.try_wait()?.is_some() {
                break 'steps; // it ended early: the caller's assertions say why
            }
            if std::time::Instant::now() > give_up {
                let _ = child.kill();
                return Err(format!("no prompt {prompt:?} with echo off within 60 s").into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        to.write_all(format!("{answer}\n").as_bytes())?;
    }
    let status = child.wait()?;
    drop(slave); // with no slave descriptor left, the reader gets EIO and stops
    reader.join().map_err(|_| "the terminal reader panicked")?;
    let shown = text(&screen.lock().unwrap_or_else(|p| p.into_inner()));
    Ok((status.code(), shown))
}

/// The interactive prompt, through a real pseudo-terminal: asked twice for a new vault, without
/// echo; two different answers are refused.
#[test]
fn passphrase_prompt_on_a_terminal_does_not_echo() -> TestResult {
    let s = Scratch::new("prompt")?;
    let typed = "typed-at-the-prompt";
    let (token, env) = (s.p("token"), s.p(".env"));
    let push = ["push", "--config-file", token.as_str(), "--env-file", env.as_str()];
    let prompts = |answers: [&'static str; 2]| [("Vault passphrase: ", answers[0]), ("(again): ", answers[1])];

    let (code, all) = on_terminal(&push, &prompts([typed, "something-else"]))?;
    assert_eq!(code, Some(3), "{all}");
    assert!(all.contains("Vault passphrase (again):") && all.contains("differ"), "{all}");
    assert!(!all.contains(typed), "the passphrase was echoed: {all}");

    let (code, all) = on_terminal(&push, &prompts([typed, typed]))?;
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("pushed gen=1"), "{all}");
    assert!(!all.contains(typed), "the passphrase was echoed: {all}");
    assert_eq!(open_with(&s.token, typed, OpenOptions::default())?.generation()?, 1);
    Ok(())
}
