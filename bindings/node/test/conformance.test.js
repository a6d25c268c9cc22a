'use strict';
// The conformance runner (conformance/README.md): every category directory of the corpus, one
// test per vector, a failing test for a category it does not know. Corpus: VSYNC_CONFORMANCE_DIR,
// else <repo>/conformance/vectors. Live vectors read VSYNC_CONFORMANCE_LIVE/<category>/<name>.config.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, test } = require('node:test');
const vsync = require('..');
const { errorName, tmpDir, withEnv } = require('./helpers');

const { _testing: T } = vsync;
const corpus = path.resolve(
  process.env.VSYNC_CONFORMANCE_DIR || path.join(__dirname, '..', '..', '..', 'conformance', 'vectors'),
);
const hex = (b) => Buffer.from(b).toString('hex');

/** Runs `fn` and checks its outcome against `expected.error`: a class name, or null. */
async function outcome(expected, fn) {
  if (expected.error != null) {
    let err;
    try {
      await fn();
    } catch (e) {
      err = e;
    }
    assert.ok(err, `expected ${expected.error}, got success`);
    assert.equal(errorName(err), expected.error);
    return undefined;
  }
  return fn();
}

function liveConfig(v) {
  const dir = process.env.VSYNC_CONFORMANCE_LIVE;
  if (!dir) throw new Error('VSYNC_CONFORMANCE_LIVE is not set: live vectors run through scripts/with-s3.sh');
  const file = path.join(dir, v.category, `${v.name}.config`);
  if (!fs.existsSync(file)) throw new Error(`no live config ${file}: the scenario was not seeded`);
  return fs.readFileSync(file, 'utf8');
}

/** Creates `files` ({name: {content_hex, mode_octal}}) in a fresh dir; returns env with {dir} substituted. */
function materialize(files = {}, env = {}) {
  const dir = tmpDir();
  for (const [name, f] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, Buffer.from(f.content_hex, 'hex'));
    fs.chmodSync(p, parseInt(f.mode_octal, 8));
  }
  const sub = (s) => s.split('{dir}').join(dir);
  return { dir, sub, env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, sub(v)])) };
}

function checkResults(h, results) {
  for (const r of results) {
    assert.equal(h.getEnv(r.key), r.value, `getEnv(${r.key})`);
    assert.equal(h.envSource(r.key), r.source, `envSource(${r.key})`);
    assert.equal(h.hasEnv(r.key), r.has, `hasEnv(${r.key})`);
  }
}

// Passed when a vector names no passphrase: the family's live scenarios fail before decryption.
const ANY_PASSPHRASE = 'any non-empty passphrase';

/**
 * The one place this runner decides what an error-taxonomy vector runs (SPEC §11): the family's
 * four input shapes and our `config` shape, told apart by the inputs and the `.bin`'s first
 * bytes, never by the vector's name.
 */
function taxonomyStep(v) {
  const i = v.inputs;
  if (typeof i.scenario === 'string') return 'live';
  if (v.bin) {
    const blob = v.bin.subarray(0, 10).toString('latin1') === 'vsync-cfg-';
    return blob || typeof i.passphrase !== 'string' ? 'config-blob' : 'envelope';
  }
  if (typeof i.config === 'string') return 'open-with';
  if (i.env && typeof i.env === 'object') return 'bootstrap';
  return assert.fail(`error-taxonomy vector ${v.name}: no input shape this runner knows (${Object.keys(i)})`);
}

const RUNNERS = {
  'rqe1-decrypt': async (v) => {
    const out = await outcome(v.expected, () =>
      T.decryptEnvelope(v.bin, v.inputs.passphrase, v.inputs.salt, v.inputs.iterations ?? 600000),
    );
    if (v.expected.error == null) assert.equal(hex(out), v.expected.plaintext_hex);
  },

  'rqe1-decrypt-error': (v) => RUNNERS['rqe1-decrypt'](v),

  'rqem0001-manifest': async (v) => {
    const out = await outcome(v.expected, () => T.unsealManifest(v.bin, v.inputs.remote_ts ?? null));
    if (v.expected.error == null) {
      assert.equal(out.embeddedTs, v.expected.embedded_ts);
      assert.equal(hex(out.payload), v.expected.payload_hex);
    }
  },

  'config-blob': async (v) => {
    const out = await outcome(v.expected, () => T.decodeConfigJson(v.bin.toString('utf8')));
    if (v.expected.error == null) assert.deepEqual(JSON.parse(out), v.expected.config_json);
  },

  'fallback-chain': async (v) => {
    const { vault = {}, env = {}, defaults = {}, queries = [] } = v.inputs;
    const payload = Buffer.from(JSON.stringify({ kv: vault }));
    const h = await outcome(v.expected, () => T.openPayload(payload, 'test', null, defaults));
    if (v.expected.error != null) return;
    // process.env is read at lookup time: set it after open.
    await withEnv(env, queries, () => checkResults(h, v.expected.results));
  },

  'resolved-view': async (v) => {
    const { vault = {}, env = {}, defaults = {} } = v.inputs;
    const payload = Buffer.from(JSON.stringify({ kv: vault }));
    const h = await outcome(v.expected, () => T.openPayload(payload, 'test', null, defaults));
    if (v.expected.error != null) return;
    // The process environment is exactly `env` for the call: the facade reads process.env then.
    const saved = process.env;
    process.env = { ...env };
    try {
      const view = h.environ();
      const want = v.expected.environ;
      assert.deepEqual(
        Object.entries(view),
        want.map((e) => [e.key, e.value]),
      );
      assert.deepEqual(
        want.map((e) => h.envSource(e.key)),
        want.map((e) => e.source),
      );
    } finally {
      process.env = saved;
      h.close();
    }
  },

  'asset-path': async (v) => {
    const { key, vault = {} } = v.inputs;
    const payload = Buffer.from(JSON.stringify({ kv: vault, assets: { [key]: v.bin.toString('base64') } }));
    const h = await outcome(v.expected, () => T.openPayload(payload, 'test', null, {}));
    if (v.expected.error != null) return;
    const bytes = h.getAsContent(key);
    assert.ok(Buffer.isBuffer(bytes));
    assert.equal(hex(bytes), v.expected.bytes_hex);
    // The tempfile recipe of the README: a new file created 0600, written, read back.
    const dir = tmpDir();
    try {
      const file = path.join(dir, 'asset');
      fs.writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
      assert.equal(hex(fs.readFileSync(file)), v.expected.bytes_hex);
      assert.equal(`0${(fs.statSync(file).mode & 0o777).toString(8)}`, v.expected.mode_octal);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },

  bootstrap: async (v) => {
    const m = materialize(v.inputs.files, v.inputs.env);
    try {
      const out = await outcome(v.expected, () => T.resolveBootstrap(m.env));
      if (v.expected.error == null) {
        assert.equal(out.config, v.expected.config);
        assert.equal(out.passphrase, v.expected.passphrase);
        assert.deepEqual(out.warnings, (v.expected.warnings ?? []).map(m.sub));
      }
    } finally {
      fs.rmSync(m.dir, { recursive: true, force: true });
    }
  },

  'error-taxonomy': async (v) => {
    const i = v.inputs;
    assert.ok(v.expected.error, 'an error-taxonomy vector names an error');
    const passphrase = i.passphrase || ANY_PASSPHRASE;
    switch (taxonomyStep(v)) {
      case 'live': {
        const config = liveConfig(v);
        await outcome(v.expected, () => vsync.openWith({ config, passphrase, defaults: i.defaults }));
        break;
      }
      case 'envelope':
        await outcome(v.expected, () => T.decryptEnvelope(v.bin, i.passphrase, i.salt, i.iterations ?? 600000));
        break;
      case 'config-blob':
        await outcome(v.expected, () => T.decodeConfigJson(v.bin.toString('utf8')));
        break;
      case 'open-with':
        await outcome(v.expected, () => vsync.openWith({ config: i.config, passphrase }));
        break;
      case 'bootstrap': {
        const m = materialize(i.files, i.env);
        try {
          await outcome(v.expected, () => T.decodeConfigJson(T.resolveBootstrap(m.env).config));
        } finally {
          fs.rmSync(m.dir, { recursive: true, force: true });
        }
        break;
      }
    }
  },

  'vault-payload': async (v) => {
    const h = await outcome(v.expected, () => T.openPayload(v.bin, v.inputs.env, v.inputs.pointer_ts ?? null, {}));
    if (v.expected.error != null) return;
    assert.deepEqual(h.keys(), v.expected.keys);
    for (const [k, value] of Object.entries(v.expected.kv ?? {})) {
      assert.equal(h.getEnv(k), value, k);
      assert.equal(h.envSource(k), 'vault', k);
    }
    for (const [name, bytesHex] of Object.entries(v.expected.assets ?? {})) {
      assert.equal(hex(h.getAsContent(name)), bytesHex, name);
    }
  },

  's3-scenario': async (v) => {
    const i = v.inputs;
    const config = liveConfig(v);
    const h = await outcome(v.expected, () =>
      vsync.openWith({ config, passphrase: i.passphrase, defaults: i.defaults ?? {} }),
    );
    if (v.expected.error != null) return;
    try {
      assert.equal(h.generation(), v.expected.generation);
      await withEnv(i.env ?? {}, i.queries ?? [], () => checkResults(h, v.expected.results ?? []));
      for (const [name, bytesHex] of Object.entries(v.expected.assets ?? {})) {
        assert.equal(hex(h.getAsContent(name)), bytesHex, name);
      }
      assert.equal(await h.remoteGeneration(), v.expected.generation);
      assert.equal(await h.hasNewVersion(), false);
    } finally {
      h.close();
    }
  },

  rollback: async (v) => {
    const i = v.inputs;
    const config = liveConfig(v);
    const h = await outcome(v.expected, () =>
      vsync.openWith({ config, passphrase: i.passphrase, minGeneration: i.min_generation }),
    );
    if (v.expected.error != null) return;
    try {
      assert.equal(h.generation(), v.expected.generation);
      for (const [k, value] of Object.entries(v.expected.kv)) assert.equal(h.getEnv(k), value, k);
    } finally {
      h.close();
    }
  },
};

function loadVectors(dir, category) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.json'.length);
      const v = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const binFile = path.join(dir, `${name}.bin`);
      return {
        ...v,
        name,
        category,
        inputs: v.inputs ?? {},
        bin: fs.existsSync(binFile) ? fs.readFileSync(binFile) : null,
      };
    });
}

test(`corpus ${corpus} exists and has categories`, () => {
  assert.ok(fs.existsSync(corpus), `no corpus at ${corpus}`);
  assert.ok(fs.readdirSync(corpus, { withFileTypes: true }).some((d) => d.isDirectory()));
});

if (fs.existsSync(corpus)) {
  for (const d of fs
    .readdirSync(corpus, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const category = d.name;
    const run = RUNNERS[category];
    if (!run) {
      test(`unknown category ${category}`, () => assert.fail(`category ${category} is not known to the Node runner`));
      continue;
    }
    describe(category, () => {
      const vectors = loadVectors(path.join(corpus, category), category);
      test(`${category} has vectors`, () => assert.ok(vectors.length > 0));
      for (const v of vectors) {
        test(`${category}/${v.name}`, async () => {
          assert.equal(v.category, category, 'the vector names its category');
          await run(v);
        });
      }
    });
  }
}
