//! The Rust reader of the demo (`./scripts/task demo`): what an application does at boot.
//! Opens the vault from VSYNC_CONFIG / VSYNC_PASSPHRASE(_FILE), prints where each key of
//! DEMO_KEYS resolves from (values masked), the asset DEMO_ASSET and the generation, then polls
//! `has_new_version()` until the demo's second push lands. Output format: scripts/demo.d/README.md.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use vsync_core::bootstrap::process_env;
use vsync_core::{open, OpenOptions};

fn mask(v: &str) -> String {
    let head: String = v.chars().take(6).collect();
    if v.chars().count() > 6 {
        format!("{head}…")
    } else {
        head
    }
}

fn run() -> Result<(), vsync_core::Error> {
    let mut options = OpenOptions::default();
    options.defaults.insert("PORT".into(), "8080".into());
    let vault = open(&process_env, options)?;
    println!("opened {vault}");
    let keys = process_env("DEMO_KEYS").unwrap_or_default();
    for key in keys.split_whitespace() {
        let r = vault.resolve(key, &mut |k| process_env(k))?;
        let shown = r.value.as_deref().map(|v| mask(v)).unwrap_or_else(|| "(none)".into());
        println!("{key:<16}{:<9}{shown}", r.source.label());
    }
    if let Some(name) = process_env("DEMO_ASSET") {
        let bytes = vault.get_as_content(&name)?;
        let head: String = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        println!("asset {name}: {} bytes, starts {head}", bytes.len());
    }
    println!("generation {}", vault.generation()?);
    println!("has_new_version {}", vault.has_new_version()?);
    println!("waiting for a new version");
    let _ = std::io::stdout().flush();
    let start = Instant::now();
    while !vault.has_new_version()? {
        if start.elapsed() > Duration::from_secs(60) {
            println!("has_new_version still false after 60 s");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("has_new_version true (remote generation {})", vault.remote_generation()?);
    vault.close();
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-reader: {e}");
            ExitCode::FAILURE
        }
    }
}
