"""The other direction of interoperability: a vault that our CLI pushed, read the way the vsync
family's runtime libraries read it.

The reader below is written from SPEC §2, §3, §5 and §6 only, with no code of ours: boto3 for S3,
`hashlib` for PBKDF2, the `cryptography` package for AES-GCM, and — the step that matters — one
`json.loads` of the whole decrypted bundle, keeping `kv` and `assets` and ignoring every other
member, as the family's readers do. A bundle that is not bare JSON (for example one wrapped in an
RQEM0001 seal) fails here exactly as it fails in the family's libraries.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import vsync_s3_client
from botocore.config import Config as BotoConfig
from conftest import S3, cli
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Every value shape the issue names: unicode, "=" inside a value, the empty string.
KV = {
    "DATABASE_URL": "postgres://app:pa=ss@db:5432/app?sslmode=require",
    "GREETING": "héllo wörld ✓ — 日本語 🔑",
    "EMPTY": "",
    "EQUALS_ONLY": "==",
    "API_TOKEN": "tok-123",
}
ASSETS = {
    "tls/ca.pem": b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
    "keystore.p12": bytes(range(256)),
    "empty.bin": b"",
}


@dataclass
class FamilyVault:
    ts: str
    kv: dict[str, str]
    assets: dict[str, bytes]
    document: dict[str, Any]


def decode_config(blob: str) -> dict[str, Any]:
    """SPEC §2: `vsync-cfg-v1:` + unpadded base64url of a gzip of the JSON object."""
    body = blob.strip()
    assert body.startswith("vsync-cfg-v1:"), "not a vsync-cfg-v1 runtime token"
    body = body[len("vsync-cfg-v1:") :]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    config = json.loads(gzip.decompress(raw))
    assert config["v"] == 1
    return config


def open_rqe1(envelope: bytes, passphrase: str, salt: str, iterations: int) -> bytes:
    """SPEC §3: RQE1 | 12-byte nonce | AES-256-GCM ciphertext and tag; the key is PBKDF2-SHA256 of
    the passphrase's UTF-8 bytes with the salt string's UTF-8 bytes (never base64-decoded)."""
    assert envelope[:4] == b"RQE1"
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt.encode("utf-8"), iterations, 32)
    return AESGCM(key).decrypt(envelope[4:16], envelope[16:], None)


def family_read(blob: str, passphrase: str) -> FamilyVault:
    """Fetch the runtime layout (SPEC §5) and parse the bundle as the family does."""
    config = decode_config(blob)
    s3 = boto3.client(
        "s3",
        endpoint_url=config["endpoint"],
        region_name=config["region"],
        aws_access_key_id=config["accessKeyId"],
        aws_secret_access_key=config["secretAccessKey"],
        config=BotoConfig(s3={"addressing_style": "path"}),
    )

    def get(name: str) -> bytes:
        return s3.get_object(Bucket=config["bucket"], Key=config["prefix"] + name)["Body"].read()

    manifest = get("manifest")
    assert manifest[:8] == b"RQEM0001", "the manifest is an RQEM0001 seal (SPEC §4)"
    ts = manifest[8:23].decode("ascii")
    plaintext = open_rqe1(get(f"v={ts}"), passphrase, config["salt"], config["iterations"])
    # The family's whole parsing step: the plaintext is one JSON object.
    document = json.loads(plaintext)
    kv = document.get("kv", {})
    assets = {name: base64.b64decode(b64, validate=True) for name, b64 in document.get("assets", {}).items()}
    return FamilyVault(ts, kv, assets, document)


def assert_reads_back(vault: FamilyVault, gen: int) -> None:
    assert vault.kv == KV
    assert list(vault.kv) == list(KV), "the family's listing keeps the pushed order"
    assert vault.assets == ASSETS
    # Our anti-rollback binding lives in a member the family's readers skip (SPEC §4, §5): the
    # timestamp, extended (not replaced) by the generation.
    assert vault.document["seal"] == {"ts": vault.ts, "gen": gen}
    assert set(vault.document) == {"kv", "assets", "seal"}


def test_a_pushed_vault_opens_in_the_family_reader(new_vault) -> None:
    pushed = new_vault(KV, ASSETS)
    got = family_read(pushed.config, pushed.passphrase)
    assert_reads_back(got, gen=1)
    # And our own reader agrees with it, value for value.
    with vsync_s3_client.open_with(pushed.config, pushed.passphrase) as ours:
        assert ours.keys() == list(got.kv)
        assert {k: ours.get_env(k) for k in KV} == got.kv
        assert {name: ours.get_as_content(name) for name in ASSETS} == got.assets


def test_a_rotated_vault_opens_in_the_family_reader(s3: S3, new_vault, tmp_path: Path) -> None:
    pushed = new_vault(KV, ASSETS)
    new_pass = tmp_path / "new-pass"
    new_pass.write_text("the new passphrase ✓")
    new_pass.chmod(0o600)
    out = cli(
        s3,
        "rotate-passphrase",
        "--config",
        pushed.config,
        "--passphrase-file",
        str(pushed.dir / "pass"),
        "--new-passphrase-file",
        str(new_pass),
    )
    assert out.startswith("rotated gen=2 ts="), out
    got = family_read(pushed.config, "the new passphrase ✓")
    assert out.strip().endswith(f"ts={got.ts}")
    assert_reads_back(got, gen=2)
