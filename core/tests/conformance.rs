//! The Rust conformance runner: one test per vector of the corpus in `VSYNC_CONFORMANCE_DIR`
//! (default: the project's `conformance/vectors`), run as conformance/README.md describes.
//! An unknown category is a failing test; a live vector without `VSYNC_CONFORMANCE_LIVE` fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use vsync_core::{corpus, hooks, open_with, Error, OpenOptions, Vault};

type Outcome = Result<(), String>;

fn main() {
    let args = Arguments::from_args();
    let dir = corpus_dir();
    let mut trials = vec![Trial::test("corpus_is_reproducible", corpus_is_reproducible)];
    let mut cats: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    cats.sort_by_key(|e| e.file_name());
    for cat in cats {
        let category = cat.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> =
            std::fs::read_dir(cat.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let cat2 = category.clone();
            trials.push(Trial::test(format!("{category}/{name}"), move || {
                run_vector(&cat2, &path).map_err(Failed::from)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn corpus_dir() -> PathBuf {
    match std::env::var("VSYNC_CONFORMANCE_DIR") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join("conformance/vectors"),
    }
}

/// The committed corpus is exactly what the generator writes (set VSYNC_WRITE_CORPUS=1 to
/// rewrite it, which is what `vsync vectors generate` does).
fn corpus_is_reproducible() -> Result<(), Failed> {
    let dir = repo_root().join("conformance/vectors");
    if std::env::var("VSYNC_WRITE_CORPUS").is_ok_and(|v| v == "1") {
        corpus::generate(&dir).map_err(|e| e.to_string())?;
    }
    let want = corpus::files();
    let mut have = std::collections::BTreeMap::new();
    for cat in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let cat = cat.map_err(|e| e.to_string())?;
        for f in std::fs::read_dir(cat.path()).map_err(|e| e.to_string())? {
            let f = f.map_err(|e| e.to_string())?.path();
            let rel = f.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
            have.insert(rel, std::fs::read(&f).map_err(|e| e.to_string())?);
        }
    }
    let differ: Vec<_> = want.keys().chain(have.keys()).filter(|k| want.get(*k) != have.get(*k)).collect();
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!("conformance/vectors differs from the generator in {differ:?}; run `./scripts/task corpus`").into())
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn class(e: &Error) -> String {
    e.kind().class_name().to_string()
}

/// Compare an outcome with `expected.error`.
fn expect<T>(expected: &Value, got: Result<T, Error>, on_ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match (expected["error"].as_str(), got) {
        (Some(want), Err(e)) if class(&e) == want => Ok(()),
        (Some(want), Err(e)) => Err(format!("expected {want}, got {}: {}", class(&e), e.message())),
        (Some(want), Ok(_)) => Err(format!("expected {want}, got success")),
        (None, Err(e)) => Err(format!("unexpected {}: {}", class(&e), e.message())),
        (None, Ok(v)) => on_ok(v),
    }
}

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn str_map(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn options(defaults: &Value) -> OpenOptions {
    let mut o = OpenOptions::default();
    if let Some(m) = defaults.as_object() {
        for (k, v) in m {
            o.defaults.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    o
}

fn check_queries(v: &Vault, env: &HashMap<String, String>, results: &Value) -> Outcome {
    let mut lookup = |k: &str| env.get(k).cloned();
    for r in results.as_array().cloned().unwrap_or_default() {
        let key = r["key"].as_str().unwrap_or_default();
        let got = v.resolve(key, &mut lookup).map_err(|e| e.to_string())?;
        eq(&format!("{key} value"), got.value.as_ref().map(|z| z.as_str()), r["value"].as_str())?;
        eq(&format!("{key} source"), got.source.label(), r["source"].as_str().unwrap_or_default())?;
        eq(
            &format!("{key} has"),
            v.has_env(key, &mut lookup).map_err(|e| e.to_string())?,
            r["has"].as_bool().unwrap_or(false),
        )?;
    }
    Ok(())
}

fn iterations(inputs: &Value) -> u32 {
    inputs["iterations"].as_u64().map(|n| n as u32).unwrap_or(600_000)
}

/// `{dir}` → the temp dir, files written then chmod-ed.
fn lay_out_files(inputs: &Value) -> (tempfile::TempDir, HashMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    if let Some(files) = inputs["files"].as_object() {
        for (name, f) in files {
            let p = dir.path().join(name);
            std::fs::write(&p, unhex(f["content_hex"].as_str().unwrap_or_default())).unwrap();
            let mode = u32::from_str_radix(f["mode_octal"].as_str().unwrap_or("600"), 8).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let env = str_map(&inputs["env"]).into_iter().map(|(k, v)| (k, v.replace("{dir}", &d))).collect();
    (dir, env)
}

/// What an `error-taxonomy` vector runs (SPEC §11): the family's four shapes and our `config`
/// shape, told apart by the inputs and the `.bin`'s first bytes, never by the vector's name.
enum TaxonomyStep {
    /// `scenario`: open the seeded live vault.
    Live,
    /// A `.bin` with `passphrase` and `salt`: decrypt it as an RQE1 envelope.
    Envelope(Vec<u8>),
    /// A `.bin` that is a config blob (`vsync-cfg-…`, or any `.bin` without a passphrase).
    ConfigBlob(String),
    /// `config` (a blob) and `passphrase`: `open_with`, which fails before any network access.
    OpenWith,
    /// `env` (and our optional `files`): resolve the bootstrap, then decode the config it found.
    Bootstrap,
}

/// The one place this runner decides an `error-taxonomy` vector's step.
fn taxonomy_step(inputs: &Value, bin: Option<Vec<u8>>) -> Result<TaxonomyStep, String> {
    if inputs["scenario"].is_string() {
        return Ok(TaxonomyStep::Live);
    }
    if let Some(bin) = bin {
        if bin.starts_with(b"vsync-cfg-") || !inputs["passphrase"].is_string() {
            return String::from_utf8(bin)
                .map(TaxonomyStep::ConfigBlob)
                .map_err(|_| "error-taxonomy: a config-blob .bin that is not UTF-8".to_string());
        }
        return Ok(TaxonomyStep::Envelope(bin));
    }
    if inputs["config"].is_string() {
        return Ok(TaxonomyStep::OpenWith);
    }
    if inputs["env"].is_object() {
        return Ok(TaxonomyStep::Bootstrap);
    }
    Err(format!("error-taxonomy vector with no input shape this runner knows: {inputs}"))
}

/// The vector's passphrase, or any non-empty one when it has none (the family's live scenarios
/// fail before decryption, so the passphrase is never used).
fn live_passphrase(inputs: &Value) -> String {
    inputs["passphrase"].as_str().filter(|p| !p.is_empty()).unwrap_or(ANY_PASSPHRASE).to_string()
}

const ANY_PASSPHRASE: &str = "any non-empty passphrase";

fn live_config(category: &str, path: &Path) -> Result<String, String> {
    let live = std::env::var("VSYNC_CONFORMANCE_LIVE")
        .map_err(|_| "live vector: VSYNC_CONFORMANCE_LIVE is not set (run under scripts/with-s3.sh)".to_string())?;
    let name = path.file_stem().unwrap().to_string_lossy();
    let f = Path::new(&live).join(category).join(format!("{name}.config"));
    std::fs::read_to_string(&f).map_err(|e| format!("live config {}: {e}", f.display()))
}

fn run_vector(category: &str, path: &Path) -> Outcome {
    let v: Value =
        serde_json::from_slice(&std::fs::read(path).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let bin = std::fs::read(path.with_extension("bin")).ok();
    let inputs = &v["inputs"];
    let expected = &v["expected"];
    let s = |k: &str| inputs[k].as_str().unwrap_or_default().to_string();
    match category {
        "rqe1-decrypt" | "rqe1-decrypt-error" => {
            let got =
                hooks::decrypt_envelope(&bin.ok_or("missing .bin")?, &s("passphrase"), &s("salt"), iterations(inputs));
            expect(expected, got, |p| {
                eq("plaintext", hex(&p), expected["plaintext_hex"].as_str().unwrap_or_default().to_string())
            })
        }
        "rqem0001-manifest" => {
            let got = hooks::unseal(&bin.ok_or("missing .bin")?, inputs["remote_ts"].as_str());
            expect(expected, got, |(ts, payload)| {
                eq("embedded_ts", ts.as_str(), expected["embedded_ts"].as_str().unwrap_or_default())?;
                eq("payload", hex(&payload), expected["payload_hex"].as_str().unwrap_or_default().to_string())
            })
        }
        "config-blob" => {
            let blob = String::from_utf8(bin.ok_or("missing .bin")?).map_err(|e| e.to_string())?;
            expect(expected, hooks::decode_config_json(&blob), |j| {
                eq(
                    "config_json",
                    serde_json::from_str::<Value>(&j).map_err(|e| e.to_string())?,
                    expected["config_json"].clone(),
                )
            })
        }
        "fallback-chain" => {
            let payload = json!({"kv": inputs["vault"]}).to_string();
            let vault = Vault::from_payload(payload.as_bytes(), "test", None, options(&inputs["defaults"]))
                .map_err(|e| e.to_string())?;
            check_queries(&vault, &str_map(&inputs["env"]), &expected["results"])
        }
        "resolved-view" => {
            let payload = json!({"kv": inputs["vault"]}).to_string();
            let vault = Vault::from_payload(payload.as_bytes(), "test", None, options(&inputs["defaults"]))
                .map_err(|e| e.to_string())?;
            let env = str_map(&inputs["env"]);
            let got: Vec<(String, String)> = vault
                .environ(env.clone())
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
            let want: Vec<(String, String)> = expected["environ"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|e| (e["key"].as_str().unwrap_or_default().into(), e["value"].as_str().unwrap_or_default().into()))
                .collect();
            eq("environ", got, want)?;
            let mut lookup = |k: &str| env.get(k).cloned();
            for e in expected["environ"].as_array().cloned().unwrap_or_default() {
                let key = e["key"].as_str().unwrap_or_default();
                let source = vault.env_source(key, &mut lookup).map_err(|e| e.to_string())?;
                eq(&format!("{key} source"), source.label(), e["source"].as_str().unwrap_or_default())?;
            }
            Ok(())
        }
        "asset-path" => {
            let bytes = bin.ok_or("missing .bin")?;
            let key = s("key");
            let payload = json!({"kv": inputs["vault"], "assets": {key.clone(): corpus::b64(&bytes)}}).to_string();
            let vault = Vault::from_payload(payload.as_bytes(), "test", None, OpenOptions::default())
                .map_err(|e| e.to_string())?;
            let got = vault.get_as_content(&key).map_err(|e| e.to_string())?;
            eq("bytes", hex(&got), expected["bytes_hex"].as_str().unwrap_or_default().to_string())?;
            // The tempfile recipe: create 0600, write, read back.
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let p = dir.path().join("asset");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
                .map_err(|e| e.to_string())?;
            f.write_all(&got).map_err(|e| e.to_string())?;
            drop(f);
            let mode = std::fs::metadata(&p).map_err(|e| e.to_string())?.permissions().mode() & 0o777;
            eq("mode", format!("{mode:04o}"), expected["mode_octal"].as_str().unwrap_or_default().to_string())?;
            eq("round trip", std::fs::read(&p).map_err(|e| e.to_string())?, bytes)
        }
        "error-taxonomy" => {
            let got: Result<(), Error> = match taxonomy_step(inputs, bin)? {
                TaxonomyStep::Live => {
                    open_with(&live_config(category, path)?, &live_passphrase(inputs), OpenOptions::default())
                        .map(|_| ())
                }
                TaxonomyStep::Envelope(b) => {
                    hooks::decrypt_envelope(&b, &s("passphrase"), &s("salt"), iterations(inputs)).map(|_| ())
                }
                TaxonomyStep::ConfigBlob(blob) => hooks::decode_config_json(&blob).map(|_| ()),
                TaxonomyStep::OpenWith => {
                    open_with(&s("config"), &live_passphrase(inputs), OpenOptions::default()).map(|_| ())
                }
                TaxonomyStep::Bootstrap => {
                    let (_dir, env) = lay_out_files(inputs);
                    hooks::resolve_bootstrap(&env)
                        .and_then(|(config, _, _)| hooks::decode_config_json(&config))
                        .map(|_| ())
                }
            };
            expect(expected, got, |_| Ok(()))
        }
        "vault-payload" => {
            let got = Vault::from_payload(
                &bin.ok_or("missing .bin")?,
                &s("env"),
                inputs["pointer_ts"].as_str(),
                OpenOptions::default(),
            );
            expect(expected, got, |vault| {
                let want_keys: Vec<String> =
                    serde_json::from_value(expected["keys"].clone()).map_err(|e| e.to_string())?;
                eq("keys", vault.keys().map_err(|e| e.to_string())?, want_keys)?;
                let none = HashMap::new();
                let results: Vec<Value> = str_map(&expected["kv"])
                    .into_iter()
                    .map(|(k, v)| json!({"key": k, "value": v, "source": "vault", "has": true}))
                    .collect();
                check_queries(&vault, &none, &Value::Array(results))?;
                for (name, h) in str_map(&expected["assets"]) {
                    eq(&name, hex(&vault.get_as_content(&name).map_err(|e| e.to_string())?), h)?;
                }
                eq(
                    "asset count",
                    vault.asset_names().map_err(|e| e.to_string())?.len(),
                    str_map(&expected["assets"]).len(),
                )
            })
        }
        "bootstrap" => {
            let (dir, env) = lay_out_files(inputs);
            let d = dir.path().to_string_lossy().into_owned();
            expect(expected, hooks::resolve_bootstrap(&env), |(config, pass, warnings)| {
                eq("config", config.as_str(), expected["config"].as_str().unwrap_or_default())?;
                eq("passphrase", pass.as_str(), expected["passphrase"].as_str().unwrap_or_default())?;
                let want: Vec<String> = expected["warnings"]
                    .as_array()
                    .map(|a| a.iter().map(|w| w.as_str().unwrap_or_default().replace("{dir}", &d)).collect())
                    .unwrap_or_default();
                eq("warnings", warnings, want)
            })
        }
        "s3-scenario" => {
            let config = live_config(category, path)?;
            let got = open_with(&config, &s("passphrase"), options(&inputs["defaults"]));
            expect(expected, got, |vault| {
                eq(
                    "generation",
                    vault.generation().map_err(|e| e.to_string())?,
                    expected["generation"].as_u64().unwrap_or(u64::MAX),
                )?;
                eq("layout", vault.layout().map(|l| l.label()), expected["layout"].as_str())?;
                check_queries(&vault, &str_map(&inputs["env"]), &expected["results"])?;
                for (name, h) in str_map(&expected["assets"]) {
                    eq(&name, hex(&vault.get_as_content(&name).map_err(|e| e.to_string())?), h)?;
                }
                eq(
                    "remote_generation",
                    vault.remote_generation().map_err(|e| e.to_string())?,
                    expected["generation"].as_u64().unwrap_or(u64::MAX),
                )?;
                eq("has_new_version", vault.has_new_version().map_err(|e| e.to_string())?, false)
            })
        }
        "rollback" => {
            let config = live_config(category, path)?;
            let options = OpenOptions { min_generation: inputs["min_generation"].as_u64(), ..OpenOptions::default() };
            expect(expected, open_with(&config, &s("passphrase"), options), |vault| {
                eq(
                    "generation",
                    Some(vault.generation().map_err(|e| e.to_string())?),
                    expected["generation"].as_u64(),
                )?;
                for (k, want) in str_map(&expected["kv"]) {
                    let got = vault.get_env(&k, &mut |_| None).map_err(|e| e.to_string())?;
                    eq(&k, got.map(|v| v.to_string()), Some(want))?;
                }
                Ok(())
            })
        }
        other => Err(format!("unknown category {other:?}: this runner does not know how to run it")),
    }
}
