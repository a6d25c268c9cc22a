'use strict';
// The fault-injection suite through the Node binding (./scripts/task test:faults; docs/faults.md):
// scripts/faults/faultproxy.py between the binding and the real S3 server injects one fault per
// case; each case asserts the error class, a time bound (what it protects is stated) and how many
// requests the failure cost. The core's own cases are in core/tests/faults.rs.
const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const vsync = require('../..');
const { s3, cli, uniquePrefix, errorName } = require('../helpers');
const { startProxy, rule } = require('./faultproxy');

const PASS = 'node fault-suite passphrase';
const TIMEOUT_MS = 2000;
// Scheduling slack on a loaded 2-core machine; what the bounds catch (a retry after the deadline,
// an unbounded body read, a followed redirect) costs far more.
const SLACK_MS = 2000;
const MANIFEST = '/manifest$';
const BUNDLE = '/v%3D[0-9-]+$';
const SALT = 'node-fault-suite-salt-0123';

/** A runtime token for `prefix` at `endpoint`, the secret key passed through the environment. */
function token(prefix, endpoint) {
  const s = s3();
  const args = ['runtime-token', '--endpoint', endpoint, '--region', 'us-east-1', '--bucket', s.bucket];
  args.push(
    '--prefix',
    prefix,
    '--env',
    'test',
    '--access-key-id',
    s.accessKey,
    '--salt',
    SALT,
    '--iterations',
    '1000',
  );
  return cli(args, { env: { ...process.env, AWS_SECRET_ACCESS_KEY: s.secretKey } }).trim();
}

/** Pushes K=v1 straight to the server; returns the prefix. */
function seed() {
  const prefix = uniquePrefix();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsync-node-faults-'));
  try {
    fs.writeFileSync(path.join(dir, 'token'), token(prefix, s3().endpoint), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'pass'), PASS, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, '.env'), 'K=v1\n', { mode: 0o600 });
    cli(
      ['push', '--config-file', path.join(dir, 'token'), '--passphrase-file', path.join(dir, 'pass')].concat([
        '--env-file',
        path.join(dir, '.env'),
      ]),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return prefix;
}

/** Opens through a proxy with `rules`; returns {result | error, ms, proxy}. */
async function openThrough(rules, tls) {
  const prefix = seed();
  const proxy = await startProxy(rules, tls);
  try {
    const t0 = performance.now();
    let result;
    let error;
    try {
      result = await vsync.openWith({ config: token(prefix, proxy.endpoint), passphrase: PASS, timeoutMs: TIMEOUT_MS });
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t0;
    const seen = await proxy.seen();
    const connections = await proxy.connections();
    return { result, error, ms, seen, connections };
  } finally {
    proxy.stop();
  }
}

const count = (seen, method, re) => seen.filter((r) => r.method === method && new RegExp(re).test(r.path)).length;

function failsWith(r, cls) {
  assert.ok(r.error, `the open must fail (it returned ${r.result})`);
  assert.ok(r.error instanceof cls, `${errorName(r.error)}: ${r.error.message}`);
  assert.ok(r.ms < TIMEOUT_MS + SLACK_MS, `the deadline bounds the failure: took ${r.ms} ms`);
}

describe('fault injection through the Node binding', () => {
  let certs;
  before(() => {
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'vsync-node-certs-'));
    execFileSync('bash', [path.join(__dirname, '..', '..', '..', '..', 'scripts', 'faults', 'make-certs.sh'), certs]);
  });
  after(() => fs.rmSync(certs, { recursive: true, force: true }));

  test('hang: S3UnreachableError after timeoutMs and no more', async () => {
    const r = await openThrough([rule('GET', MANIFEST, { kind: 'hang' })]);
    failsWith(r, vsync.S3UnreachableError);
    assert.ok(count(r.seen, 'GET', MANIFEST) >= 1);
  });

  test('503 SlowDown on every GET: retried, then S3UnreachableError', async () => {
    const r = await openThrough([rule('GET', MANIFEST, { kind: 'status', status: 503, code: 'SlowDown' })]);
    failsWith(r, vsync.S3UnreachableError);
    assert.ok(count(r.seen, 'GET', MANIFEST) >= 2, 'SlowDown is transient: retried');
  });

  test('one 503 SlowDown is absorbed by a retry', async () => {
    const r = await openThrough([
      rule('GET', MANIFEST, { kind: 'status', status: 503, code: 'SlowDown' }, { times: 1 }),
    ]);
    assert.ifError(r.error);
    assert.equal(r.result.getEnv('K'), 'v1');
    assert.equal(count(r.seen, 'GET', MANIFEST), 2);
  });

  test('403: one request, S3UnreachableError with a credentials hint', async () => {
    const r = await openThrough([rule('GET', MANIFEST, { kind: 'status', status: 403, code: 'AccessDenied' })]);
    failsWith(r, vsync.S3UnreachableError);
    assert.match(r.error.message, /403/);
    assert.equal(r.seen.length, 1);
  });

  test('NoSuchBucket: one request, S3UnreachableError naming the bucket', async () => {
    const r = await openThrough([rule('GET', MANIFEST, { kind: 'status', status: 404, code: 'NoSuchBucket' })]);
    failsWith(r, vsync.S3UnreachableError);
    assert.ok(r.error.message.includes(s3().bucket), r.error.message);
    assert.equal(r.seen.length, 1);
  });

  test('truncated bundle body on every try: retried, then S3UnreachableError', async () => {
    const r = await openThrough([rule('GET', BUNDLE, { kind: 'truncate' })]);
    failsWith(r, vsync.S3UnreachableError);
    assert.ok(count(r.seen, 'GET', BUNDLE) >= 2, JSON.stringify(r.seen));
  });

  test('a 1 GiB manifest: BundleCorruptError without reading it', async () => {
    const r = await openThrough([rule('GET', MANIFEST, { kind: 'huge_body', bytes: 2 ** 30 })]);
    failsWith(r, vsync.BundleCorruptError);
    assert.equal(count(r.seen, 'GET', MANIFEST), 1);
  });

  test('TLS with a self-signed certificate: S3UnreachableError, one connection (no retry)', async () => {
    const tls = { tlsCert: path.join(certs, 'self-signed.pem'), tlsKey: path.join(certs, 'self-signed.key') };
    const r = await openThrough([], tls);
    failsWith(r, vsync.S3UnreachableError);
    assert.equal(r.connections, 1, 'a certificate failure is not retried');
    assert.equal(r.seen.length, 0);
  });
});
