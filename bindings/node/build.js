#!/usr/bin/env node
'use strict';
// Builds the native addon from source: `cargo build --release -p vsync-node` into the workspace's
// shared target dir (so the core is compiled once for the CLI and every binding), then copies the
// shared library here as vsync.<platform>-<arch>.node.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const target = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const lib = { darwin: 'libvsync_node.dylib', win32: 'vsync_node.dll' }[process.platform] ?? 'libvsync_node.so';
const out = path.join(__dirname, `vsync.${process.platform}-${process.arch}.node`);

execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'vsync-node'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CARGO_TARGET_DIR: target },
});
const built = path.join(target, 'release', lib);
// Copy to a temp name and rename: a process that already loaded the old addon keeps its mapping.
const tmp = `${out}.${process.pid}.tmp`;
fs.copyFileSync(built, tmp);
fs.renameSync(tmp, out);
