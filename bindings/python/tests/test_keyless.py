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
import subprocess
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import boto3
import pytest
import vsync_s3_client
from conftest import REPO, S3, Pushed, in_a_fork, push, runtime_token, salt_of
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


Request = Tuple[str, str, Dict[str, str], str]  # method, path, headers, body
Handler = Callable[[Request], Tuple[int, str]]


class Loopback:
    """An HTTP server on 127.0.0.1 answering with `handler` (a credentials endpoint: container,
    IMDS, STS) and the response `headers`; records every request."""

    def __init__(self, handler: Handler, headers: Optional[Dict[str, str]] = None) -> None:
        self.requests: List[Request] = []
        outer = self

        class Http(BaseHTTPRequestHandler):
            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                req = (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                outer.requests.append(req)
                status, text = handler(req)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = answer  # noqa: N815 (http.server's names)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Http)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def credentials_json(s3: S3, token: str, token_field: str = "Token", **extra: object) -> str:
    """The dev server's keys with `token`, as container, IMDS and `credential_process` answer
    (the last names the session token `SessionToken`)."""
    fields = {"AccessKeyId": s3.access_key, "SecretAccessKey": s3.secret_key, token_field: token}
    return json.dumps({**extra, **fields, "Expiration": in_an_hour()})


class ContainerCredentials(Loopback):
    """A loopback container-credentials endpoint (ECS / EKS Pod Identity); `auth_seen` lists the
    Authorization header of every request."""

    def __init__(self, s3: S3, token: str, require_auth: str = "") -> None:
        def answer(req: Request) -> Tuple[int, str]:
            if require_auth and req[2].get("authorization", "") != require_auth:
                return 401, ""
            return 200, credentials_json(s3, token)

        super().__init__(answer)

    @property
    def auth_seen(self) -> List[str]:
        return [headers.get("authorization", "") for _, _, headers, _ in self.requests]

    @property
    def container_url(self) -> str:
        return self.url("/v2/credentials")


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
        chain_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.container_url)
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
        chain_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.container_url)
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


def test_profile_file_of_aws_profile_signs(s3: S3, new_vault, chain_env, tmp_path: Path) -> None:
    vault = new_vault(KV)
    token = f"py-profile-{uuid.uuid4().hex}"
    profiles = (
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
        f"[reader]\naws_access_key_id = {s3.access_key}\naws_secret_access_key = {s3.secret_key}\n"
        f"aws_session_token = {token}\n"
    )
    select_profile(chain_env, tmp_path / "credentials", profiles, "reader")
    opens_signed_with(s3, vault, token)


def test_credential_process_signs(s3: S3, new_vault, chain_env, tmp_path: Path) -> None:
    vault = new_vault(KV)
    token = f"py-process-{uuid.uuid4().hex}"
    (tmp_path / "creds.json").write_text(credentials_json(s3, token, "SessionToken", Version=1))
    select_profile(
        chain_env,
        tmp_path / "config",
        f"[profile helper]\ncredential_process = cat {tmp_path / 'creds.json'}\n",
        "helper",
    )
    opens_signed_with(s3, vault, token)


def test_web_identity_through_sts_signs(s3: S3, new_vault, chain_env, tmp_path: Path) -> None:
    vault = new_vault(KV)
    token = f"py-web-identity-{uuid.uuid4().hex}"
    sts = Loopback(
        lambda req: (
            200,
            '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{s3.access_key}</AccessKeyId>"
            f"<SecretAccessKey>{s3.secret_key}</SecretAccessKey><SessionToken>{token}</SessionToken>"
            f"<Expiration>{in_an_hour()}</Expiration></Credentials><AssumedRoleUser>"
            "<Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>"
            "</AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
            "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
        )
    )
    try:
        (tmp_path / "jwt").write_text("the-projected-service-account-jwt")
        chain_env.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "jwt"))
        chain_env.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/reader")
        chain_env.setenv("AWS_ENDPOINT_URL_STS", sts.url())
        opens_signed_with(s3, vault, token)
        assert len(sts.requests) == 1
        body = sts.requests[0][3]
        assert (
            "Action=AssumeRoleWithWebIdentity" in body and "WebIdentityToken=the-projected-service-account-jwt" in body
        )
    finally:
        sts.close()


class Moto:
    """moto (S3, IAM and STS at one loopback endpoint; $VSYNC_MOTO_SERVER, installed by the test
    scripts), checking no signature until `authenticate_after(n)`: from then on it checks each
    request as AWS does (an IAM or STS-issued key, its SigV4 signature, the session token STS
    issued with it, the role's policy)."""

    def __init__(self) -> None:
        port = refused_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        server = os.environ.get("VSYNC_MOTO_SERVER", "moto_server")
        self.process = subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None, "moto_server exited before it listened"
                assert time.monotonic() < deadline, "moto_server did not listen within 60 s"
                time.sleep(0.05)
        # While moto checks nothing, any keys do for the set-up.
        keys = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup", "region_name": "us-east-1"}
        self.iam = boto3.client("iam", endpoint_url=self.endpoint, **keys)
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, **keys)

    def create_role(self, name: str, policy: str) -> str:
        """A role web identity may assume, with `policy` inline; its ARN."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                }
            ],
        }
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="vsync-reader", PolicyDocument=policy)
        return str(arn)

    def authenticate_after(self, n: int) -> None:
        """Check every request from the n-th next one on. n = 1 lets exactly STS's
        AssumeRoleWithWebIdentity through unchecked: AWS takes it unsigned, moto would not."""
        req = urllib.request.Request(
            self.endpoint + "/moto-api/reset-auth", data=str(n).encode(), headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(req).read()

    def assumed_roles(self) -> List[str]:
        data = json.loads(urllib.request.urlopen(self.endpoint + "/moto-api/data.json").read())
        return [r["role_arn"] for r in data["sts"]["AssumedRole"]]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def readme_reader_policy(bucket: str, prefix: str) -> str:
    """The reader's IAM policy exactly as README.md's trust section shows it."""
    blocks = [b.split("```")[0] for b in (REPO / "README.md").read_text().split("```json\n")[1:]]
    policy = next(b for b in blocks if "s3:GetObject" in b)
    return policy.replace("<bucket>", bucket).replace("<prefix>", prefix)


def test_web_identity_through_moto_sts_signs_and_the_role_policy_decides(
    s3: S3, chain_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """moto is STS and the store: the read succeeds only if signed with the secret and session
    token STS issued for the role, and only as far as the README's policy allows."""
    moto = Moto()
    try:
        moto.s3.create_bucket(Bucket="vault")
        reader = moto.create_role("reader", readme_reader_policy("vault", "app/"))
        elsewhere = moto.create_role("elsewhere", readme_reader_policy("vault", "other-app/"))
        store = S3(moto.endpoint, "writer", "writer-secret", "vault", s3.vsync_bin)
        (tmp_path / "pass").write_text("moto pass phrase")
        os.chmod(tmp_path / "pass", 0o600)
        vault = Pushed(runtime_token(store, "app/"), "moto pass phrase", "app/", tmp_path)
        assert push(store, vault, KV).startswith("pushed gen=1 ")
        keyless = runtime_token(store, "app/", salt=salt_of(vault.config), ambient=True)
        (tmp_path / "jwt").write_text("the-projected-service-account-jwt")
        chain_env.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "jwt"))
        chain_env.setenv("AWS_ENDPOINT_URL_STS", moto.endpoint)

        chain_env.setenv("AWS_ROLE_ARN", reader)
        moto.authenticate_after(1)
        with vsync_s3_client.open_with(keyless, vault.passphrase) as v:
            assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]
        assert moto.assumed_roles() == [reader]

        chain_env.setenv("AWS_ROLE_ARN", elsewhere)
        moto.authenticate_after(1)
        with pytest.raises(S3UnreachableError) as info:
            vsync_s3_client.open_with(keyless, vault.passphrase)
        assert "(403 AccessDenied) to the credentials of web identity" in str(info.value)
        assert "s3:GetObject" in str(info.value)
        assert moto.assumed_roles() == [reader, elsewhere]
    finally:
        moto.close()


def test_imds_v2_signs(s3: S3, new_vault, chain_env) -> None:
    vault = new_vault(KV)
    token = f"py-imds-{uuid.uuid4().hex}"

    def imds(req: Request) -> Tuple[int, str]:
        method, path, headers, _ = req
        if (method, path) == ("PUT", "/latest/api/token"):
            return 200, "imds-session-token"
        if headers.get("x-aws-ec2-metadata-token") != "imds-session-token":
            return 401, ""
        if path == "/latest/meta-data/iam/security-credentials/":
            return 200, "reader-role"
        if path == "/latest/meta-data/iam/security-credentials/reader-role":
            return 200, credentials_json(s3, token, Code="Success", Type="AWS-HMAC")
        return 404, ""

    # The SDK refuses a session token without its lifetime.
    server = Loopback(imds, headers={"x-aws-ec2-metadata-token-ttl-seconds": "21600"})
    try:
        chain_env.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url())
        opens_signed_with(s3, vault, token)
        assert server.requests[0][:2] == ("PUT", "/latest/api/token")
    finally:
        server.close()


def select_profile(env: pytest.MonkeyPatch, path: Path, content: str, profile: str) -> None:
    """AWS_PROFILE=`profile` from `content` written at `path`: a `config` file (AWS_CONFIG_FILE) or a
    `credentials` file (AWS_SHARED_CREDENTIALS_FILE)."""
    path.write_text(content)
    env.setenv("AWS_CONFIG_FILE" if path.name == "config" else "AWS_SHARED_CREDENTIALS_FILE", str(path))
    env.setenv("AWS_PROFILE", profile)


def opens_signed_with(s3: S3, vault, token: str) -> None:
    """The keyless token of `vault` opens, and every S3 request carried the dev server's key id
    with `token` (the manifest and the bundle at least)."""
    keyless = keyless_token(s3, vault.prefix, salt_of(vault.config))
    with vsync_s3_client.open_with(keyless, vault.passphrase) as v:
        assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]
    lines = signed_with(token)
    assert len(lines) >= 2 and all(line.startswith(s3.access_key + " ") for line in lines), lines
