#!/usr/bin/env bash
# `./scripts/task release:check`: installs dist/ as a user would and reads a real vault with it.
# Runs under scripts/with-s3.sh (the S3 server and the vsync CLI that pushes the vault). It
#   - starts the registries: a pip directory (--find-links dist/python), verdaccio on 127.0.0.1
#     (a real npm registry; every dist/node tarball is published to it), the file Maven
#     repository dist/java/repo and the file GOPROXY dist/go/proxy;
#   - then, with a fresh HOME and no cargo/rustc on PATH, runs exactly the install lines of the
#     README's "Install" section in four fresh consumer projects, each of which opens the vault
#     with open() and prints a value and its source; and the Spring Boot application of
#     bindings/java/README.md with vsync-s3-client-spring (scripts/release-check-spring.sh);
#   - installs the vsync CLI by every route (archive, pip, pipx, npm -g, npx; scripts/release-check-cli.sh)
#     and runs it, also inside an empty root over HTTPS with a private CA;
#   - when dist/ holds the aarch64 / musl builds (a full `task dist`), runs the C ABI test program
#     and the Go consumer under qemu-aarch64, loads the musl libraries with musl's loader, and reads
#     the vault through the musl builds of the C ABI (x86_64 natively, aarch64 under qemu).
# When dist/ lacks this machine's platform, it first runs `scripts/dist.sh <host target>`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/dist-lib.sh"
cd "$ROOT"
: "${VSYNC_TEST_ENDPOINT:?run through scripts/with-s3.sh (./scripts/task release:check)}"

version=$(python3 scripts/versions.py get)
DIST="$ROOT/dist"
host=$(host_target)
if ! ls "$DIST"/node/*-"$(plat "$host" npm)"-"$version".tgz >/dev/null 2>&1 \
  || ! ls "$DIST"/python/*"$(plat "$host" audit)"*.whl >/dev/null 2>&1; then
  log "dist/ has no $host build of $version: scripts/dist.sh $host"
  "$ROOT/scripts/dist.sh" "$host"
fi

# ---- no test hook in what users install (before the slow consumer runs) ------------------------
# scripts/check-exports.py lists every exported symbol / attribute / class / .d.ts entry of dist/
# and of the C ABI libraries built beside it, and fails on any conformance hook.
check_exports() {
  local libs=() t f
  for t in $DIST_ALL_TARGETS; do
    for f in libvsync_c.so libvsync_c.a; do
      [ -f "$CARGO_TARGET_DIR/$t/dist/$f" ] && libs+=(--lib "$CARGO_TARGET_DIR/$t/dist/$f")
    done
  done
  log "scripts/check-exports.py --self-test (fake artifacts: the clean set passes, each hook fails)"
  python3 scripts/check-exports.py --self-test
  log "exports of every shipped artifact: no test hook (scripts/check-exports.py)"
  python3 scripts/check-exports.py "$DIST" "${libs[@]}" --report "$CARGO_TARGET_DIR/dist-exports.txt"
}
check_exports

work=$(mktemp -d)
verdaccio_pid=""
creds_pid=""
cleanup() {
  if [ -n "$verdaccio_pid" ]; then kill "$verdaccio_pid" 2>/dev/null || true; wait "$verdaccio_pid" 2>/dev/null || true; fi
  if [ -n "$creds_pid" ]; then kill "$creds_pid" 2>/dev/null || true; wait "$creds_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
results=()
pass() { results+=("ok   $1"); log "ok: $1"; }

# ---- the vault every consumer reads ----------------------------------------------------------
prefix="release-check/$$-$RANDOM/"
token=$("$VSYNC_BIN" runtime-token --endpoint "$VSYNC_TEST_ENDPOINT" --region us-east-1 --bucket "$VSYNC_TEST_BUCKET" \
  --prefix "$prefix" --env release-check --access-key-id "$VSYNC_TEST_ACCESS_KEY" \
  --secret-access-key "$VSYNC_TEST_SECRET_KEY" 2>/dev/null)
passphrase="release check passphrase $RANDOM$RANDOM"
# API_TOKEN and SMTP__HOST: the fields of bindings/python/README.md's pydantic-settings example.
printf 'DATABASE_URL=postgres://release-check@db:5432/app\nAPI_TOKEN=release-check-token\nSMTP__HOST=smtp.release-check\n' >"$work/vault.env"
VSYNC_CONFIG="$token" VSYNC_PASSPHRASE="$passphrase" "$VSYNC_BIN" push --env-file "$work/vault.env" >/dev/null 2>&1
expected="DATABASE_URL=postgres://release-check@db:5432/app (vault)"

# ---- the README's install lines ----------------------------------------------------------------
# The fenced block that follows "### <lang>" inside "## Install" of README.md.
readme_block() {
  awk -v want="### $1" '
    /^## / { in_install = ($0 == "## Install") }
    in_install && /^### / { in_lang = ($0 == want); next }
    in_install && in_lang && /^```/ { if (open) exit; open = 1; next }
    in_install && in_lang && open { print }
  ' README.md
}
for lang in "vsync CLI" Python Node.js Java Go; do
  [ -n "$(readme_block "$lang")" ] || { echo "README.md: no install block for $lang under '## Install'" >&2; exit 1; }
done

# ---- registries ---------------------------------------------------------------------------------
# verdaccio (npm registry) from the npm registry itself, pinned, into .tools/verdaccio.
vdir="$ROOT/.tools/verdaccio"
if [ ! -x "$vdir/node_modules/.bin/verdaccio" ]; then
  log "npm install verdaccio@6.8.0 into .tools/verdaccio"
  mkdir -p "$vdir"
  cat >"$vdir/package.json" <<'JSON'
{ "private": true, "dependencies": { "verdaccio": "6.8.0" }, "overrides": { "node-fetch": "2.7.0" } }
JSON
  (cd "$vdir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
vport=$(free_port)
mkdir -p "$work/verdaccio"
cat >"$work/verdaccio/config.yaml" <<YAML
storage: $work/verdaccio/storage
auth:
  htpasswd:
    file: $work/verdaccio/htpasswd
    max_users: 10
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
log: { type: stdout, format: pretty, level: warn }
YAML
"$vdir/node_modules/.bin/verdaccio" --config "$work/verdaccio/config.yaml" --listen "127.0.0.1:$vport" \
  >"$work/verdaccio.log" 2>&1 &
verdaccio_pid=$!
registry="http://127.0.0.1:$vport/"
for _ in $(seq 1 200); do curl -fsS "${registry}-/ping" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "${registry}-/ping" >/dev/null || { cat "$work/verdaccio.log" >&2; exit 1; }
npm_token=$(curl -fsS -X PUT -H 'content-type: application/json' \
  -d '{"name":"release-check","password":"release-check-pw"}' \
  "${registry}-/user/org.couchdb.user:release-check" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
printf '//127.0.0.1:%s/:_authToken=%s\n' "$vport" "$npm_token" >"$work/publish.npmrc"
# Platform packages first, then the main package that names them.
main_tgz="$DIST/node/muthuishere-vsync-s3-client-$version.tgz"
main_seen=0
for tgz in "$DIST"/node/*.tgz "$main_tgz"; do
  if [ "$tgz" = "$main_tgz" ] && [ $main_seen -eq 0 ]; then main_seen=1; continue; fi
  npm publish "$tgz" --registry "$registry" --userconfig "$work/publish.npmrc" --loglevel=error >/dev/null
done
log "verdaccio on $registry with the dist/node packages"

# ---- the consumer environment: fresh HOME, no Rust ----------------------------------------------
consumer_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  [ -n "$d" ] || continue
  case "$d" in "$RELEASE_VENV"/*) continue ;; esac
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then continue; fi
  consumer_path="$consumer_path${consumer_path:+:}$d"
done
in_consumer() {
  # A clean environment: the vault inputs, the registries, nothing of the build.
  # (XDG_CACHE_HOME: the JVM's user.home comes from the password database, not HOME; this keeps
  # the Java loader's library cache in the fresh home too.)
  env -i HOME="$work/home" XDG_CACHE_HOME="$work/home/.cache" PATH="$consumer_path" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" \
    VSYNC_CONFIG="$token" VSYNC_PASSPHRASE="$passphrase" \
    PIP_NO_INDEX=1 PIP_FIND_LINKS="$DIST/python" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    npm_config_registry="$registry" npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false \
    GOPROXY="file://$DIST/go/proxy" GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-modcacherw \
    "$@"
}
mkdir -p "$work/home"
in_consumer bash -c '! command -v cargo && ! command -v rustc' >/dev/null \
  || { echo "cargo/rustc still on the consumer PATH ($consumer_path)" >&2; exit 1; }
# run_readme_block SECTION NAME DIR [PREFIX]: each line of the README's install block for SECTION,
# run in the consumer environment in DIR (PREFIX before each line, e.g. activating a venv); the
# output of all of them goes to $work/NAME-install.log, shown when a line fails.
run_readme_block() {
  local section=$1 name=$2 dir=$3 prefix=${4:-} line
  : >"$work/$name-install.log"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    log "[$name] \$ $line"
    (cd "$dir" && in_consumer bash -euo pipefail -c "$prefix$line") >>"$work/$name-install.log" 2>&1 \
      || { cat "$work/$name-install.log" >&2; exit 1; }
  done <<<"$(readme_block "$section")"
}
step_start=$SECONDS
check_output() {
  local lang=$1 out=$2
  grep -qxF "$expected" "$out" || { echo "[$lang] expected '$expected', got:" >&2; cat "$out" >&2; exit 1; }
  pass "$lang: $(head -n 1 "$out")  [$((SECONDS - step_start)) s]"
  step_start=$SECONDS
}

# ---- Python: pip install vsync-s3-client into a fresh venv --------------------------------------
py="$work/python"
mkdir -p "$py"
in_consumer python3 -m venv "$py/venv"
run_readme_block Python python "$py" "source venv/bin/activate && "
grep -q 'vsync_s3_client-.*abi3.*\.whl' "$work/python-install.log" \
  || { cat "$work/python-install.log" >&2; echo "[python] pip did not install a wheel" >&2; exit 1; }
cat >"$py/app.py" <<'PY'
import vsync_s3_client as vsync

with vsync.open() as v:
    print(f"DATABASE_URL={v.get_env('DATABASE_URL')} ({v.env_source('DATABASE_URL')})")
    print(f"version {vsync.__version__}")
PY
(cd "$py" && in_consumer venv/bin/python app.py) >"$work/python.out"
grep -qx "version $version" "$work/python.out" || { cat "$work/python.out" >&2; exit 1; }
check_output python "$work/python.out"

# ---- Python, keyless: the same vault through a keyless token ("credentials": "ambient", SPEC §2),
# signed with container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI: a loopback endpoint as
# on ECS / EKS Pod Identity) by the installed package; the dev server's request log shows the
# endpoint's session token on the requests.
salt=$(VSYNC_CONFIG="$token" "$VSYNC_BIN" decode-config | python3 -c 'import json, sys; print(json.load(sys.stdin)["salt"])')
keyless=$("$VSYNC_BIN" runtime-token --ambient-credentials --endpoint "$VSYNC_TEST_ENDPOINT" --region us-east-1 \
  --bucket "$VSYNC_TEST_BUCKET" --prefix "$prefix" --env release-check --salt "$salt" 2>/dev/null)
session_token="release-check-keyless-$$-$RANDOM"
cat >"$work/container-credentials.py" <<'PY'
import datetime, http.server, json, os

expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
body = json.dumps({"AccessKeyId": os.environ["AK"], "SecretAccessKey": os.environ["SK"], "Token": os.environ["TOKEN"],
                   "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
PY
AK="$VSYNC_TEST_ACCESS_KEY" SK="$VSYNC_TEST_SECRET_KEY" TOKEN="$session_token" \
  python3 "$work/container-credentials.py" >"$work/creds.port" &
creds_pid=$!
for _ in $(seq 1 200); do [ -s "$work/creds.port" ] && break; sleep 0.05; done
creds_port=$(cat "$work/creds.port")
[ -n "$creds_port" ] || { echo "[python keyless] the container credentials endpoint did not start" >&2; exit 1; }
# IMDS at a closed port: the host's own instance role (if any) never takes part.
(cd "$py" && in_consumer env VSYNC_CONFIG="$keyless" \
  AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$creds_port/v2/credentials" \
  AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1 venv/bin/python app.py) >"$work/python-keyless.out"
grep -q " $session_token\$" "$VSYNC_TEST_REQUEST_LOG" \
  || { echo "[python keyless] no S3 request carried the container credentials' session token" >&2; exit 1; }
check_output "python keyless (container credentials)" "$work/python-keyless.out"

# ---- Python: pip install 'vsync-s3-client[pydantic]' and the README's pydantic-settings example --
# The "## pydantic-settings" section of bindings/python/README.md: its install line, run as written
# in a fresh venv, and its example, run as written. The wheel comes from dist/python and
# pydantic-settings (the version test-python.sh tests) with its dependencies from PyPI: downloaded
# first, then offered beside dist/python, so the index never competes with dist/ for our package.
PYDANTIC_SETTINGS_VERSION=2.16.3
python_readme_block() {
  awk -v want="## $1" -v fence='```'"$2" '
    /^## / { in_section = ($0 == want); next }
    in_section && !open && $0 == fence { open = 1; next }
    in_section && open && /^```/ { exit }
    in_section && open { print }
  ' bindings/python/README.md
}
pd="$work/pydantic"
mkdir -p "$pd/pypi"
log "[pydantic] pip download pydantic-settings==$PYDANTIC_SETTINGS_VERSION (PyPI)"
in_consumer env -u PIP_NO_INDEX -u PIP_FIND_LINKS python3 -m pip download -q -d "$pd/pypi" \
  "pydantic-settings==$PYDANTIC_SETTINGS_VERSION" >"$work/pydantic-download.log" 2>&1 \
  || { cat "$work/pydantic-download.log" >&2; exit 1; }
in_consumer python3 -m venv "$pd/venv"
pydantic_install=$(python_readme_block pydantic-settings sh)
[ "$pydantic_install" = "pip install 'vsync-s3-client[pydantic]'" ] \
  || { echo "bindings/python/README.md: unexpected pydantic-settings install line: $pydantic_install" >&2; exit 1; }
log "[pydantic] \$ $pydantic_install"
(cd "$pd" && in_consumer bash -euo pipefail -c \
  "source venv/bin/activate && PIP_FIND_LINKS='$DIST/python $pd/pypi' $pydantic_install") \
  >"$work/pydantic-install.log" 2>&1 || { cat "$work/pydantic-install.log" >&2; exit 1; }
grep -q 'vsync_s3_client-.*abi3.*\.whl' "$work/pydantic-install.log" \
  || { cat "$work/pydantic-install.log" >&2; echo "[pydantic] pip did not install dist's wheel" >&2; exit 1; }
python_readme_block pydantic-settings python >"$pd/app.py"
(cd "$pd" && in_consumer venv/bin/python app.py) >"$work/pydantic.out" 2>&1 || { cat "$work/pydantic.out" >&2; exit 1; }
pydantic_expected="DATABASE_URL=postgres://release-check@db:5432/app smtp=smtp.release-check:587 workers=4 api_token=**********"
grep -qxF "$pydantic_expected" "$work/pydantic.out" \
  || { echo "[pydantic] expected '$pydantic_expected', got:" >&2; cat "$work/pydantic.out" >&2; exit 1; }
pass "python [pydantic] (pydantic-settings $PYDANTIC_SETTINGS_VERSION): $(head -n 1 "$work/pydantic.out")  [$((SECONDS - step_start)) s]"
step_start=$SECONDS

# ---- Node: npm i @muthuishere/vsync-s3-client from the local registry --------------------------
nd="$work/node"
mkdir -p "$nd"
(cd "$nd" && in_consumer npm init -y >/dev/null)
run_readme_block Node.js node "$nd"
[ -f "$nd/node_modules/@muthuishere/vsync-s3-client-$(plat "$host" npm)/vsync.$(plat "$host" npm).node" ] \
  || { echo "[node] the platform package was not installed" >&2; ls -R "$nd/node_modules/@muthuishere" >&2; exit 1; }
if [ -n "$(find "$nd/node_modules/@muthuishere/vsync-s3-client" -name '*.node')" ]; then
  echo "[node] the main package carries an addon" >&2; exit 1
fi
installed=$(ls "$nd/node_modules/@muthuishere")
cat >"$nd/app.mjs" <<'JS'
import { open } from '@muthuishere/vsync-s3-client';
const v = await open();
console.log(`DATABASE_URL=${v.getEnv('DATABASE_URL')} (${v.envSource('DATABASE_URL')})`);
v.close();
JS
(cd "$nd" && in_consumer node app.mjs) >"$work/node.out"
check_output node "$work/node.out"
# The preload from the installed package (its `exports`): process.env filled before the first line.
cat >"$nd/preload.mjs" <<'JS'
console.log(`DATABASE_URL=${process.env.DATABASE_URL} (vault)`);
JS
(cd "$nd" && in_consumer node --import @muthuishere/vsync-s3-client/register preload.mjs) >"$work/node-preload.out"
check_output "node --import …/register" "$work/node-preload.out"
results+=("     node_modules/@muthuishere: $(echo "$installed" | tr '\n' ' ')")

# ---- Java: the README's dependency, resolved from dist/java/repo ---------------------------------
jv="$work/java"
mkdir -p "$jv/src/main/java/app"
{
  cat <<XML
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>app</groupId>
  <artifactId>consumer</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <repositories>
    <repository><id>dist</id><url>file://$DIST/java/repo</url></repository>
  </repositories>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
    </plugins>
  </build>
  <dependencies>
XML
  readme_block Java | sed 's/^/    /'
  cat <<'XML'
  </dependencies>
</project>
XML
} >"$jv/pom.xml"
cat >"$jv/src/main/java/app/App.java" <<'JAVA'
package app;

import io.github.muthuishere.vsync.Vsync;
import io.github.muthuishere.vsync.VsyncClient;

public class App {
    public static void main(String[] args) {
        try (Vsync v = VsyncClient.open()) {
            System.out.println("DATABASE_URL=" + v.getEnv("DATABASE_URL") + " (" + v.envSource("DATABASE_URL").label() + ")");
        }
    }
}
JAVA
log "[java] mvn package dependency:copy-dependencies (fresh ~/.m2; the jar from dist/java/repo)"
# Maven's local repository is ${user.home}/.m2, and user.home comes from the password database,
# not HOME: without -Dmaven.repo.local every run shared the machine's ~/.m2, so a jar of the same
# version resolved by an earlier run (another dist/, or another checkout) was used instead of
# this dist's — and two runs at once failed the byte comparison below.
m2="$work/home/.m2/repository"
(cd "$jv" && in_consumer mvn -B -q --no-transfer-progress -Dmaven.repo.local="$m2" \
  package dependency:copy-dependencies -DincludeScope=runtime) \
  >"$work/java-build.log" 2>&1 || { cat "$work/java-build.log" >&2; exit 1; }
jar=$(ls "$jv"/target/dependency/vsync-s3-client-*.jar)
dist_jar="$DIST/java/repo/io/github/muthuishere/vsync-s3-client/$version/vsync-s3-client-$version.jar"
cmp -s "$jar" "$dist_jar" || { echo "[java] the resolved jar is not dist's" >&2; exit 1; }
cmp -s "$m2/io/github/muthuishere/vsync-s3-client/$version/vsync-s3-client-$version.jar" "$dist_jar" \
  || { echo "[java] the jar was not resolved into the consumer's fresh local repository $m2" >&2; exit 1; }
(cd "$jv" && in_consumer java -cp "target/classes:$jar" app.App) >"$work/java.out"
check_output java "$work/java.out"
# Again: the library now comes from the per-user cache that the first run filled.
cached_lib=$(find "$work/home/.cache/vsync-s3-client" -name 'libvsync_jni.so' -print -quit 2>/dev/null)
[ -n "$cached_lib" ] || { echo "[java] the loader did not fill the cache under $work/home/.cache" >&2; exit 1; }
(cd "$jv" && in_consumer java -cp "target/classes:$jar" app.App) >"$work/java.out"
check_output "java (cached library)" "$work/java.out"

# ---- Java, Spring Boot: the README's application, vsync-s3-client-spring from dist/java/repo -----
log "[spring] bindings/java/README.md's Spring Boot application (Boot from Maven Central, vsync from dist/java/repo)"
(in_consumer bash "$ROOT/scripts/release-check-spring.sh" "$DIST" "$ROOT/bindings/java/README.md" "$work/spring" "$m2") \
  >"$work/spring.out" 2>"$work/spring.log" || { cat "$work/spring.log" "$work/spring.out" >&2; exit 1; }
for line in "DATABASE_URL=postgres://release-check@db:5432/app" "database.url=postgres://release-check@db:5432/app"; do
  grep -qxF "$line" "$work/spring.out" || { echo "[spring] expected '$line', got:" >&2; cat "$work/spring.out" >&2; exit 1; }
done
pass "spring boot: @Value and @ConfigurationProperties from spring.config.import=vsync:  [$((SECONDS - step_start)) s]"
step_start=$SECONDS

# ---- Go: go get through the file GOPROXY, cgo, no Rust -----------------------------------------
gd="$work/go"
mkdir -p "$gd"
(cd "$gd" && in_consumer go mod init example.com/consumer >/dev/null 2>&1)
cat >"$gd/main.go" <<'GO'
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	vsync "github.com/muthuishere/vsync-s3-client/bindings/go"
)

func main() {
	// Generous: the same program also runs under qemu-user (aarch64), where one open (emulated
	// S3 client start-up, 600 000 PBKDF2 rounds) took over 30 s on a loaded 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, err := vsync.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	db, _ := v.GetEnv("DATABASE_URL")
	fmt.Printf("DATABASE_URL=%s (%s)\n", db, v.EnvSource("DATABASE_URL"))
}
GO
run_readme_block Go go "$gd"
(cd "$gd" && in_consumer go build -o consumer .) >"$work/go-build.log" 2>&1 || { cat "$work/go-build.log" >&2; exit 1; }
(cd "$gd" && in_consumer ./consumer) >"$work/go.out"
check_output go "$work/go.out"
results+=("     go binary: $(stat -c %s "$gd/consumer") bytes, needs $(readelf -d "$gd/consumer" | grep -o 'NEEDED.*' | grep -oE '\[[^]]+\]' | tr -d '[]' | tr '\n' ' ')")

# ---- aarch64 under qemu-user, musl with musl's loader (only when dist/ has them) ---------------
if ls "$DIST"/node/*-linux-arm64-gnu-"$version".tgz >/dev/null 2>&1; then
  ensure_smoke_packages
  modzip="$DIST/go/proxy/github.com/muthuishere/vsync-s3-client/bindings/go/@v/v$version.zip"
  mkdir -p "$work/arm64"
  (cd "$work/arm64" && python3 -m zipfile -e "$modzip" .)
  mod="$work/arm64/github.com/muthuishere/vsync-s3-client/bindings/go@v$version"
  log "[aarch64] C ABI test program (the module's lib/linux_arm64/libvsync.a) under qemu-aarch64"
  aarch64-linux-gnu-gcc -std=c11 -Wall -Wextra -Werror -pedantic -I"$mod/include" bindings/c/tests/abi_test.c \
    "$mod/lib/linux_arm64/libvsync.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -o "$work/arm64/abi_test"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/arm64/abi_test" >"$work/arm64/abi.out" 2>&1 \
    || { cat "$work/arm64/abi.out" >&2; exit 1; }
  pass "aarch64 C ABI test program: $(tail -n 1 "$work/arm64/abi.out")"
  log "[aarch64] the Go consumer, cross-built from the GOPROXY module, under qemu-aarch64"
  (cd "$gd" && in_consumer env CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc go build -o consumer-arm64 .) \
    >"$work/go-arm64.log" 2>&1 || { cat "$work/go-arm64.log" >&2; exit 1; }
  file "$gd/consumer-arm64" | grep -q aarch64 || { file "$gd/consumer-arm64" >&2; exit 1; }
  (cd "$gd" && in_consumer qemu-aarch64 -L /usr/aarch64-linux-gnu ./consumer-arm64) >"$work/go-arm64.out"
  check_output "go (aarch64, qemu)" "$work/go-arm64.out"
fi
if ls "$DIST"/node/*-linux-x64-musl-"$version".tgz >/dev/null 2>&1; then
  ensure_smoke_packages
  log "[musl] load the shipped musl JNI library and Node addon with musl's dynamic loader"
  mkdir -p "$work/musl"
  tar -xzf "$DIST/node/muthuishere-vsync-s3-client-linux-x64-musl-$version.tgz" -C "$work/musl"
  (cd "$work/musl" && python3 -m zipfile -e \
    "$DIST/java/repo/io/github/muthuishere/vsync-s3-client/$version/vsync-s3-client-$version.jar" jar)
  cat >"$work/musl/load.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
/* dlopen each library with every relocation resolved (musl binds everything at load time: it
   has no lazy binding) and find the symbol its host looks up first. A library marked "global"
   lends its symbols to the ones after it, as node lends napi_* to an addon. */
int main(int argc, char **argv) {
    for (int i = 1; i + 2 < argc; i += 3) {
        void *h = dlopen(argv[i], argv[i + 2][0] == 'g' ? RTLD_NOW | RTLD_GLOBAL : RTLD_NOW);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        if (!dlsym(h, argv[i + 1])) { fprintf(stderr, "%s: no %s\n", argv[i], argv[i + 1]); return 1; }
        printf("loaded %s (%s)\n", argv[i], argv[i + 1]);
    }
    return 0;
}
C
  musl-gcc -O1 -o "$work/musl/load" "$work/musl/load.c"
  readelf -l "$work/musl/load" | grep -q 'ld-musl' || { echo "musl-gcc did not make a musl program" >&2; exit 1; }
  jni="$work/musl/jar/native/linux-x86_64-musl/libvsync_jni.so"
  jni_sym=$(nm -D --defined-only "$jni" | awk '$3 ~ /^Java_/ && !n++ {print $3}')
  # Stand-ins for the napi_* functions node would provide (each addon import, never called).
  addon="$work/musl/package/vsync.linux-x64-musl.node"
  nm -D --undefined-only "$addon" | awk '$2 ~ /^napi_/ {print "void " $2 "(void) {}"}' >"$work/musl/napi.c"
  [ -s "$work/musl/napi.c" ] || { echo "the musl addon imports no napi_* function" >&2; exit 1; }
  musl-gcc -shared -fPIC -o "$work/musl/libnapi.so" "$work/musl/napi.c"
  napi_sym=$(nm -D --undefined-only "$addon" | awk '$2 ~ /^napi_/ && !n++ {print $2}')
  "$work/musl/load" "$jni" "$jni_sym" now "$work/musl/libnapi.so" "$napi_sym" global \
    "$addon" napi_register_module_v1 now >"$work/musl/load.out" 2>&1 \
    || { cat "$work/musl/load.out" >&2; exit 1; }
  pass "musl: JNI library and Node addon load under ld-musl"
fi

# ---- musl end to end: the core on musl reads the vault -------------------------------------------
# No Python, Node or JVM for musl is installable here (none is in the registries this machine
# reaches), so the musl builds of the core are driven through the C ABI that the same `task dist`
# cargo invocation built beside the shipped libraries (same code, flags and dependencies): a
# dynamic musl program on x86_64 (musl-gcc, loaded by ld-musl) and a static aarch64 musl program
# (zig) under qemu-aarch64. Each opens the vault from the environment and prints the value.
musl_targets=()
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  if ls "$DIST"/node/*-"$(plat "$t" npm)"-"$version".tgz >/dev/null 2>&1; then musl_targets+=("$t"); fi
done
if [ ${#musl_targets[@]} -gt 0 ]; then
  ensure_smoke_packages
  ensure_release_tools "${musl_targets[@]}"
  mkdir -p "$work/musl-e2e"
  cat >"$work/musl-e2e/vault_read.c" <<'C'
#include "vsync.h"
#include <stdio.h>
#include <stdlib.h>
/* open() from VSYNC_CONFIG / VSYNC_PASSPHRASE, then DATABASE_URL and its source. */
int main(void) {
    vsync_handle *h = NULL;
    vsync_error *err = NULL;
    if (vsync_open(NULL, &h, &err) != VSYNC_OK) {
        fprintf(stderr, "open: %s: %s\n", err->code, err->message);
        vsync_error_free(err);
        return 1;
    }
    char *value = NULL;
    int32_t source = 0;
    if (vsync_get_env(h, "DATABASE_URL", getenv("DATABASE_URL"), &value, NULL, &source, &err) != VSYNC_OK) {
        fprintf(stderr, "get_env: %s: %s\n", err->code, err->message);
        vsync_error_free(err);
        return 1;
    }
    printf("DATABASE_URL=%s (%s)\n", value ? value : "", source == VSYNC_SOURCE_VAULT ? "vault" : "not the vault");
    vsync_string_free(value);
    vsync_close(h);
    vsync_free(h);
    return 0;
}
C
  for t in "${musl_targets[@]}"; do
    built="$CARGO_TARGET_DIR/$t/dist"
    out="$work/musl-e2e/vault_read-$t"
    case "$t" in
      x86_64-*)
        [ -f "$built/libvsync_c.so" ] || { echo "[musl] no $built/libvsync_c.so (run ./scripts/task dist in this tree)" >&2; exit 1; }
        musl-gcc -std=c11 -Wall -Wextra -Werror -I bindings/c/include "$work/musl-e2e/vault_read.c" \
          "$built/libvsync_c.so" -Wl,-rpath,"$built" -o "$out"
        readelf -l "$out" | grep -q 'ld-musl' || { echo "[musl] $out is not a musl program" >&2; exit 1; }
        run=("$out")
        ;;
      aarch64-*)
        [ -f "$built/libvsync_c.a" ] || { echo "[musl] no $built/libvsync_c.a (run ./scripts/task dist in this tree)" >&2; exit 1; }
        # -lunwind: Rust's panic unwinding (caught at the C boundary) needs it; zig ships one.
        "$RELEASE_VENV/bin/python" -m ziglang cc -target aarch64-linux-musl -static -std=c11 -Wall -Wextra -Werror \
          -I bindings/c/include "$work/musl-e2e/vault_read.c" "$built/libvsync_c.a" -lunwind -o "$out"
        file "$out" | grep -q 'aarch64.*statically linked' || { file "$out" >&2; exit 1; }
        run=(qemu-aarch64 "$out")
        ;;
    esac
    (cd "$work/musl-e2e" && in_consumer "${run[@]}") >"$out.out" 2>&1 || { cat "$out.out" >&2; exit 1; }
    check_output "C ABI on $t" "$out.out"
  done
fi

# ---- the vsync CLI: archive, pip, pipx, npm -g, npx, aarch64, an empty root ---------------------
source "$ROOT/scripts/release-check-cli.sh"

results+=("ok   exports: no test hook in dist/ (list: $CARGO_TARGET_DIR/dist-exports.txt)")
log "release:check ($version)"
printf '  %s\n' "${results[@]}"
