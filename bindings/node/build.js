#!/usr/bin/env node
'use strict';
// Builds the native addon from source: `cargo build --release -p vsync-node` into the workspace's
// shared target dir (so the core is compiled once for the CLI and every binding), then copies the
// shared library here as vsync.<platform>-<arch>.node.
//   --testing-hooks   the test build: adds the private `testing*` exports (cargo feature
//                     `testing-hooks`) behind the facade's `_testing`; never shipped.
// napi-derive writes the type definitions of the `#[napi]` exports to TYPE_DEF_DIR while it
// compiles; test/types.test.js renders them into native.d.ts (the napi CLI's generateTypeDef)
// and compares that with the committed file.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const target = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const lib = { darwin: 'libvsync_node.dylib', win32: 'vsync_node.dll' }[process.platform] ?? 'libvsync_node.so';
const out = path.join(__dirname, `vsync.${process.platform}-${process.arch}.node`);
const TYPE_DEF_DIR = path.join(target, 'napi-type-def', 'release');

function build({ testingHooks = false } = {}) {
  fs.mkdirSync(TYPE_DEF_DIR, { recursive: true });
  const env = { ...process.env, CARGO_TARGET_DIR: target, NAPI_TYPE_DEF_TMP_FOLDER: TYPE_DEF_DIR };
  // A cached build writes no type definitions: force the crate's recompilation when they are
  // missing (the napi CLI does the same).
  if (!fs.existsSync(path.join(TYPE_DEF_DIR, 'vsync-node'))) env.NAPI_FORCE_BUILD_VSYNC_NODE = String(Date.now());
  const features = testingHooks ? ['--features', 'testing-hooks'] : [];
  execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'vsync-node', ...features], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  const built = path.join(target, 'release', lib);
  // Copy to a temp name and rename: a process that already loaded the old addon keeps its mapping.
  const tmp = `${out}.${process.pid}.tmp`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, out);
}

module.exports = { TYPE_DEF_DIR };

if (require.main === module) build({ testingHooks: process.argv.includes('--testing-hooks') });
