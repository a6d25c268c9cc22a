"""Keyless runtime tokens ("credentials": "ambient", SPEC §2): the AWS default chain signs the S3
requests. Which credentials signed is read from the dev server's request log
(VSYNC_TEST_REQUEST_LOG: `<access key id> <session token>` per request); each test hands out a
session token of its own."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List

import pytest
import vsync_s3_client
from conftest import S3, in_a_fork, runtime_token, salt_of
from vsync_s3_client import BundleCorruptError, S3UnreachableError

KV = {"DATABASE_URL": "postgres://keyless"}

AWS_VARS = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
]


def refused_port() -> int:
    """A port nobody listens on: the port of a socket just closed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def chain_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Only the variables a test sets take part: the host's own credentials never do."""
    for k in AWS_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{refused_port()}")
    yield monkeypatch


def keyless_token(s3: S3, prefix: str, salt: str) -> str:
    return runtime_token(s3, prefix, salt=salt, ambient=True)


def env_credentials(env: pytest.MonkeyPatch, s3: S3, session_token: str) -> None:
    """The environment source: the dev server's keys with `session_token` (AWS_SESSION_TOKEN)."""
    env.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    env.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    env.setenv("AWS_SESSION_TOKEN", session_token)


def signed_with(token: str) -> List[str]:
    log = Path(os.environ["VSYNC_TEST_REQUEST_LOG"]).read_text()
    return [line for line in log.splitlines() if line.split(" ")[1:2] == [token]]


def in_an_hour() -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


class ContainerCredentials:
    """A loopback container-credentials endpoint (ECS / EKS Pod Identity) handing out the dev
    server's keys with a session token; records the Authorization header of every request."""

    def __init__(self, s3: S3, token: str, require_auth: str = "") -> None:
        self.auth_seen: List[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                auth = self.headers.get("Authorization", "")
                outer.auth_seen.append(auth)
                if require_auth and auth != require_auth:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(
                    {
                        "AccessKeyId": s3.access_key,
                        "SecretAccessKey": s3.secret_key,
                        "Token": token,
                        "Expiration": in_an_hour(),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2/credentials"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_environment_with_session_token_signs(s3: S3, new_vault, chain_env) -> None:
    vault = new_vault(KV)
    token = f"py-env-{uuid.uuid4().hex}"
    env_credentials(chain_env, s3, token)
    keyless = keyless_token(s3, vault.prefix, salt_of(vault.config))
    assert (
        s3.secret_key not in keyless
        and s3.access_key not in json.loads(vsync_s3_client._native.decode_config_json(keyless)).values()
    )
    with vsync_s3_client.open_with(keyless, vault.passphrase) as v:
        assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]
        assert v.remote_generation() == 1
    lines = signed_with(token)
    assert len(lines) == 3 and all(line.startswith(s3.access_key + " ") for line in lines), lines


@pytest.mark.parametrize("with_auth_file", [False, True])
def test_container_credentials_sign(s3: S3, new_vault, chain_env, tmp_path: Path, with_auth_file: bool) -> None:
    vault = new_vault(KV)
    token = f"py-container-{uuid.uuid4().hex}"
    server = ContainerCredentials(s3, token, require_auth="pod-identity-token" if with_auth_file else "")
    try:
        chain_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url)
        if with_auth_file:
            (tmp_path / "auth").write_text("pod-identity-token")
            chain_env.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(tmp_path / "auth"))
        keyless = keyless_token(s3, vault.prefix, salt_of(vault.config))
        with vsync_s3_client.open_with(keyless, vault.passphrase) as v:
            assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]
        assert len(signed_with(token)) == 2
        assert server.auth_seen == (["pod-identity-token"] if with_auth_file else [""])
    finally:
        server.close()


def test_environment_wins_over_container_credentials(s3: S3, new_vault, chain_env) -> None:
    vault = new_vault(KV)
    token = f"py-prec-{uuid.uuid4().hex}"
    server = ContainerCredentials(s3, token + "-container")
    try:
        chain_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url)
        env_credentials(chain_env, s3, token)
        keyless = keyless_token(s3, vault.prefix, salt_of(vault.config))
        with vsync_s3_client.open_with(keyless, vault.passphrase) as v:
            assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]
        assert len(signed_with(token)) == 2
        assert server.auth_seen == [], "the container endpoint was never asked"
    finally:
        server.close()


def test_no_source_is_s3_unreachable_fast_naming_the_sources(s3: S3, new_vault, chain_env) -> None:
    vault = new_vault(KV)
    keyless = keyless_token(s3, vault.prefix, salt_of(vault.config))
    t0 = time.monotonic()
    with pytest.raises(S3UnreachableError) as info:
        vsync_s3_client.open_with(keyless, vault.passphrase)
    assert time.monotonic() - t0 < 2, "a host without any source fails within 2 s"
    for source in ("AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "IMDSv2"):
        assert source in str(info.value)


def test_a_token_that_lost_its_keys_is_refused(s3: S3, new_vault, chain_env) -> None:
    vault = new_vault(KV)
    token = f"py-lost-{uuid.uuid4().hex}"
    env_credentials(chain_env, s3, token)
    cfg = json.loads(vsync_s3_client._native.decode_config_json(vault.config))
    del cfg["accessKeyId"], cfg["secretAccessKey"]
    body = base64.urlsafe_b64encode(gzip.compress(json.dumps(cfg).encode())).rstrip(b"=").decode()
    blob = "vsync-cfg-v1:" + body
    with pytest.raises(BundleCorruptError) as info:
        vsync_s3_client.open_with(blob, vault.passphrase)
    assert "accessKeyId" in str(info.value)
    assert signed_with(token) == [], "the host's credentials were never used"


def test_fork_after_a_keyless_open(s3: S3, new_vault, chain_env) -> None:
    """The chain leaves nothing behind: a child forked after a keyless open reads, and asks the
    chain again for its own calls."""
    vault = new_vault(KV)
    token = f"py-fork-{uuid.uuid4().hex}"
    env_credentials(chain_env, s3, token)
    keyless = keyless_token(s3, vault.prefix, salt_of(vault.config))
    v = vsync_s3_client.open_with(keyless, vault.passphrase)

    def in_the_child() -> List[bool]:
        with vsync_s3_client.open_with(keyless, vault.passphrase) as child:
            return [v.remote_generation() == 1, child.get_env("DATABASE_URL") == KV["DATABASE_URL"]]

    report = in_a_fork(in_the_child)
    assert report == "True,True"
    assert len(signed_with(token)) == 5  # the parent's open (2), the child's HEAD (1) and open (2)
    v.close()
