'use strict';
// Shared helpers of the tests: the real local S3 server's variables, the vsync CLI, temp files.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vsync = require('..');

/** A test variable set by scripts/with-s3.sh; missing → the test fails (never skips). */
function requireEnv(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through scripts/with-s3.sh (scripts/test-node.sh)`);
  return v;
}

function s3() {
  return {
    endpoint: requireEnv('VSYNC_TEST_ENDPOINT'),
    accessKey: requireEnv('VSYNC_TEST_ACCESS_KEY'),
    secretKey: requireEnv('VSYNC_TEST_SECRET_KEY'),
    bucket: requireEnv('VSYNC_TEST_BUCKET'),
  };
}

function cli(args, opts = {}) {
  return execFileSync(requireEnv('VSYNC_BIN'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vsync-node-'));
}

function uniquePrefix() {
  return `node-${crypto.randomUUID()}/`;
}

/** A runtime token for a fresh prefix (or the given one), with optional credential overrides
 * (`salt`: the same salt for two tokens of one vault, e.g. the same bucket through a proxy;
 * `ambient`: a keyless token, SPEC §2, signed by the AWS default chain of the reader). */
function runtimeToken({ prefix = uniquePrefix(), env = 'test', bucket, endpoint, secretKey, salt, ambient } = {}) {
  const s = s3();
  return cli([
    'runtime-token',
    ...(salt ? ['--salt', salt] : []),
    '--endpoint',
    endpoint ?? s.endpoint,
    '--region',
    'us-east-1',
    '--bucket',
    bucket ?? s.bucket,
    '--prefix',
    prefix,
    '--env',
    env,
    ...(ambient
      ? ['--ambient-credentials']
      : ['--access-key-id', s.accessKey, '--secret-access-key', secretKey ?? s.secretKey]),
  ]).trim();
}

/** Pushes `dotenv` (text) and `assets` ({name: Buffer}) with the CLI; returns the generation pushed. */
function push(config, passphrase, dotenv, assets = {}) {
  const dir = tmpDir();
  try {
    const passFile = path.join(dir, 'pass');
    fs.writeFileSync(passFile, passphrase, { mode: 0o600 });
    const envFile = path.join(dir, '.env');
    fs.writeFileSync(envFile, dotenv, { mode: 0o600 });
    const args = ['push', '--config', config, '--passphrase-file', passFile, '--env-file', envFile];
    for (const [name, bytes] of Object.entries(assets)) {
      const p = path.join(dir, `asset-${crypto.randomUUID()}`);
      fs.writeFileSync(p, bytes, { mode: 0o600 });
      args.push('--asset', `${name}=${p}`);
    }
    const out = cli(args);
    const m = /pushed gen=(\d+) ts=\S+/.exec(out);
    if (!m) throw new Error(`unexpected push output: ${out}`);
    return Number(m[1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The canonical class name of an error (SPEC §9), or a description of what else it was. */
function errorName(err) {
  if (err instanceof vsync.VSyncError) return err.name;
  return `not a VSyncError: ${err && err.name}: ${err && err.message}`;
}

/** Runs fn with process.env holding exactly `env` for `keys` (set those, delete the others). */
async function withEnv(env, keys, fn) {
  const all = new Set([...keys, ...Object.keys(env)]);
  const saved = new Map([...all].map((k) => [k, process.env[k]]));
  for (const k of all) {
    if (Object.hasOwn(env, k)) process.env[k] = env[k];
    else delete process.env[k];
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

module.exports = { requireEnv, s3, cli, tmpDir, uniquePrefix, runtimeToken, push, errorName, withEnv };
