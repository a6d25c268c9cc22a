#!/usr/bin/env python3
"""Lists what every shipped artifact exports, and fails on any conformance (test) hook.

Usage:
  scripts/check-exports.py DIST [--lib FILE]... [--report FILE]
  scripts/check-exports.py --self-test

Called by scripts/dist.sh (on the dist/ it just wrote) and scripts/release-check.sh. For each
artifact of DIST (the layout scripts/dist.sh writes) it lists:
  python/*.whl      the extension module's dynamic symbols (nm -D); for a wheel this machine can
                    import, dir() of `vsync_s3_client._native` and of every class in it
  node/*.tgz        each platform package's addon: its dynamic symbols; for this machine's
                    platform, the keys of the loaded addon and of its classes' prototypes, and the
                    keys of the main package loaded with it; every .d.ts entry of the main package
  java/repo/**.jar  the classes (unzip -l) and the Java_* (and other) symbols of each JNI library
  go/proxy/**.zip   the module's files, the functions its headers declare, the top-level names and
                    C calls of its non-test Go files, and each prebuilt libvsync.a's global symbols
  --lib FILE        any other library (the C ABI's libvsync_c.a / .so): global / dynamic symbols

The rule has no allowlist and no exception: a name is a hook when
  1. it contains "testing" in any case (vsync_testing_*, testingDecryptEnvelope, _testing,
     internal.Testing, Java_..._Testing_..., testing_hooks.go), or
  2. it is a Rust path through the core's hooks module (`vsync_core::hooks::...`), or
  3. it is a plain name (not a Rust path) that spells, as whole words in snake_case or camelCase,
     a function of core/src/hooks.rs (decrypt_envelope, unseal, decode_config_json, ...): the
     list is read from that file, so a new hook is covered without editing this script.
Any such name, in any artifact, fails the check (exit 1) and is printed with its artifact.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOOKS_RS = ROOT / "core" / "src" / "hooks.rs"


def hook_names() -> list[list[str]]:
    """The core's hook functions, each as its list of lowercase words."""
    names = re.findall(r"^pub fn (\w+)", HOOKS_RS.read_text(), re.MULTILINE)
    if not names:
        sys.exit(f"check-exports: no `pub fn` in {HOOKS_RS}")
    return [n.split("_") for n in names]


def words(name: str) -> list[str]:
    """snake_case, camelCase, dotted and slashed names as lowercase words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def is_hook(name: str, hooks: list[list[str]]) -> bool:
    if "testing" in name.lower():
        return True
    if "::" in name:  # a (demangled) Rust path: only the hooks module counts
        return "::hooks::" in name
    w = words(name)
    return any(w[i : i + len(h)] == h for h in hooks for i in range(len(w) - len(h) + 1))


def run(cmd: list[str], **kw) -> str:
    r = subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[:2000]}")
    return r.stdout


def symbols(path: Path) -> list[str]:
    """Dynamic symbols a shared object defines, or global symbols an archive/object defines."""
    if path.suffix == ".a" or path.suffix == ".o":
        out = run(["nm", "-g", "--defined-only", "--demangle", str(path)])
    else:
        out = run(["nm", "-D", "--defined-only", "--demangle", str(path)])
    names = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        # "ADDR TYPE NAME" (NAME may hold spaces once demangled); skip archive member headers.
        if len(parts) == 3 and len(parts[1]) == 1:
            names.append(parts[2])
        elif len(parts) == 2 and len(parts[0]) == 1:  # absolute symbols without an address
            names.append(parts[1])
    return names


def host_node_suffix() -> str | None:
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine())
    libc = "gnu" if platform.libc_ver()[0] == "glibc" else "musl"
    return f"linux-{arch}-{libc}" if arch and sys.platform == "linux" else None


def host_wheel_tag(tag: str) -> bool:
    return (
        sys.platform == "linux"
        and platform.machine() in tag
        and (("manylinux" in tag) == (platform.libc_ver()[0] == "glibc"))
    )


class Listing:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, artifact: str, kind: str, names: list[str]) -> None:
        self.rows += [(artifact, kind, n) for n in sorted(set(names))]


def list_wheel(whl: Path, tmp: Path, out: Listing) -> None:
    d = tmp / whl.stem
    with zipfile.ZipFile(whl) as z:
        z.extractall(d)
    for so in d.rglob("*.so"):
        out.add(f"{whl.name}:{so.relative_to(d)}", "symbol", symbols(so))
    if not host_wheel_tag(whl.name):
        return
    # Imported from the wheel's own files, as an installed wheel is: every attribute of the
    # module and of every class in it.
    probe = (
        "import importlib, inspect, json, sys\n"
        "m = importlib.import_module('vsync_s3_client._native')\n"
        "names = []\n"
        "for a in dir(m):\n"
        "    names.append(a)\n"
        "    v = getattr(m, a)\n"
        "    if inspect.isclass(v):\n"
        "        names += [a + '.' + b for b in vars(v)]\n"
        "print(json.dumps(names))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = f"import sys; sys.path.insert(0, {str(d)!r})\n" + probe
    names = json.loads(run([sys.executable, "-I", "-c", code], env=env))
    out.add(f"{whl.name}:vsync_s3_client._native", "attribute", names)


DTS_NAME = re.compile(
    r"^\s*(?:export\s+)?(?:declare\s+)?(?:function|class|const|let|var|interface|type|enum|namespace)\s+(\w+)"
    r"|^\s+(?:readonly\s+|static\s+|get\s+|set\s+)*(\w+)\??\s*[(:<]",
    re.MULTILINE,
)


def list_node(tgz: Path, tmp: Path, out: Listing, main_pkg: str) -> None:
    d = tmp / tgz.name
    with tarfile.open(tgz) as t:
        t.extractall(d, filter="data")
    pkg = d / "package"
    meta = json.loads((pkg / "package.json").read_text())
    for f in sorted(pkg.rglob("*")):
        rel = f.relative_to(pkg)
        if f.name.endswith((".d.ts", ".d.mts", ".d.cts")):
            names = [a or b for a, b in DTS_NAME.findall(f.read_text())]
            out.add(f"{tgz.name}:{rel}", "d.ts", names)
        elif f.suffix == ".node":
            out.add(f"{tgz.name}:{rel}", "symbol", symbols(f))
    host = host_node_suffix()
    if host is None or meta["name"] != f"{main_pkg}-{host}":
        return
    # This machine's platform: the addon loaded, and the main package loaded with it (a
    # node_modules laid out as npm installs the two).
    nm = tmp / "node-host" / "node_modules"
    shutil.copytree(pkg, nm / meta["name"])
    addon = next((nm / meta["name"]).glob("*.node"))
    probe = r"""
const path = process.argv[1], main = process.argv[2], root = process.argv[3];
const keysOf = (o) => {
  const names = [];
  for (const k of Object.keys(o)) {
    names.push(k);
    const v = o[k];
    if (typeof v === 'function' && v.prototype)
      for (const p of Object.getOwnPropertyNames(v.prototype)) if (p !== 'constructor') names.push(`${k}.${p}`);
  }
  return names;
};
const addon = { exports: {} };
process.dlopen(addon, path);
const out = { addon: keysOf(addon.exports), main: null };
const fs = require('node:fs');
if (fs.existsSync(`${root}/${main}/package.json`)) out.main = keysOf(require(`${root}/${main}`));
console.log(JSON.stringify(out));
"""
    env = {k: v for k, v in os.environ.items() if k != "VSYNC_NODE_ADDON"}
    # The main package is laid out beside the platform package by list_dist before this runs.
    res = json.loads(run(["node", "-e", probe, str(addon), main_pkg, str(nm)], env=env))
    out.add(f"{tgz.name}:{addon.name} (loaded)", "export", res["addon"])
    if res["main"] is not None:
        out.add(f"{main_pkg} (loaded with {addon.name})", "export", res["main"])


def list_jar(jar: Path, tmp: Path, out: Listing) -> None:
    d = tmp / jar.name
    with zipfile.ZipFile(jar) as z:
        entries = z.namelist()
        z.extractall(d)
    classes = [e[: -len(".class")].replace("/", ".") for e in entries if e.endswith(".class")]
    out.add(jar.name, "class", classes)
    for e in entries:
        if re.search(r"\.(so|dylib|dll)$", e):
            out.add(f"{jar.name}:{e}", "symbol", symbols(d / e))


GO_TOP = re.compile(r"^(?:func(?:\s+\([^)]*\))?|type|var|const)\s+(\w+)", re.MULTILINE)


def list_go_zip(modzip: Path, tmp: Path, out: Listing) -> None:
    d = tmp / modzip.name
    with zipfile.ZipFile(modzip) as z:
        entries = z.namelist()
        z.extractall(d)
    out.add(modzip.name, "file", entries)
    for e in entries:
        f = d / e
        if e.endswith(".go") and not e.endswith("_test.go"):
            text = f.read_text()
            out.add(f"{modzip.name}:{Path(e).name}", "go", GO_TOP.findall(text) + re.findall(r"\bC\.(\w+)", text))
        elif e.endswith(".h"):
            out.add(f"{modzip.name}:{Path(e).name}", "declared", re.findall(r"\b(\w+)\s*\(", f.read_text()))
        elif e.endswith(".a"):
            out.add(f"{modzip.name}:{e.split('@', 1)[-1]}", "symbol", symbols(f))


def list_dist(dist: Path, libs: list[Path], tmp: Path) -> Listing:
    out = Listing()
    for whl in sorted(dist.glob("python/*.whl")):
        list_wheel(whl, tmp, out)
    tgzs = sorted(dist.glob("node/*.tgz"))
    mains = []
    for tgz in tgzs:
        with tarfile.open(tgz) as t:
            meta = json.load(t.extractfile("package/package.json"))
        if not meta.get("os"):  # the main package (the platform packages name their os/cpu)
            mains.append((tgz, meta["name"]))
    if len(tgzs) and len(mains) != 1:
        sys.exit(f"check-exports: expected one main npm package in {dist}/node, found {len(mains)}")
    main_name = mains[0][1] if mains else ""
    if mains:  # laid out first, so the host platform's probe loads it with the addon
        main_dir = tmp / "node-host" / "node_modules" / main_name
        with tarfile.open(mains[0][0]) as t:
            t.extractall(tmp / "node-main", filter="data")
        shutil.copytree(tmp / "node-main" / "package", main_dir)
    for tgz in tgzs:
        list_node(tgz, tmp, out, main_name)
    for jar in sorted(dist.glob("java/repo/**/*.jar")):
        list_jar(jar, tmp, out)
    for modzip in sorted(dist.glob("go/proxy/**/*.zip")):
        list_go_zip(modzip, tmp, out)
    for lib in libs:
        out.add(str(lib), "symbol", symbols(lib))
    return out


def check(dist: Path, libs: list[Path], report: Path | None) -> int:
    hooks = hook_names()
    with tempfile.TemporaryDirectory(prefix="check-exports-") as t:
        listing = list_dist(dist, libs, Path(t))
    if not listing.rows:
        print(f"check-exports: nothing to check in {dist}", file=sys.stderr)
        return 1
    text = "".join(f"{a}\t{k}\t{n}\n" for a, k, n in listing.rows)
    if report:
        report.write_text(text)
    found = [r for r in listing.rows if is_hook(r[2], hooks)]
    per_artifact: dict[str, int] = {}
    for a, _, _ in listing.rows:
        per_artifact[a] = per_artifact.get(a, 0) + 1
    for a, n in per_artifact.items():
        print(f"  {n:6d}  {a}")
    if found:
        print(f"check-exports: {len(found)} test hook(s) in shipped artifacts:", file=sys.stderr)
        for a, k, n in found:
            print(f"  {a}: {k} {n}", file=sys.stderr)
        return 1
    print(f"check-exports: {len(listing.rows)} names in {len(per_artifact)} artifacts, no test hook")
    return 0


# ---- self-test: fake artifacts, one clean set and one hook at a time -------------------------

NAPI_ADDON_C = r"""
#include <stddef.h>
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
int napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
int napi_set_named_property(napi_env, napi_value, const char *, napi_value);
static napi_value noop(napi_env env, napi_callback_info info) { (void)env; (void)info; return NULL; }
napi_value napi_register_module_v1(napi_env env, napi_value exports) {
    const char *names[] = { EXPORTS };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        napi_value f;
        napi_create_function(env, names[i], (size_t)-1, noop, NULL, &f);
        napi_set_named_property(env, exports, names[i], f);
    }
    return exports;
}
"""


def c_lib(path: Path, functions: list[str], kind: str, tmp: Path, source: str | None = None) -> None:
    src = tmp / (path.name + ".c")
    src.write_text(source or "".join(f"int {f}(void) {{ return 0; }}\n" for f in functions))
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "so":
        run(["cc", "-shared", "-fPIC", "-o", str(path), str(src)])
    else:
        obj = tmp / (path.name + ".o")
        run(["cc", "-c", "-fPIC", "-o", str(obj), str(src)])
        run(["ar", "rc", str(path), str(obj)])


def fake_dist(dist: Path, hook: str | None, tmp: Path) -> list[Path]:
    """A dist/ of fake artifacts (real formats: zip, tar, ELF) that export nothing but what a
    clean release exports, plus the one hook named by `hook`."""
    tmp.mkdir(parents=True, exist_ok=True)
    machine = platform.machine()
    # Python: a wheel whose `_native` is a pure module (imported as the real one would be).
    (dist / "python").mkdir(parents=True)
    native_py = "def open(): pass\nclass Vault:\n    def get_env(self): pass\n"
    if hook == "python":
        native_py += "def testing_decrypt_envelope(): pass\n"
    if hook == "python-core-name":
        native_py += "class Vault2:\n    def decode_config_json(self): pass\n"
    with zipfile.ZipFile(dist / "python" / f"vsync_s3_client-0.0.0-cp39-abi3-manylinux_2_17_{machine}.whl", "w") as z:
        z.writestr("vsync_s3_client/__init__.py", "")
        z.writestr("vsync_s3_client/_native.py", native_py)
    # Node: the main package and this machine's platform package with a real napi addon.
    (dist / "node").mkdir()
    suffix = host_node_suffix() or "linux-x64-gnu"
    main_name = "@fake/vsync"
    index_js = "module.exports = { open() {} };\n"
    if hook == "node-facade":
        index_js = "module.exports = { open() {}, _testing: {} };\n"
    dts = "export declare function open(): void;\nexport declare class Vsync {\n  getEnv(key: string): string;\n}\n"
    if hook == "node-dts":
        dts += "export declare const _testing: {\n  decryptEnvelope(b: Uint8Array): Buffer;\n};\n"
    main_meta = {"name": main_name, "version": "0.0.0"}
    platform_meta = {"name": f"{main_name}-{suffix}", "version": "0.0.0", "os": ["linux"]}
    for name, files in [
        (main_name, {"package.json": json.dumps(main_meta), "index.js": index_js, "index.d.ts": dts}),
        (platform_meta["name"], {"package.json": json.dumps(platform_meta)}),
    ]:
        pkg = tmp / name.replace("/", "_") / "package"
        pkg.mkdir(parents=True)
        for f, body in files.items():
            (pkg / f).write_text(body)
        if "os" in files["package.json"]:
            exports = ['"open"'] + (['"testingPanic"'] if hook == "node-addon" else [])
            c_lib(pkg / f"vsync.{suffix}.node", [], "so", tmp, NAPI_ADDON_C.replace("EXPORTS", ", ".join(exports)))
        with tarfile.open(dist / "node" / f"{name.replace('/', '-').lstrip('@')}-0.0.0.tgz", "w:gz") as t:
            t.add(pkg, arcname="package")
    # Java: a jar with a class and a JNI library.
    jar_dir = dist / "java" / "repo" / "io" / "fake" / "0.0.0"
    jar_dir.mkdir(parents=True)
    jni = ["Java_io_fake_Native_open"] + (["Java_io_fake_internal_Testing_decryptEnvelope"] if hook == "jni" else [])
    c_lib(tmp / "libvsync_jni.so", jni, "so", tmp)
    with zipfile.ZipFile(jar_dir / "fake-0.0.0.jar", "w") as z:
        z.writestr("io/fake/Vsync.class", b"\xca\xfe\xba\xbe")
        if hook == "java-class":
            z.writestr("io/fake/internal/Testing.class", b"\xca\xfe\xba\xbe")
        z.write(tmp / "libvsync_jni.so", "native/linux-x86_64/libvsync_jni.so")
    # Go: the module zip with a header, Go files and the prebuilt static library.
    mod = "example.com/fake@v0.0.0"
    go_dir = dist / "go" / "proxy" / "example.com" / "fake" / "@v"
    go_dir.mkdir(parents=True)
    lib_fns = ["vsync_open"] + (["vsync_testing_raise"] if hook == "go-lib" else [])
    c_lib(tmp / "libvsync.a", lib_fns, "a", tmp)
    header = "int vsync_open(void);\n" + ("int vsync_testing_raise(void);\n" if hook == "go-header" else "")
    with zipfile.ZipFile(go_dir / "v0.0.0.zip", "w") as z:
        z.writestr(f"{mod}/vsync.go", "package vsync\n\nfunc Open() {}\n")
        z.writestr(f"{mod}/vsync_test.go", "package vsync\n\nfunc testingOnlyInTests() {}\n")
        if hook == "go-wrapper":
            wrapper = "package vsync\n\nfunc decodeConfig() { C.vsync_testing_decode_config_json() }\n"
            z.writestr(f"{mod}/testing_hooks.go", wrapper)
        z.writestr(f"{mod}/include/vsync.h", header)
        z.write(tmp / "libvsync.a", f"{mod}/lib/linux_amd64/libvsync.a")
    # Another library (the C ABI's shared object).
    c_fns = ["vsync_open"] + (["vsync_testing_open_payload"] if hook == "c-shared" else [])
    c_lib(tmp / "libvsync_c.so", c_fns, "so", tmp)
    return [tmp / "libvsync_c.so"]


def self_test() -> int:
    cases = [None, "python", "python-core-name", "node-facade", "node-dts", "node-addon", "jni", "java-class",
             "go-lib", "go-header", "go-wrapper", "c-shared"]  # fmt: skip
    failures = 0
    with tempfile.TemporaryDirectory(prefix="check-exports-self-test-") as t:
        for case in cases:
            dist = Path(t) / f"dist-{case}"
            libs = fake_dist(dist, case, Path(t) / f"build-{case}")
            r = subprocess.run(
                [sys.executable, __file__, str(dist), *[a for x in libs for a in ("--lib", str(x))]],
                check=False,
                capture_output=True,
                text=True,
            )
            want = 0 if case is None else 1
            ok = r.returncode == want and (case is None or "test hook(s)" in r.stderr)
            if case is None:  # the clean set lists what each artifact exports
                ok = ok and all(s in r.stdout for s in ("_native", ".node (loaded)", ".jar", ".zip", "libvsync_c.so"))
            print(f"{'ok  ' if ok else 'FAIL'} {case or 'clean artifacts'}: exit {r.returncode} (want {want})")
            if not ok:
                failures += 1
                print(r.stdout + r.stderr, file=sys.stderr)
    print(f"check-exports self-test: {len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dist", nargs="?", type=Path)
    p.add_argument("--lib", action="append", type=Path, default=[], help="another library to list")
    p.add_argument("--report", type=Path, help="write every artifact/kind/name row here")
    p.add_argument("--self-test", action="store_true", help="fake artifacts: clean passes, each hook fails")
    a = p.parse_args()
    if a.self_test:
        return self_test()
    if a.dist is None:
        p.error("DIST is required")
    return check(a.dist, a.lib, a.report)


if __name__ == "__main__":
    sys.exit(main())
