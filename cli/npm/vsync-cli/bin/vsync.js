#!/usr/bin/env node
// `vsync` for npm users: runs the prebuilt binary of the platform package npm installed beside
// this one (the esbuild/biome pattern: one optionalDependency per platform, npm installs only the
// one whose os/cpu match; no postinstall, no download, no network at run time).
'use strict';

const { spawnSync } = require('node:child_process');

const PLATFORMS = {
  'linux x64': 'linux-x64',
  'linux arm64': 'linux-arm64',
  'darwin x64': 'darwin-x64',
  'darwin arm64': 'darwin-arm64',
  'win32 x64': 'win32-x64',
};

function binaryPath() {
  const suffix = PLATFORMS[`${process.platform} ${process.arch}`];
  if (!suffix) {
    fail(
      `no prebuilt vsync for ${process.platform}/${process.arch}; ` +
        'build it from source: cargo install --git https://github.com/muthuishere/vsync-s3-client vsync-cli',
    );
  }
  const pkg = `@muthuishere/vsync-cli-${suffix}`;
  const exe = process.platform === 'win32' ? 'vsync.exe' : 'vsync';
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch {
    fail(
      `the package ${pkg} is not installed (npm skipped its optional dependencies: ` +
        '--omit=optional, --no-optional or a lockfile made on another platform); reinstall @muthuishere/vsync-cli without those',
    );
  }
}

function fail(message) {
  process.stderr.write(`vsync: error: ${message}\n`);
  process.exit(1);
}

// spawnSync with inherited stdio: the terminal's ^C reaches the binary directly (same process
// group). A signal sent to this node process alone is not relayed: where signals matter
// (`vsync run` as a container's or a service's main process), run the binary itself.
const result = spawnSync(binaryPath(), process.argv.slice(2), { stdio: 'inherit' });
if (result.error) fail(`cannot run the vsync binary: ${result.error.message}`);
if (result.signal) {
  // Die of the same signal, so the caller sees what the binary saw.
  process.kill(process.pid, result.signal);
}
process.exit(result.status ?? 1);
