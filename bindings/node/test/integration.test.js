'use strict';
// Against the real local S3 server of scripts/with-s3.sh, with vaults pushed by the vsync CLI.
// Fails (never skips) when the VSYNC_TEST_* variables are missing.
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');
const { Worker } = require('node:worker_threads');
const { before, describe, test } = require('node:test');
const vsync = require('..');
const { errorName, push, requireEnv, runtimeToken, s3, tmpDir, uniquePrefix, withEnv } = require('./helpers');

const PASS = 'correct horse battery staple';
const DB = 'postgres://app:s3cr3t-value@db/prod';
const CA = Buffer.from([0x2d, 0x2d, 0x00, 0xff, 0x10, 0x80]);
const DOTENV = `DATABASE_URL=${DB}\nAPI_TOKEN="tok-123"\nSHARED=from-vault\n`;
const BOOT = ['VSYNC_CONFIG', 'VSYNC_CONFIG_FILE', 'VSYNC_PASSPHRASE', 'VSYNC_PASSPHRASE_FILE'];

let config; // a vault pushed once (gen 1) for the read-only tests

before(() => {
  config = runtimeToken({ env: 'staging' });
  assert.equal(push(config, PASS, DOTENV, { 'tls/ca.pem': CA }), 1);
});

function expectError(cls) {
  return (e) => {
    assert.equal(errorName(e), cls.name);
    assert.ok(e instanceof cls && e instanceof vsync.VSyncError);
    assert.equal(e.code, cls.code);
    for (const secret of [PASS, s3().secretKey, DB])
      assert.equal(e.message.includes(secret), false, 'no secret in the message');
    return true;
  };
}

function checkVault(h) {
  assert.equal(h.generation(), 1);
  assert.equal(h.getEnv('DATABASE_URL'), DB);
  assert.equal(h.envSource('DATABASE_URL'), 'vault');
  assert.equal(h.getEnv('API_TOKEN'), 'tok-123');
  assert.deepEqual(h.keys(), ['DATABASE_URL', 'API_TOKEN', 'SHARED']);
  assert.ok(h.getAsContent('tls/ca.pem').equals(CA));
  assert.equal(h.getAsContent('API_TOKEN').toString(), 'tok-123');
  assert.equal(h.getAsContent('nope'), null);
}

describe('open() from process.env', () => {
  test('a CLI-pushed vault: values, sources, defaults, assets, generation', async () => {
    await withEnv(
      { VSYNC_CONFIG: `${config}\n`, VSYNC_PASSPHRASE: PASS, LOG_LEVEL: 'debug' },
      [...BOOT, 'PORT'],
      async () => {
        const h = await vsync.open({ defaults: { PORT: '8080', LOG_LEVEL: 'info', SHARED: 'x' }, timeoutMs: 10000 });
        checkVault(h);
        assert.equal(h.getEnv('LOG_LEVEL'), 'debug');
        assert.equal(h.envSource('LOG_LEVEL'), 'env');
        assert.equal(h.getEnv('PORT'), '8080');
        assert.equal(h.envSource('PORT'), 'default');
        assert.equal(h.getEnv('SHARED'), 'from-vault');
        assert.equal(h.hasEnv('NOPE_NOT_SET'), false);
        assert.equal(h.getEnv('NOPE_NOT_SET'), null);
        assert.equal(await h.remoteGeneration(), 1);
        assert.equal(await h.hasNewVersion(), false);
        h.close();
        assert.throws(() => h.getEnv('DATABASE_URL'), /closed/);
      },
    );
  });

  test('environ(): every name getEnv answers, vault → process.env → defaults, in name order', async () => {
    await withEnv({ SHARED: 'from-env', ONLY_ENV: 'e', EMPTY_ENV: '' }, ['PORT', 'API_TOKEN'], async () => {
      const defaults = { PORT: '8080', ONLY_ENV: 'd', API_TOKEN: 'default-token' };
      const h = await vsync.openWith({ config, passphrase: PASS, defaults });
      const view = h.environ();
      assert.equal(Object.getPrototypeOf(view), null);
      assert.deepEqual(
        ['DATABASE_URL', 'API_TOKEN', 'SHARED', 'ONLY_ENV', 'EMPTY_ENV', 'PORT'].map((k) => [k, view[k]]),
        [
          ['DATABASE_URL', DB],
          ['API_TOKEN', 'tok-123'],
          ['SHARED', 'from-vault'],
          ['ONLY_ENV', 'e'],
          ['EMPTY_ENV', ''],
          ['PORT', '8080'],
        ],
      );
      // Exactly getEnv key by key: every variable of process.env is there, and nothing else.
      const names = new Set([...Object.keys(process.env), 'DATABASE_URL', 'API_TOKEN', 'SHARED', 'PORT']);
      assert.deepEqual(Object.keys(view).sort(), [...names].sort());
      for (const k of Object.keys(view)) assert.equal(view[k], h.getEnv(k), k);
      assert.equal('tls/ca.pem' in view, false, 'assets are not part of the chain');
      process.env.ONLY_ENV = 'changed';
      assert.equal(view.ONLY_ENV, 'e', 'a snapshot');
      assert.equal(h.environ().ONLY_ENV, 'changed');
      h.close();
      assert.throws(() => h.environ(), /closed/);
    });
  });

  test('the event loop keeps running while open() is pending', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    let firedAt;
    setTimeout(() => {
      firedAt = performance.now() - started;
    }, 1);
    const pending = vsync.openWith({ config, passphrase: PASS });
    assert.equal(ticks, 0);
    const h = await pending;
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assert.ok(firedAt !== undefined && firedAt < elapsed, `timer fired at ${firedAt} ms, open took ${elapsed} ms`);
    assert.ok(ticks >= 2, `${ticks} ticks during a ${elapsed.toFixed(0)} ms open`);
    checkVault(h);
  });

  test('_FILE variables: 0600 read silently, 0644 read with one warning, 0666 refused', async () => {
    const dir = tmpDir();
    try {
      const cfgFile = path.join(dir, 'config');
      const passFile = path.join(dir, 'pass');
      fs.writeFileSync(cfgFile, `${config}\r\n`);
      fs.writeFileSync(passFile, `${PASS}\n`);
      fs.chmodSync(cfgFile, 0o600);
      fs.chmodSync(passFile, 0o600);
      // _FILE wins over the direct variable.
      const env = {
        VSYNC_CONFIG_FILE: cfgFile,
        VSYNC_PASSPHRASE_FILE: passFile,
        VSYNC_CONFIG: 'ignored',
        VSYNC_PASSPHRASE: 'ignored',
      };
      await withEnv(env, BOOT, async () => checkVault(await vsync.open()));

      // 0644: read, one warning on stderr (checked in a child process, which owns its stderr).
      fs.chmodSync(passFile, 0o644);
      const script =
        "require('./index.js').open().then(h => console.log('gen=' + h.generation()), e => { console.log(e.name); process.exit(3); })";
      const child = spawnSync(process.execPath, ['-e', script], {
        cwd: path.join(__dirname, '..'),
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      assert.equal(child.status, 0, child.stdout + child.stderr);
      assert.equal(child.stdout.trim(), 'gen=1');
      assert.equal(child.stderr, `vsync: ${passFile} is group/world-readable (mode 0644); narrow to 0600\n`);

      // 0666: world-writable is refused, naming the mode.
      fs.chmodSync(passFile, 0o666);
      await withEnv(env, BOOT, () =>
        assert.rejects(
          vsync.open(),
          (e) => expectError(vsync.ConfigMissingError)(e) && /0666|writable/.test(e.message),
        ),
      );
      // An empty file (after stripping) is a ConfigMissingError naming the path.
      fs.writeFileSync(passFile, '\n\n');
      fs.chmodSync(passFile, 0o600);
      await withEnv(env, BOOT, () =>
        assert.rejects(vsync.open(), (e) => expectError(vsync.ConfigMissingError)(e) && e.message.includes(passFile)),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openWith()', () => {
  test('explicit inputs ignore the environment', async () => {
    await withEnv({ VSYNC_CONFIG: 'garbage', VSYNC_PASSPHRASE: 'wrong' }, BOOT, async () => {
      checkVault(await vsync.openWith({ config, passphrase: PASS, timeoutMs: 10000 }));
    });
  });

  test('hasNewVersion after a second push; the open handle keeps its generation', async () => {
    const cfg = runtimeToken();
    assert.equal(push(cfg, PASS, 'A=one\n'), 1);
    const h = await vsync.openWith({ config: cfg, passphrase: PASS });
    assert.equal(await h.hasNewVersion(), false);
    assert.equal(push(cfg, PASS, 'A=two\n'), 2);
    assert.equal(await h.hasNewVersion(), true);
    assert.equal(await h.remoteGeneration(), 2);
    assert.equal(h.generation(), 1);
    assert.equal(h.getEnv('A'), 'one');
    const fresh = await vsync.openWith({ config: cfg, passphrase: PASS });
    assert.equal(fresh.generation(), 2);
    assert.equal(fresh.getEnv('A'), 'two');
    assert.equal(await fresh.hasNewVersion(), false);
  });

  test('worker threads open and read concurrently with the main thread', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const vsync = require(workerData.pkg);
      vsync.openWith({ config: workerData.config, passphrase: workerData.pass }).then((h) => {
        let ok = 0;
        for (let i = 0; i < 5000; i++) {
          if (h.getEnv('DATABASE_URL') === workerData.db && h.getAsContent('tls/ca.pem').length === 6) ok++;
        }
        parentPort.postMessage({ ok, gen: h.generation(), str: String(h) });
      }, (e) => parentPort.postMessage({ error: e.name }));`;
    const pkg = path.join(__dirname, '..');
    const main = await vsync.openWith({ config, passphrase: PASS });
    const runs = Array.from(
      { length: 4 },
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { pkg, config, pass: PASS, db: DB } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    );
    let mainReads = 0;
    const reader = setInterval(() => {
      for (let i = 0; i < 100; i++) if (main.getEnv('DATABASE_URL') === DB) mainReads++;
    }, 1);
    const results = await Promise.all(runs);
    clearInterval(reader);
    for (const r of results) assert.deepEqual(r, { ok: 5000, gen: 1, str: '<vsync:redacted gen=1 env=staging>' });
    assert.ok(mainReads > 0);
  });

  test('redaction of a real handle', async () => {
    const h = await vsync.openWith({ config, passphrase: PASS });
    assert.equal(JSON.stringify(h), '"<vsync:redacted>"');
    assert.equal(util.inspect(h), '<vsync:redacted>');
    assert.equal(String(h), '<vsync:redacted gen=1 env=staging>');
    assert.deepEqual(Object.keys(h), []);
    const all = [
      util.inspect(h, { customInspect: false, showHidden: true }),
      JSON.stringify({ h }),
      util.format('%o', h),
    ].join('\n');
    for (const s of [DB, 'tok-123', PASS, 'DATABASE_URL']) assert.equal(all.includes(s), false);
  });
});

describe('every error class from a real scenario', () => {
  test('ConfigMissingError: no bootstrap variables in process.env', async () => {
    await withEnv({}, BOOT, () => assert.rejects(vsync.open(), expectError(vsync.ConfigMissingError)));
  });

  test('ConfigUnsupportedVersionError: a padded token', async () => {
    await assert.rejects(
      vsync.openWith({ config: `${config}=`, passphrase: PASS }),
      expectError(vsync.ConfigUnsupportedVersionError),
    );
  });

  test('BundleCorruptError: a damaged token', async () => {
    await assert.rejects(
      vsync.openWith({ config: 'vsync-cfg-v1:not*base64url', passphrase: PASS }),
      expectError(vsync.BundleCorruptError),
    );
    await assert.rejects(
      vsync.openWith({ config: 'vsync-cfg-v1:aGVsbG8', passphrase: PASS }),
      expectError(vsync.BundleCorruptError),
    );
  });

  test('ManifestNotFoundError: nothing pushed under the prefix', async () => {
    const prefix = uniquePrefix();
    await assert.rejects(
      vsync.openWith({ config: runtimeToken({ prefix }), passphrase: PASS }),
      (e) => expectError(vsync.ManifestNotFoundError)(e) && e.message.includes(prefix),
    );
  });

  test('WrongPassphraseError: a wrong passphrase on a pushed vault', async () => {
    await assert.rejects(
      vsync.openWith({ config, passphrase: 'not the passphrase' }),
      expectError(vsync.WrongPassphraseError),
    );
  });

  test('S3UnreachableError: a wrong secret key (a real SigV4 403)', async () => {
    const cfg = runtimeToken({ prefix: uniquePrefix(), secretKey: 'wrong-secret-key-value' });
    await assert.rejects(
      vsync.openWith({ config: cfg, passphrase: PASS }),
      (e) => expectError(vsync.S3UnreachableError)(e) && !e.message.includes('wrong-secret-key-value'),
    );
  });

  test('S3UnreachableError: a closed port', async () => {
    const port = await new Promise((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    const cfg = runtimeToken({ endpoint: `http://127.0.0.1:${port}` });
    await assert.rejects(
      vsync.openWith({ config: cfg, passphrase: PASS, timeoutMs: 5000 }),
      expectError(vsync.S3UnreachableError),
    );
  });

  test('S3UnreachableError: a server that never answers, bounded by timeoutMs (served by this event loop)', async () => {
    const sockets = [];
    const srv = net.createServer((s) => sockets.push(s));
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const cfg = runtimeToken({ endpoint: `http://127.0.0.1:${srv.address().port}` });
      const t0 = performance.now();
      await assert.rejects(
        vsync.openWith({ config: cfg, passphrase: PASS, timeoutMs: 400 }),
        // The server never answers: only the deadline ends the call, and the message names it.
        (e) => expectError(vsync.S3UnreachableError)(e) && /did not answer within 400ms/.test(e.message),
      );
      const ms = performance.now() - t0;
      // Not before the deadline; within the deadline + 10 s (key derivation on a loaded machine).
      assert.ok(ms >= 350 && ms < 400 + 10000, `timed out after ${ms} ms`);
      assert.ok(sockets.length >= 1, 'the main thread accepted the connection while open() was pending');
    } finally {
      for (const s of sockets) s.destroy();
      srv.close();
    }
  });

  test('timeoutMs bounds remoteGeneration and hasNewVersion (docs/deadlines.md)', async () => {
    // A proxy to the S3 server that holds new connections unanswered once frozen: only the open's
    // deadline can end a call then, whichever thread runs first, and the error names it.
    const target = new URL(s3().endpoint);
    const sockets = [];
    let frozen = false;
    const proxy = net.createServer((client) => {
      sockets.push(client);
      client.on('error', () => {});
      if (frozen) return; // held, never answered
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.push(upstream);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const prefix = uniquePrefix();
      const salt = `node-deadline-${crypto.randomUUID()}`;
      assert.equal(push(runtimeToken({ prefix, salt }), PASS, DOTENV), 1);
      const through = runtimeToken({ prefix, salt, endpoint: `http://127.0.0.1:${proxy.address().port}` });
      const h = await vsync.openWith({ config: through, passphrase: PASS, timeoutMs: 3000 });
      try {
        assert.equal(await h.remoteGeneration(), 1);
        frozen = true;
        for (const call of ['remoteGeneration', 'hasNewVersion']) {
          await assert.rejects(
            h[call](),
            (e) => expectError(vsync.S3UnreachableError)(e) && /did not answer within 3s/.test(e.message),
          );
        }
      } finally {
        h.close();
      }
    } finally {
      for (const s of sockets) s.destroy();
      proxy.close();
    }
  });

  test('pending opens against a hanging server leave the libuv pool free (issue 12 #6)', async () => {
    // More opens than libuv has pool threads, all stuck on a server that never answers: an
    // unrelated fs.promises.readFile (a pool job) must still complete while every one of them
    // is pending. Ordered by events, not by a timer.
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE || 4);
    const count = poolSize + 2;
    const sockets = [];
    let allConnected;
    const connected = new Promise((r) => (allConnected = r));
    const srv = net.createServer((s) => {
      sockets.push(s);
      if (sockets.length === count) allConnected();
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const cfg = runtimeToken({ endpoint: `http://127.0.0.1:${srv.address().port}` });
    let settled = 0;
    const opens = Array.from({ length: count }, () =>
      vsync.openWith({ config: cfg, passphrase: PASS, timeoutMs: 15000 }).then(
        () => assert.fail('open() cannot succeed against a server that never answers'),
        (e) => {
          settled += 1;
          return e;
        },
      ),
    );
    try {
      await connected; // every open is in flight at once
      const text = await fs.promises.readFile(__filename, 'utf8');
      assert.ok(text.includes('leave the libuv pool free'));
      assert.equal(settled, 0, 'readFile completed while every open was still pending');
    } finally {
      for (const s of sockets) s.destroy();
      srv.close();
    }
    for (const e of await Promise.all(opens)) expectError(vsync.S3UnreachableError)(e);
  });

  test('UnsupportedSpecVersionError: a bundle written by a newer format (seeded live scenario)', async () => {
    const live = requireEnv('VSYNC_CONFORMANCE_LIVE');
    const vector = JSON.parse(
      fs.readFileSync(
        path.join(__dirname, '..', '..', '..', 'conformance', 'vectors', 's3-scenario', 'unsupported-envelope.json'),
        'utf8',
      ),
    );
    const file = path.join(live, 's3-scenario', 'unsupported-envelope.config');
    const cfg = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : assert.fail(`${file} not seeded`);
    await assert.rejects(
      vsync.openWith({ config: cfg, passphrase: vector.inputs.passphrase }),
      expectError(vsync.UnsupportedSpecVersionError),
    );
  });
});

test('the CLI reads back what the Node handle reads (same vault, same bytes)', () => {
  const out = execFileSync(requireEnv('VSYNC_BIN'), ['get', 'DATABASE_URL'], {
    env: { ...process.env, VSYNC_CONFIG: config, VSYNC_PASSPHRASE: PASS },
    encoding: 'utf8',
  });
  assert.equal(out.replace(/\n$/, ''), DB);
});
