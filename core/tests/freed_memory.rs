//! Issue 12 #9, at the source of each copy: this test binary's allocator inspects every block
//! as it is freed (or regrown) while a canary is armed, so a secret copied into a buffer that is
//! freed unwiped is caught the moment it happens, whatever the allocator does with the block
//! afterwards. And the key derivation is checked not to leave the passphrase (or HMAC's key
//! blocks, which are the passphrase XOR a constant) in the stack area its frames used.
//! `memory_hygiene.rs` checks the whole process after `close()`; this one pins each source.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use vsync_core::envelope::{derive_key, derive_key_boxed};
use vsync_core::payload::{decode_payload, encode_zip_payload};
use zeroize::Zeroizing;

struct Inspecting;

static ARMED: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);
/// The canary, written only while disarmed.
static CANARY: [AtomicU8; 64] = [const { AtomicU8::new(0) }; 64];
static CANARY_LEN: AtomicUsize = AtomicUsize::new(0);
/// One armed case at a time (the harness may run tests on several threads).
static SERIAL: Mutex<()> = Mutex::new(());

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

// SAFETY: every call is forwarded to the system allocator; the inspection only reads the block
// being freed, which is still allocated and `layout.size()` bytes long.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            // SAFETY: see the impl's comment.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let mut canary = [0u8; 64];
            let len = CANARY_LEN.load(Ordering::SeqCst);
            for (c, a) in canary.iter_mut().zip(&CANARY) {
                *c = a.load(Ordering::Relaxed);
            }
            if contains(block, &canary[..len]) {
                HITS.fetch_add(1, Ordering::SeqCst);
            }
        }
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    // `realloc` is the trait's default: alloc + copy + `dealloc` of the old block, inspected.
}

#[global_allocator]
static GLOBAL: Inspecting = Inspecting;

/// Runs `f` with `canary` armed; returns how many freed blocks held a copy of it.
fn freed_copies(canary: &[u8], f: impl FnOnce()) -> usize {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    assert!(canary.len() <= 64);
    for (a, c) in CANARY.iter().zip(canary) {
        a.store(*c, Ordering::Relaxed);
    }
    CANARY_LEN.store(canary.len(), Ordering::SeqCst);
    HITS.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    HITS.load(Ordering::SeqCst)
}

fn tag() -> String {
    (0..8).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

#[test]
fn a_json_value_with_escapes_leaves_no_freed_copy() {
    let t = tag();
    // The value as the vault holds it, and as JSON writes it (escaped): serde_json unescaped it
    // into its scratch buffer, freed unwiped.
    let value = format!("val-{t}-\"q\"\\n");
    let literal = serde_json::to_string(&value).unwrap();
    for doc in [format!(r#"{{"kv":{{"K":{literal}}}}}"#), format!(r#"{{"K":{literal},"L":"x"}}"#)] {
        let doc = Zeroizing::new(doc.into_bytes());
        let hits = freed_copies(value.as_bytes(), || {
            let data = decode_payload(&doc, None, "prod").unwrap();
            assert_eq!(data.kv.get("K").map(|v| v.as_str()), Some(value.as_str()));
            drop(data);
        });
        assert_eq!(hits, 0, "a freed block held the unescaped value ({})", String::from_utf8_lossy(&doc));
    }
}

#[test]
fn zip_values_and_assets_leave_no_freed_copy() {
    let t = tag();
    let value = format!("zipval-{t}");
    let asset = format!("zipasset-{t}").repeat(1000); // 18 KB: several reads, a regrown buffer
    let zip = encode_zip_payload("vault/", "prod", &format!("A={value}\nB=2\n"), &[("f.txt", asset.as_bytes())]);
    for canary in [value.as_bytes(), &asset.as_bytes()[..40]] {
        let plain = Zeroizing::new(zip.clone());
        let hits = freed_copies(canary, || {
            let data = decode_payload(&plain, None, "prod").unwrap();
            assert_eq!(data.kv.get("A").map(|v| v.as_str()), Some(value.as_str()));
            assert_eq!(data.assets.get("f.txt").map(|a| a.len()), Some(asset.len()));
            drop(data);
        });
        assert_eq!(hits, 0, "a freed block held zip plaintext ({})", String::from_utf8_lossy(canary));
    }
}

#[test]
fn a_json_asset_leaves_no_freed_copy() {
    let t = tag();
    let asset = format!("asset-{t}").repeat(100);
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, asset.as_bytes());
    let doc = Zeroizing::new(format!(r#"{{"assets":{{"a":"{b64}"}}}}"#).into_bytes());
    let hits = freed_copies(&asset.as_bytes()[..40], || {
        let data = decode_payload(&doc, None, "prod").unwrap();
        assert_eq!(data.assets.get("a").map(|a| a.len()), Some(asset.len()));
        drop(data);
    });
    assert_eq!(hits, 0);
}

#[test]
fn the_key_derivation_leaves_no_secret_on_the_stack() {
    let pass = format!("pw-{}", tag());
    let salt = "0123456789abcdef";
    // HMAC keys shorter than a block are zero-padded, then XORed with 0x36 (ipad) and 0x5c (opad).
    let xor = |b: u8| pass.bytes().map(|c| c ^ b).collect::<Vec<u8>>();
    let mut forms =
        vec![("raw passphrase", pass.as_bytes().to_vec()), ("XOR ipad", xor(0x36)), ("XOR opad", xor(0x5c))];
    forms.push(("derived key", derive_key(&pass, salt, 1000).to_vec()));
    let below = std::thread::spawn(move || {
        // Everything the read needs is set up first, so that only the `pread` call's own small
        // frames land in the area the derivation used.
        let mem = std::fs::File::open("/proc/self/mem").unwrap();
        let mut below = vec![0u8; 64 << 10];
        let marker = 0u8;
        let here = std::hint::black_box(&marker) as *const u8 as u64;
        let key = derive_key_boxed(&pass, salt, 1000);
        // The kernel copies the stack area below this frame (minus the 1 KiB `read_at` may use):
        // a plain read of our own memory, not a Rust access to dead stack slots.
        mem.read_at(&mut below, here - (64 << 10) - 1024).unwrap();
        std::hint::black_box(&key);
        below
    })
    .join()
    .unwrap();
    for (what, form) in &forms {
        assert!(!contains(&below, form), "the {what} is left on the KDF thread's stack");
    }
}
