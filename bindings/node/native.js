'use strict';
// Finds the native addon, first that answers:
//   1. VSYNC_NODE_ADDON, an explicit absolute path (a library built from source for a platform without
//      a prebuilt package: `cargo build --release -p vsync-node`, then point this at the .so/.dylib/.dll).
//      It is code loading: whoever sets it runs code in the process (docs/run.md refuses it in a vault);
//   2. the platform package that npm installed as an optional dependency
//      (@muthuishere/vsync-s3-client-<platform>-<arch>[-<libc>], napi-rs's convention), which must
//      carry exactly this package's version;
//   3. vsync.<platform>-<arch>.node next to this file: the addon that `npm run build` (build.js)
//      compiles with cargo in a checkout of the repository.
// Installing never builds anything: a platform without a prebuilt package gets an error that
// says how to build from source.
const fs = require('node:fs');
const path = require('node:path');

const { version } = require('./package.json');

// glibc or musl: Alpine's ldd is musl's; when ldd is absent, the diagnostic report tells (its
// header names the glibc version only on glibc).
function linuxLibc() {
  try {
    if (fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl')) return 'musl';
  } catch {
    // no ldd: ask the report below
  }
  try {
    if (process.report && typeof process.report.getReport === 'function') {
      process.report.excludeNetwork = true;
      return process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl';
    }
  } catch {
    // fall through: glibc is by far the common case
  }
  return 'gnu';
}

// The platform package's suffix, as in bindings/node/npm/<suffix>/.
function platformSuffix() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${linuxLibc()}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function load() {
  const tried = [];
  const explicit = process.env.VSYNC_NODE_ADDON;
  if (explicit) {
    // Loading a library runs its code. A relative path would be resolved against whatever
    // directory the process happens to start in (a checkout, an upload directory), so only an
    // absolute path is taken: it names one file, whatever the working directory.
    if (!path.isAbsolute(explicit)) {
      throw new Error(
        `vsync: VSYNC_NODE_ADDON must be an absolute path to the native library (it loads and runs that ` +
          `library's code); got a relative path, which would depend on the working directory. ` +
          'Set it to the full path, e.g. /path/to/target/release/libvsync_node.so, or unset it.',
      );
    }
    // dlopen, not require: a library straight out of cargo is named lib*.so / *.dylib / *.dll.
    const addon = { exports: {} };
    process.dlopen(addon, explicit);
    return addon.exports;
  }

  const suffix = platformSuffix();
  const pkg = `@muthuishere/vsync-s3-client-${suffix}`;
  let pkgJson;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`);
  } catch {
    tried.push(`${pkg} (not installed)`);
  }
  if (pkgJson) {
    const pkgVersion = JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version;
    if (pkgVersion !== version) {
      throw new Error(
        `vsync: ${pkg} is version ${pkgVersion} but @muthuishere/vsync-s3-client is ${version}; ` +
          'reinstall so that both have the same version',
      );
    }
    return require(pkg);
  }

  const local = path.join(__dirname, `vsync.${process.platform}-${process.arch}.node`);
  if (fs.existsSync(local)) return require(local);
  tried.push(`${local} (not built)`);

  throw new Error(
    `vsync: no native addon for ${suffix}; tried ${tried.join(', ')}. ` +
      'Prebuilt addons exist for linux x64/arm64 (glibc >= 2.17 and musl), macOS and Windows; ' +
      'make sure optional dependencies are installed (no --omit=optional / --no-optional). ' +
      'On another platform build it from source: `cargo build --release -p vsync-node` in a checkout of ' +
      'https://github.com/muthuishere/vsync-s3-client, then set VSYNC_NODE_ADDON to the built library.',
  );
}

module.exports = load();
