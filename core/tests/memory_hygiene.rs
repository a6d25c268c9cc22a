//! Issue 12 #9: after `close()`, no copy of a secret is left anywhere in the process's memory.
//!
//! The test re-runs itself as a child process that opens two vaults from `_FILE` inputs (a
//! runtime-layout JSON bundle whose values need unescaping, and a CLI-layout zip), reads every
//! value and asset, closes both handles and waits. The parent, which pushed the vaults with
//! random canary values, then reads every readable mapping of the child through
//! `/proc/<pid>/mem` and looks for each canary: the values (escaped, plain, zip), the assets
//! (JSON base64, zip), the passphrase and the derived key. The child never sees a canary except
//! through the library, so any copy found is one the library left behind.
//! Needs the local S3 server of scripts/with-s3.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::test_config;
use vsync_core::payload::{encode_zip_payload, VaultData};
use vsync_core::{envelope, s3, writer, Config, OpenOptions};

const CHILD: &str = "VSYNC_MEMORY_TEST_CHILD";
const TEST_NAME: &str = "no_secret_is_left_in_memory_after_close";

fn random_hex(n: usize) -> String {
    (0..n).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

fn write_secret_file(dir: &std::path::Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn no_secret_is_left_in_memory_after_close() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let tag = random_hex(12);
    // Short enough (< 32 bytes) to fit `read_to_end`'s stack probe buffer whole.
    let passphrase = format!("pw-{}", random_hex(10));
    // Canaries: each is a distinct random string, so a match names the leak.
    let canaries: Vec<(&str, Vec<u8>)> = vec![
        ("JSON value with escapes", format!("esc-{tag}-\"quoted\"-\\-end").into_bytes()),
        ("JSON value, plain", format!("plain-{tag}-value").into_bytes()),
        ("JSON asset", format!("asset-json-{tag}-bytes").into_bytes()),
        ("zip .env value", format!("zipval-{tag}-secret").into_bytes()),
        ("zip asset", format!("zipasset-{tag}-bytes").into_bytes()),
        ("passphrase", passphrase.clone().into_bytes()),
    ];
    let text = |i: usize| String::from_utf8(canaries[i].1.clone()).unwrap();

    // Vault 1: runtime layout, bare-JSON bundle (pushed by our writer).
    let json_cfg = test_config(format!("memory/{tag}/json/"), "prod");
    let mut d = VaultData::default();
    d.kv.insert("ESCAPED".into(), text(0).into());
    d.kv.insert("PLAIN".into(), text(1).into());
    d.assets.insert("asset.bin".into(), canaries[2].1.clone().into());
    writer::push(&json_cfg, &passphrase, &d, None, Duration::from_secs(30)).unwrap();
    // Vault 2: the public CLI's layout, a zip (deflated entries).
    let zip_cfg: Config = test_config(format!("memory/{tag}/zip/"), "prod");
    let zip = encode_zip_payload("vault/", "prod", &format!("ZIPVAL={}\n", text(3)), &[("asset.txt", &canaries[4].1)]);
    let key = envelope::derive_key(&passphrase, &zip_cfg.salt, zip_cfg.iterations);
    s3::run(&zip_cfg, Duration::from_secs(30), |store| async move {
        writer::write_cli_layout(&store, &key, &zip, "20260301-101010", Some(1)).await
    })
    .unwrap();
    let mut canaries = canaries;
    // HMAC's key blocks: the passphrase XOR 0x36 (ipad) and XOR 0x5c (opad), as good as the passphrase.
    for (what, pad) in [("passphrase XOR HMAC ipad", 0x36u8), ("passphrase XOR HMAC opad", 0x5c)] {
        canaries.push((what, passphrase.bytes().map(|b| b ^ pad).collect()));
    }
    canaries.push((
        "derived key (JSON vault)",
        envelope::derive_key(&passphrase, &json_cfg.salt, json_cfg.iterations).to_vec(),
    ));
    canaries.push((
        "derived key (zip vault)",
        envelope::derive_key(&passphrase, &zip_cfg.salt, zip_cfg.iterations).to_vec(),
    ));

    let dir = tempfile::tempdir().unwrap();
    let json_file = write_secret_file(dir.path(), "json.token", &json_cfg.encode());
    let zip_file = write_secret_file(dir.path(), "zip.token", &zip_cfg.encode());
    let pass_file = write_secret_file(dir.path(), "pass", &format!("{passphrase}\n"));
    drop(passphrase);

    // One child per vault, so that what one open leaves is not overwritten by the other's.
    let mut found = Vec::new();
    for token in [&json_file, &zip_file] {
        found.extend(run_child_and_scan(token, &pass_file, &canaries));
    }
    assert!(found.is_empty(), "secrets left in memory after close():\n{}", found.join("\n"));
}

fn run_child_and_scan(token: &str, pass_file: &str, canaries: &[(&str, Vec<u8>)]) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("MEM_TOKEN", token)
        .env("MEM_PASS_FILE", pass_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The harness prints the test's name without a newline before the child's own line.
    let ready = lines.by_ref().map(|l| l.unwrap()).find(|l| l.contains("MEMTEST "));
    let ready = ready.unwrap_or_else(|| panic!("the child ended before it was ready: {:?}", child.wait()));
    assert!(ready.ends_with("MEMTEST ready"), "the child could not open and close the vault: {ready}");
    let found = scan(child.id(), canaries);
    drop(child.stdin.take()); // the child exits when its stdin closes
    let status = child.wait().unwrap();
    assert!(status.success(), "child: {status}");
    found
}

/// Every readable mapping of `pid`, searched for each canary. Returns one line per hit.
fn scan(pid: u32, canaries: &[(&str, Vec<u8>)]) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let longest = canaries.iter().map(|c| c.1.len()).max().unwrap_or(1);
    let mut hits = Vec::new();
    let mut scanned = 0usize;
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (range, perms) = (f.next().unwrap(), f.next().unwrap());
        let name = line.split_whitespace().nth(5).unwrap_or("[anon]");
        if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" || name == "[vvar_vclock]" {
            continue;
        }
        let (lo, hi) = range.split_once('-').unwrap();
        let (lo, hi) = (u64::from_str_radix(lo, 16).unwrap(), u64::from_str_radix(hi, 16).unwrap());
        let mut at = lo;
        let chunk = 4 << 20;
        let mut buf = vec![0u8; chunk + longest];
        while at < hi {
            let want = ((hi - at) as usize).min(chunk + longest);
            let Ok(n) = mem.read_at(&mut buf[..want], at) else { break };
            if n == 0 {
                break;
            }
            scanned += n;
            for (what, canary) in canaries {
                if let Some(pos) = find(&buf[..n], canary) {
                    hits.push(format!("  {what} at {:#x} in {name} ({perms})", at + pos as u64));
                }
            }
            at += chunk as u64;
        }
    }
    assert!(scanned > 1 << 20, "the scan read the child's memory ({scanned} bytes)");
    println!("scanned {} MiB of the child's memory for {} canaries", scanned >> 20, canaries.len());
    hits.sort();
    hits.dedup();
    hits
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1].iter().position(|b| *b == first) {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// The child: open the vault from files, read everything, close, report, wait for stdin EOF.
fn child() {
    let var = |k: &str| std::env::var(k).unwrap();
    let env: HashMap<String, String> = [
        ("VSYNC_CONFIG_FILE".to_string(), var("MEM_TOKEN")),
        ("VSYNC_PASSPHRASE_FILE".to_string(), var("MEM_PASS_FILE")),
    ]
    .into();
    let v = vsync_core::open(&|k| env.get(k).cloned(), OpenOptions::default()).unwrap();
    let mut read = 0;
    for k in v.keys().unwrap() {
        read += v.get_env(&k, &mut |_| None).unwrap().map(|s| s.len()).unwrap_or(0);
    }
    for a in v.asset_names().unwrap() {
        read += v.get_as_content(&a).unwrap().len();
    }
    assert!(read > 0);
    v.close();
    let mut out = std::io::stdout().lock();
    writeln!(out, "MEMTEST ready").unwrap();
    out.flush().unwrap();
    drop(out);
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}
