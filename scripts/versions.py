#!/usr/bin/env python3
"""One version for every package: the workspace Cargo.toml's [workspace.package] version.

    scripts/versions.py get   [ROOT]          print it
    scripts/versions.py check [ROOT]          fail (exit 1) naming every file that disagrees
    scripts/versions.py set X.Y.Z [ROOT]      write it everywhere (scripts/set-version.sh)

Where the version is spelled, and how each follows the workspace:
  - every crate: `version.workspace = true`;
  - Python: pyproject.toml `dynamic = ["version"]` (maturin takes Cargo's), `__version__` comes
    from the native module (env!("CARGO_PKG_VERSION")), so neither spells it;
  - Node: bindings/node/package.json, package-lock.json and every platform package under
    bindings/node/npm/*/package.json (their optionalDependencies are written at dist time);
  - the CLI (cli/Cargo.toml is a crate like the others): cli/pyproject.toml `dynamic = ["version"]`
    (the vsync-cli wheel takes Cargo's), the npm launcher cli/npm/vsync-cli/package.json and every
    platform package under cli/npm/*/package.json (the launcher's optionalDependencies are
    written at dist time);
  - Java: the project version of each pom in POMS (the library, the Spring artifact, the Boot 3.5
    test module, the reactor); the Spring poms name the library as ${project.version};
  - Go: the release tag bindings/go/vX.Y.Z, made at dist/release time from this version;
  - the install lines of README.md and bindings/java/README.md that name a version.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# README lines that carry the version: the Maven <version> of our artifact, Gradle coordinates,
# `go get ...@vX.Y.Z`.
README_PATTERNS = [
    re.compile(r"(<artifactId>vsync-s3-client</artifactId>\s*<version>)([^<]+)(</version>)"),
    re.compile(r"(io\.github\.muthuishere:vsync-s3-client:)([0-9A-Za-z.+-]+)"),
    re.compile(r"(<artifactId>vsync-s3-client-spring</artifactId>\s*<version>)([^<]+)(</version>)"),
    re.compile(r"(io\.github\.muthuishere:vsync-s3-client-spring:)([0-9A-Za-z.+-]+)"),
    re.compile(r"(github\.com/muthuishere/vsync-s3-client/bindings/go@v)([0-9A-Za-z.+-]+)"),
]
READMES = ["README.md", "bindings/java/README.md"]
# Every Maven project of bindings/java and its artifactId (the first <version> after it is the
# project's own).
POMS = {
    "bindings/java/pom.xml": "vsync-s3-client",
    "bindings/java/spring/pom.xml": "vsync-s3-client-spring",
    "bindings/java/spring/boot3/pom.xml": "vsync-s3-client-spring-boot3-tests",
    "bindings/java/reactor/pom.xml": "vsync-java-reactor",
}


def workspace_version(root: Path) -> str:
    with open(root / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


def crate_manifests(root: Path) -> list[Path]:
    with open(root / "Cargo.toml", "rb") as f:
        members = tomllib.load(f)["workspace"]["members"]
    return [root / m / "Cargo.toml" for m in members]


def node_manifests(root: Path) -> list[Path]:
    node = root / "bindings/node"
    cli = root / "cli/npm"
    return [node / "package.json", *sorted((node / "npm").glob("*/package.json")), *sorted(cli.glob("*/package.json"))]


# Python projects whose version maturin takes from Cargo.toml.
PYPROJECTS = ["bindings/python/pyproject.toml", "cli/pyproject.toml"]


def pom_version(pom: Path) -> str | None:
    el = ET.parse(pom).getroot().find("m:version", POM_NS)
    return None if el is None else (el.text or "").strip()


def check(root: Path) -> list[str]:
    v = workspace_version(root)
    problems: list[str] = []
    if not SEMVER.match(v):
        problems.append(f"Cargo.toml: workspace version {v!r} is not X.Y.Z")
    for manifest in crate_manifests(root):
        with open(manifest, "rb") as f:
            pkg = tomllib.load(f)["package"]
        if pkg.get("version") != {"workspace": True}:
            problems.append(f"{manifest.relative_to(root)}: version must be `version.workspace = true`")
    for pyproject in PYPROJECTS:
        with open(root / pyproject, "rb") as f:
            project = tomllib.load(f)["project"]
        if "version" in project or "version" not in project.get("dynamic", []):
            problems.append(f'{pyproject}: [project] must say dynamic = ["version"] and no version')
    init = (root / "bindings/python/python/vsync_s3_client/__init__.py").read_text()
    if "__version__: str = _native.__version__" not in init:
        problems.append("bindings/python/python/vsync_s3_client/__init__.py: __version__ must be _native.__version__")
    for pj in node_manifests(root):
        got = json.loads(pj.read_text()).get("version")
        if got != v:
            problems.append(f"{pj.relative_to(root)}: version {got!r} != {v!r}")
    lock = root / "bindings/node/package-lock.json"
    if lock.exists():
        data = json.loads(lock.read_text())
        for where, got in (
            ("version", data.get("version")),
            ('packages[""].version', data["packages"][""].get("version")),
        ):
            if got != v:
                problems.append(f"bindings/node/package-lock.json: {where} {got!r} != {v!r}")
    for pom in POMS:
        got = pom_version(root / pom)
        if got != v:
            problems.append(f"{pom}: project version {got!r} != {v!r}")
    for readme in READMES:
        text = (root / readme).read_text()
        for pat in README_PATTERNS:
            for m in pat.finditer(text):
                if m.group(2) != v:
                    problems.append(f"{readme}: {m.group(0)!r} names {m.group(2)!r}, not {v!r}")
    return problems


def set_version(root: Path, v: str) -> None:
    if not SEMVER.match(v):
        sys.exit(f"set-version: {v!r} is not X.Y.Z")
    cargo = root / "Cargo.toml"
    text = cargo.read_text()
    new, n = re.subn(
        r'(\[workspace\.package\][^\[]*?\nversion = ")[^"]*(")', lambda m: m.group(1) + v + m.group(2), text, count=1
    )
    if n != 1:
        sys.exit("set-version: no version in [workspace.package] of Cargo.toml")
    cargo.write_text(new)
    for pj in node_manifests(root):
        data = json.loads(pj.read_text())
        data["version"] = v
        pj.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    lock = root / "bindings/node/package-lock.json"
    if lock.exists():
        data = json.loads(lock.read_text())
        data["version"] = v
        data["packages"][""]["version"] = v
        lock.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    for pom_name, artifact in POMS.items():
        pom = root / pom_name
        text = pom.read_text()
        new, n = re.subn(
            rf"(<artifactId>{re.escape(artifact)}</artifactId>\s*(?:<[^>]+>[^<]*</[^>]+>\s*)?<version>)[^<]*(</version>)",
            lambda m: m.group(1) + v + m.group(2),
            text,
            count=1,
        )
        if n != 1:
            sys.exit(f"set-version: no project version in {pom_name}")
        pom.write_text(new)
    for readme in READMES:
        p = root / readme
        text = p.read_text()
        for pat in README_PATTERNS:
            text = pat.sub(lambda m: m.group(1) + v + (m.group(3) if m.re.groups >= 3 else ""), text)
        p.write_text(text)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("get", "check", "set"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "set":
        if len(argv) < 3:
            print("usage: versions.py set X.Y.Z [ROOT]", file=sys.stderr)
            return 2
        root = Path(argv[3] if len(argv) > 3 else Path(__file__).resolve().parent.parent)
        set_version(root, argv[2])
        problems = check(root)
    else:
        root = Path(argv[2] if len(argv) > 2 else Path(__file__).resolve().parent.parent)
        if cmd == "get":
            print(workspace_version(root))
            return 0
        problems = check(root)
    for p in problems:
        print(f"version drift: {p}", file=sys.stderr)
    if problems:
        return 1
    if cmd == "check":
        print(
            f"one version: {workspace_version(root)} (Cargo.toml, pyproject x{len(PYPROJECTS)},"
            f" package.json x{len(node_manifests(root))}, pom.xml x{len(POMS)}, READMEs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
