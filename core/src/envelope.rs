//! The two binary wrappers: `RQE1` (AES-256-GCM envelope, SPEC §3) and `RQEM0001` (the
//! timestamped manifest seal, SPEC §4), plus the PBKDF2 key derivation.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const RQE1_MAGIC: &[u8; 4] = b"RQE1";
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
pub const HEADER_LEN: usize = 4 + NONCE_LEN;
pub const MIN_ENVELOPE_LEN: usize = HEADER_LEN + TAG_LEN;

pub const RQEM_MAGIC: &[u8; 8] = b"RQEM0001";
pub const TS_LEN: usize = 15;
pub const RQEM_HEADER_LEN: usize = 8 + TS_LEN;

/// A derived AES-256 key, wiped when dropped.
pub type Key = Zeroizing<[u8; 32]>;

/// PBKDF2-HMAC-SHA256 of the passphrase's UTF-8 bytes with the salt *string's* UTF-8 bytes
/// (never base64-decoded: SPEC §2's load-bearing convention).
pub fn derive_key(passphrase: &str, salt: &str, iterations: u32) -> Key {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2_into(passphrase.as_bytes(), salt.as_bytes(), iterations, &mut key);
    // HMAC builds its key block (the passphrase, padded) and per-iteration states on the stack
    // and does not wipe them; a thread's stack outlives the call (issue 12 #9). The frames of
    // `pbkdf2_into` were below this one: overwrite that region now that it is done.
    scrub_stack();
    key
}

/// [`derive_key`] into a heap allocation that is never moved, only its pointer: a `Key` returned
/// by value is copied on every move (out of the KDF thread, through `join`, into the caller),
/// and each moved-from copy stays behind unwiped. `open()` derives its key this way.
pub fn derive_key_boxed(passphrase: &str, salt: &str, iterations: u32) -> Box<Key> {
    let mut key = Box::new(Zeroizing::new([0u8; 32]));
    pbkdf2_into(passphrase.as_bytes(), salt.as_bytes(), iterations, &mut key);
    scrub_stack();
    key
}

#[inline(never)]
fn pbkdf2_into(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8; 32]) {
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out);
}

/// How much stack below the caller `scrub_stack` overwrites: far more than the key derivation
/// and AES-GCM frames use (a few KiB), far less than any thread's stack.
const SCRUB_BYTES: usize = 32 << 10;

/// Overwrite the stack area below the caller's frame with zeros (volatile writes, so the
/// compiler keeps them): what a just-returned callee left there is gone.
#[inline(never)]
pub(crate) fn scrub_stack() {
    use zeroize::Zeroize;
    let mut area = [0u8; SCRUB_BYTES];
    area.zeroize();
    std::hint::black_box(&area);
}

/// Open an RQE1 envelope, with SPEC §3's checks in order.
pub fn open_envelope(key: &Key, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let out = open_envelope_inner(key, envelope);
    // The AES key schedule (which starts with the key itself) lived in the callee's frames.
    scrub_stack();
    out
}

#[inline(never)]
fn open_envelope_inner(key: &Key, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    check_envelope_header(envelope)?;
    let cipher = Aes256Gcm::new_from_slice(&key[..]).map_err(|_| Error::wrong_passphrase())?;
    let nonce = Nonce::try_from(&envelope[4..HEADER_LEN]).map_err(|_| Error::corrupt("bad RQE1 nonce"))?;
    cipher.decrypt(&nonce, &envelope[HEADER_LEN..]).map(Zeroizing::new).map_err(|_| Error::wrong_passphrase())
}

/// The header checks alone (length, magic, version byte): cheap, done before any key exists so
/// a corrupt object is reported as corrupt, not as a wrong passphrase.
pub fn check_envelope_header(envelope: &[u8]) -> Result<()> {
    if envelope.len() < MIN_ENVELOPE_LEN {
        return Err(Error::corrupt(format!(
            "the bundle is {} bytes, shorter than the smallest RQE1 envelope ({MIN_ENVELOPE_LEN}); the object is truncated, push again",
            envelope.len()
        )));
    }
    if &envelope[..3] != b"RQE" {
        return Err(Error::corrupt(
            "the bundle does not start with the RQE1 magic; it is not a vsync bundle, push again",
        ));
    }
    if envelope[3] != b'1' {
        return Err(Error::spec_version(format!(
            "the bundle is envelope version RQE{}; this library reads RQE1, upgrade it",
            printable(envelope[3])
        )));
    }
    Ok(())
}

/// Encrypt into an RQE1 envelope with a fresh random nonce.
#[cfg(feature = "writer")]
pub fn seal_envelope(key: &Key, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    seal_envelope_with_nonce(key, plaintext, nonce)
}

/// Encrypt with a caller-chosen nonce. Only for deterministic corpora and tests: reusing a nonce
/// with the same key breaks AES-GCM, which is why `seal_envelope` is the default.
#[cfg(feature = "writer")]
pub fn seal_envelope_with_nonce(key: &Key, plaintext: &[u8], nonce: [u8; NONCE_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MIN_ENVELOPE_LEN + plaintext.len());
    out.extend_from_slice(RQE1_MAGIC);
    out.extend_from_slice(&nonce);
    // AES-GCM encryption only fails for plaintexts over 64 GiB, which we never build.
    if let Ok(key) = Aes256Gcm::new_from_slice(&key[..]) {
        if let Ok(ct) = key.encrypt(&Nonce::from(nonce), plaintext) {
            out.extend_from_slice(&ct);
        }
    }
    out
}

/// Unwrap an RQEM0001 seal: returns (embedded timestamp, payload). When `expected_ts` is given
/// (the timestamp the pointer named), a different embedded timestamp is a rollback: refused.
pub fn unseal_manifest<'a>(sealed: &'a [u8], expected_ts: Option<&str>) -> Result<(&'a str, &'a [u8])> {
    if sealed.len() < RQEM_HEADER_LEN {
        return Err(Error::corrupt(format!(
            "the manifest seal is {} bytes, shorter than its {RQEM_HEADER_LEN}-byte header; push again",
            sealed.len()
        )));
    }
    if &sealed[..4] != b"RQEM" {
        return Err(Error::corrupt("the manifest does not start with RQEM; it is not a vsync manifest, push again"));
    }
    if &sealed[4..8] != b"0001" {
        if sealed[4..8].iter().all(u8::is_ascii_digit) {
            return Err(Error::spec_version(format!(
                "the manifest is seal version RQEM{}; this library reads RQEM0001, upgrade it",
                String::from_utf8_lossy(&sealed[4..8])
            )));
        }
        return Err(Error::corrupt("the manifest magic is not RQEM followed by four digits; push again"));
    }
    let ts_bytes = &sealed[8..RQEM_HEADER_LEN];
    let ts = std::str::from_utf8(ts_bytes)
        .ok()
        .filter(|_| ts_bytes.is_ascii())
        .ok_or_else(|| Error::corrupt("the manifest timestamp is not ASCII; push again"))?;
    if let Some(expected) = expected_ts {
        if ts != expected {
            return Err(seal_mismatch(ts, expected));
        }
    }
    Ok((ts, &sealed[RQEM_HEADER_LEN..]))
}

/// A bundle bound to another timestamp than the pointer names (an RQEM0001 wrapper's or a JSON
/// bundle's `seal.ts`): the one message for both.
pub fn seal_mismatch(sealed_ts: &str, pointer_ts: &str) -> Error {
    Error::corrupt(format!(
        "the bundle is sealed at {sealed_ts} but the pointer names {pointer_ts}: the pointer was \
         rolled back or the bucket was tampered with; push again and audit bucket access"
    ))
}

/// Seal a payload under a timestamp. The timestamp must be 15 ASCII characters
/// (`YYYYMMDD-HHmmss`); anything else is refused so a writer cannot produce an unreadable seal.
#[cfg(feature = "writer")]
pub fn seal_manifest(ts: &str, payload: &[u8]) -> Result<Vec<u8>> {
    if ts.len() != TS_LEN || !ts.is_ascii() {
        return Err(Error::corrupt(format!("manifest timestamp {ts:?} is not 15 ASCII characters (YYYYMMDD-HHmmss)")));
    }
    let mut out = Vec::with_capacity(RQEM_HEADER_LEN + payload.len());
    out.extend_from_slice(RQEM_MAGIC);
    out.extend_from_slice(ts.as_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn key() -> Key {
        derive_key("pw", "0123456789abcdefXYZ", 1000)
    }

    #[test]
    fn envelope_round_trip_and_checks() {
        let env = seal_envelope(&key(), b"hello");
        assert_eq!(env.len(), MIN_ENVELOPE_LEN + 5);
        assert_eq!(&open_envelope(&key(), &env).map(|p| p.to_vec()).ok(), &Some(b"hello".to_vec()));
        let other = derive_key("pw2", "0123456789abcdefXYZ", 1000);
        assert_eq!(open_envelope(&other, &env).map(|_| ()).unwrap_err().kind(), ErrorKind::WrongPassphrase);
        let mut bad = env.clone();
        bad[3] = b'2';
        assert_eq!(open_envelope(&key(), &bad).unwrap_err().kind(), ErrorKind::UnsupportedSpecVersion);
        bad[0] = b'X';
        assert_eq!(open_envelope(&key(), &bad).unwrap_err().kind(), ErrorKind::BundleCorrupt);
        assert_eq!(open_envelope(&key(), &env[..31]).unwrap_err().kind(), ErrorKind::BundleCorrupt);
        let mut tampered = env.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(open_envelope(&key(), &tampered).unwrap_err().kind(), ErrorKind::WrongPassphrase);
        // Empty plaintext is the smallest valid envelope.
        let empty = seal_envelope(&key(), b"");
        assert_eq!(empty.len(), 32);
        assert!(open_envelope(&key(), &empty).is_ok_and(|p| p.is_empty()));
    }

    #[test]
    fn manifest_seal_rules() {
        let sealed = seal_manifest("20260429-103045", b"{}").unwrap_or_default();
        assert_eq!(unseal_manifest(&sealed, Some("20260429-103045")).ok(), Some(("20260429-103045", &b"{}"[..])));
        assert_eq!(unseal_manifest(&sealed, Some("20260101-000000")).unwrap_err().kind(), ErrorKind::BundleCorrupt);
        let mut v2 = sealed.clone();
        v2[7] = b'2';
        assert_eq!(unseal_manifest(&v2, None).unwrap_err().kind(), ErrorKind::UnsupportedSpecVersion);
        v2[7] = b'x';
        assert_eq!(unseal_manifest(&v2, None).unwrap_err().kind(), ErrorKind::BundleCorrupt);
        assert_eq!(unseal_manifest(b"RQEM0001", None).unwrap_err().kind(), ErrorKind::BundleCorrupt);
        assert!(seal_manifest("bad", b"").is_err());
    }
}
