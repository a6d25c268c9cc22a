"""Benchmarks of the Python binding against the local S3 server (scripts/bench-python.sh).

cold open() (KDF + one S3 round trip), get_env per call next to a dict lookup, import time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path


def cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSYNC_", "AWS_"))}
    return subprocess.run([os.environ["VSYNC_BIN"], *args], env=env, check=True, capture_output=True, text=True).stdout


def push_vault(tmp: Path) -> tuple:
    prefix = f"py-bench-{uuid.uuid4().hex}/"
    token = cli(
        "runtime-token",
        "--endpoint",
        os.environ["VSYNC_TEST_ENDPOINT"],
        "--region",
        "us-east-1",
        "--bucket",
        os.environ["VSYNC_TEST_BUCKET"],
        "--prefix",
        prefix,
        "--env",
        "bench",
        "--access-key-id",
        os.environ["VSYNC_TEST_ACCESS_KEY"],
        "--secret-access-key",
        os.environ["VSYNC_TEST_SECRET_KEY"],
    ).strip()
    (tmp / "pass").write_text("bench passphrase")
    os.chmod(tmp / "pass", 0o600)
    (tmp / ".env").write_text("".join(f"KEY_{i}=value-{i}\n" for i in range(50)) + "DATABASE_URL=postgres://bench\n")
    cli("push", "--config", token, "--passphrase-file", str(tmp / "pass"), "--env-file", str(tmp / ".env"))
    return token, "bench passphrase"


def per_call_ns(stmt: str, globs: dict, number: int = 200_000) -> float:
    best = min(timeit.repeat(stmt, globals=globs, number=number, repeat=5))
    return best / number * 1e9


def main() -> None:
    import vsync_s3_client as vsync

    with tempfile.TemporaryDirectory() as d:
        token, passphrase = push_vault(Path(d))
    os.environ["VSYNC_CONFIG"], os.environ["VSYNC_PASSPHRASE"] = token, passphrase

    opens = []
    for _ in range(10):
        t0 = time.perf_counter()
        h = vsync.open()
        opens.append((time.perf_counter() - t0) * 1000)
        h.close()
    print(
        f"cold open() against the local server: median {statistics.median(opens):.1f} ms, "
        f"min {min(opens):.1f} ms, max {max(opens):.1f} ms (10 runs, PBKDF2 600000 + S3 GET x2)"
    )

    v = vsync.open(defaults={"ONLY_DEFAULT": "d"})
    os.environ["ONLY_ENV"] = "e"
    d = {"DATABASE_URL": "postgres://bench"}
    g = {"v": v, "d": d, "vsync": vsync}
    dict_ns = per_call_ns("d.get('DATABASE_URL')", g)
    rows = [
        ("dict.get (baseline)", dict_ns),
        ("os.environ.get", per_call_ns("os.environ.get('ONLY_ENV')", {"os": os})),
        ("Vsync.get_env, vault hit", per_call_ns("v.get_env('DATABASE_URL')", g)),
        ("Vsync.get_env, env hit", per_call_ns("v.get_env('ONLY_ENV')", g)),
        ("Vsync.get_env, default hit", per_call_ns("v.get_env('ONLY_DEFAULT')", g)),
        ("Vsync.get_env, missing", per_call_ns("v.get_env('NOPE_NOT_SET')", g)),
        ("Vsync.env_source, vault hit", per_call_ns("v.env_source('DATABASE_URL')", g)),
        ("vsync.get_env (module, cached)", per_call_ns("vsync.get_env('DATABASE_URL')", g)),
    ]
    for name, ns in rows:
        print(f"{name:34s} {ns:8.0f} ns/call  ({ns / dict_ns:5.1f}x dict.get)")
    v.close()

    def run(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0

    base = statistics.median(run("pass") for _ in range(10))
    imp = statistics.median(run("import vsync_s3_client") for _ in range(10))
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import vsync_s3_client"], capture_output=True, text=True
    ).stderr
    own = [line for line in out.splitlines() if line.rstrip().endswith("vsync_s3_client")]
    cum = own[-1].split("|")[1].strip() if own else "?"
    print(
        f"import vsync_s3_client: {(imp - base) * 1000:.1f} ms over a bare interpreter start "
        f"({imp * 1000:.0f} vs {base * 1000:.0f} ms, median of 10); -X importtime cumulative {cum} us"
    )


if __name__ == "__main__":
    main()
