'use strict';
// The handle without a server (a vault built from a payload through the private hook): the
// chain with process.env read at lookup time, assets, close, redaction, argument checks.
const assert = require('node:assert/strict');
const util = require('node:util');
const { test } = require('node:test');
const vsync = require('..');

const SECRET = 'postgres://user:hunter2@db/prod';
const payload = Buffer.from(
  JSON.stringify({
    kv: { DATABASE_URL: SECRET, SHARED: 'from-vault' },
    assets: { 'tls/ca.pem': Buffer.from([0, 1, 2, 255]).toString('base64') },
  }),
);
const handle = (defaults = { PORT: '8080', SHARED: 'from-default' }) =>
  vsync._testing.openPayload(payload, 'prod', null, defaults);

test('chain: vault, then process.env read at lookup time, then defaults, then null', () => {
  const h = handle();
  delete process.env.VSYNC_NODE_T1;
  assert.equal(h.getEnv('VSYNC_NODE_T1'), null);
  assert.equal(h.envSource('VSYNC_NODE_T1'), 'missing');
  assert.equal(h.hasEnv('VSYNC_NODE_T1'), false);
  process.env.VSYNC_NODE_T1 = 'set-after-open';
  try {
    assert.equal(h.getEnv('VSYNC_NODE_T1'), 'set-after-open');
    assert.equal(h.envSource('VSYNC_NODE_T1'), 'env');
    assert.equal(h.hasEnv('VSYNC_NODE_T1'), true);
    process.env.VSYNC_NODE_T1 = '';
    assert.equal(h.getEnv('VSYNC_NODE_T1'), '', 'an empty variable counts as set');
    assert.equal(h.envSource('VSYNC_NODE_T1'), 'env');
  } finally {
    delete process.env.VSYNC_NODE_T1;
  }
  process.env.PORT = '9999';
  try {
    assert.equal(h.getEnv('PORT'), '9999', 'env beats defaults');
  } finally {
    delete process.env.PORT;
  }
  assert.equal(h.getEnv('PORT'), '8080');
  assert.equal(h.envSource('PORT'), 'default');
  process.env.SHARED = 'from-env';
  try {
    assert.equal(h.getEnv('SHARED'), 'from-vault', 'vault beats env');
    assert.equal(h.envSource('SHARED'), 'vault');
  } finally {
    delete process.env.SHARED;
  }
  assert.deepEqual(h.keys(), ['DATABASE_URL', 'SHARED']);
  assert.equal(h.generation(), 0);
});

test('process.env is read at each lookup (replacing process.env itself is seen too)', () => {
  const h = handle();
  const real = process.env;
  process.env = { ...real, PORT: 'from-replaced-env' };
  try {
    assert.equal(h.getEnv('PORT'), 'from-replaced-env');
    assert.equal(h.getEnv('DATABASE_URL'), SECRET);
  } finally {
    process.env = real;
  }
  assert.equal(h.getEnv('PORT'), '8080');
});

test('getAsContent: asset bytes, else the key as UTF-8, else null', () => {
  const h = handle();
  const b = h.getAsContent('tls/ca.pem');
  assert.ok(Buffer.isBuffer(b) && b instanceof Uint8Array);
  assert.deepEqual([...b], [0, 1, 2, 255]);
  assert.equal(h.getAsContent('DATABASE_URL').toString('utf8'), SECRET);
  assert.equal(h.getAsContent('missing.pem'), null);
  // a copy: changing it does not change the vault
  b[0] = 9;
  assert.equal(h.getAsContent('tls/ca.pem')[0], 0);
});

test('close is idempotent; every later call throws a plain Error', async () => {
  const h = handle();
  h.close();
  h.close();
  for (const call of [
    () => h.getEnv('DATABASE_URL'),
    () => h.hasEnv('X'),
    () => h.envSource('X'),
    () => h.getAsContent('tls/ca.pem'),
    () => h.keys(),
    () => h.generation(),
  ]) {
    assert.throws(
      call,
      (e) =>
        e instanceof Error && !(e instanceof vsync.VSyncError) && e.code === 'VSYNC_CLOSED' && /closed/.test(e.message),
    );
  }
  await assert.rejects(h.remoteGeneration(), (e) => !(e instanceof vsync.VSyncError) && e.code === 'VSYNC_CLOSED');
  await assert.rejects(h.hasNewVersion(), (e) => !(e instanceof vsync.VSyncError) && e.code === 'VSYNC_CLOSED');
  assert.equal(String(h), '<vsync:redacted gen=0 env=prod>');
});

test('a payload handle has no remote: remoteGeneration is a ConfigMissingError', async () => {
  await assert.rejects(handle().remoteGeneration(), vsync.ConfigMissingError);
});

test('redaction: toJSON, inspect, console.log, toString, enumeration show no key or value', () => {
  const h = handle();
  assert.equal(JSON.stringify(h), '"<vsync:redacted>"');
  assert.equal(JSON.stringify({ h }), '{"h":"<vsync:redacted>"}');
  assert.equal(util.inspect(h), '<vsync:redacted>');
  assert.equal(util.inspect(h, { showHidden: true, depth: 10 }), '<vsync:redacted>');
  assert.equal(util.format('%o %O %s %j', h, h, h, h).includes('DATABASE'), false);
  assert.equal(String(h), '<vsync:redacted gen=0 env=prod>');
  assert.equal(`${h}`, '<vsync:redacted gen=0 env=prod>');
  assert.equal(Object.prototype.toString.call(h), '[object Vsync]');
  assert.deepEqual(Object.keys(h), []);
  assert.deepEqual(Reflect.ownKeys(h), []);
  assert.deepEqual({ ...h }, {});
  assert.deepEqual(Object.entries(h), []);
  const shown = util.inspect(h, { customInspect: false, showHidden: true, depth: 10, getters: true });
  for (const needle of ['hunter2', 'DATABASE_URL', 'from-vault', 'PORT', '8080'])
    assert.equal(shown.includes(needle), false, `${needle} in ${shown}`);
  assert.equal(util.inspect(structuredClone(h)), '{}');
  // console.log goes through util.inspect
  const lines = [];
  const orig = console.log;
  console.log = (...a) => lines.push(util.format(...a));
  try {
    console.log(h);
    console.log('handle: %s', h);
  } finally {
    console.log = orig;
  }
  assert.deepEqual(lines, ['<vsync:redacted>', 'handle: <vsync:redacted gen=0 env=prod>']);
});

test('the handle cannot be constructed directly', () => {
  assert.throws(() => new vsync.Vsync(), TypeError);
});

test("argument checks are TypeErrors; null/empty inputs are the core's ConfigMissingError", async () => {
  const h = handle();
  assert.throws(() => h.getEnv(1), TypeError);
  assert.throws(() => h.getAsContent(undefined), TypeError);
  await assert.rejects(vsync.open({ defaults: { A: 1 } }), TypeError);
  await assert.rejects(vsync.open({ timeoutMs: -5 }), TypeError);
  // A huge timeout is clamped by the core (24 h), not a panic (issue 12 #7): the open goes on
  // and fails on the config.
  for (const timeoutMs of [1e300, Number.MAX_VALUE, 2 ** 64]) {
    await assert.rejects(
      vsync.openWith({ config: 'vsync-cfg-v1:x', passphrase: 'p', timeoutMs }),
      vsync.BundleCorruptError,
    );
  }
  await assert.rejects(vsync.openWith(), TypeError);
  await assert.rejects(vsync.openWith({ config: 42, passphrase: 'p' }), TypeError);
  await assert.rejects(vsync.openWith({ config: null, passphrase: 'p' }), vsync.ConfigMissingError);
  await assert.rejects(vsync.openWith({ config: 'vsync-cfg-v1:x', passphrase: '' }), vsync.ConfigMissingError);
  await assert.rejects(vsync.openWith({ config: '{"v":1}', passphrase: 'p' }), vsync.ConfigMissingError);
  await assert.rejects(
    vsync.openWith({ config: 'vsync-cfg-v1:abc=', passphrase: 'p' }),
    vsync.ConfigUnsupportedVersionError,
  );
});

test('open() reads process.env: nothing set is a ConfigMissingError naming VSYNC_CONFIG', async () => {
  const saved = {};
  for (const k of ['VSYNC_CONFIG', 'VSYNC_CONFIG_FILE', 'VSYNC_PASSPHRASE', 'VSYNC_PASSPHRASE_FILE']) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
  try {
    await assert.rejects(vsync.open(), (e) => e instanceof vsync.ConfigMissingError && /VSYNC_CONFIG/.test(e.message));
    process.env.VSYNC_CONFIG_FILE = '/nonexistent/vsync-config';
    await assert.rejects(
      vsync.open(),
      (e) => e instanceof vsync.ConfigMissingError && e.message.includes('/nonexistent/vsync-config'),
    );
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
});

test('concurrent readers on one handle (many async callers, no shared mutable state)', async () => {
  const h = handle();
  const reads = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      await new Promise((r) => setImmediate(r));
      return i % 2 ? h.getEnv('DATABASE_URL') : h.getAsContent('tls/ca.pem').length;
    }),
  );
  for (const [i, r] of reads.entries()) assert.equal(r, i % 2 ? SECRET : 4);
});
