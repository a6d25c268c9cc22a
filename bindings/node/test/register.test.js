'use strict';
// The preload (register.js / register.mjs) as applications use it: `node -r` and `node --import`
// in child processes, against a vault pushed to the real local S3 server (scripts/with-s3.sh).
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { before, describe, test } = require('node:test');
const vsync = require('..');
const { push, runtimeToken, tmpDir } = require('./helpers');

const PASS = 'register correct horse battery staple';
const DB = 'postgres://app:preload-s3cr3t@db/prod';
let config;
let appDir;

before(() => {
  config = runtimeToken();
  assert.equal(push(config, PASS, `DATABASE_URL=${DB}\nSHARED=from-vault\n`), 1);
  // An application directory where the package resolves by its name, as after `npm i`.
  appDir = tmpDir();
  const scope = path.join(appDir, 'node_modules', '@muthuishere');
  fs.mkdirSync(scope, { recursive: true });
  fs.symlinkSync(path.resolve(__dirname, '..'), path.join(scope, 'vsync-s3-client'), 'dir');
  const print =
    'JSON.stringify([process.env.DATABASE_URL, process.env.SHARED, process.env.ONLY_ENV, process.env.VSYNC_PASSPHRASE ?? null, ' +
    "['VSYNC_CONFIG', 'VSYNC_CONFIG_FILE', 'VSYNC_PASSPHRASE', 'VSYNC_PASSPHRASE_FILE'].filter((k) => k in process.env)])";
  fs.writeFileSync(path.join(appDir, 'app.mjs'), `console.log(${print});\n`);
  fs.writeFileSync(path.join(appDir, 'app.js'), `'use strict';\nconsole.log(${print});\n`);
});

/** Runs `node ARGS` in the application directory with the bootstrap variables (and `extraEnv`). */
function node(args, { passphrase = PASS, extraEnv = {} } = {}) {
  const env = { ...process.env };
  for (const k of ['VSYNC_CONFIG_FILE', 'VSYNC_PASSPHRASE_FILE']) delete env[k];
  Object.assign(env, { VSYNC_CONFIG: config, VSYNC_PASSPHRASE: passphrase }, extraEnv);
  return spawnSync(process.execPath, args, { cwd: appDir, env, encoding: 'utf8', timeout: 120_000 });
}

describe('register: process.env from the vault before the first line', () => {
  for (const [form, args] of [
    ['node --import (ESM)', ['--import', '@muthuishere/vsync-s3-client/register', 'app.mjs']],
    ['node -r (CommonJS)', ['-r', '@muthuishere/vsync-s3-client/register', 'app.js']],
  ]) {
    test(`${form}: the vault wins, the environment fills the rest, the bootstrap is removed`, () => {
      const r = node(args, { extraEnv: { SHARED: 'from-env', ONLY_ENV: 'e' } });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [DB, 'from-vault', 'e', null, []]);
    });
  }

  test("the _FILE forms of the bootstrap are removed too (the core's list, as vsync run)", () => {
    const dir = fs.mkdtempSync(path.join(appDir, 'boot-'));
    const [cfgFile, passFile] = [path.join(dir, 'config'), path.join(dir, 'pass')];
    fs.writeFileSync(cfgFile, config, { mode: 0o600 });
    fs.writeFileSync(passFile, PASS, { mode: 0o600 });
    const r = node(['-r', '@muthuishere/vsync-s3-client/register', 'app.js'], {
      extraEnv: { VSYNC_CONFIG: '', VSYNC_CONFIG_FILE: cfgFile, VSYNC_PASSPHRASE_FILE: passFile },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [DB, 'from-vault', null, null, []]);
  });

  test('a failure to open ends the process before the application runs', () => {
    for (const args of [
      ['--import', '@muthuishere/vsync-s3-client/register', 'app.mjs'],
      ['-r', '@muthuishere/vsync-s3-client/register', 'app.js'],
    ]) {
      const r = node(args, { passphrase: 'not the passphrase' });
      assert.equal(r.stdout, '', 'the application must not run');
      assert.equal(r.status, 15, r.stderr); // vsync run's code: 10 + WrongPassphraseError's number
      assert.match(
        r.stderr,
        new RegExp(`^vsync: WrongPassphraseError \\(${vsync.WrongPassphraseError.code}\\): `, 'm'),
      );
      assert.equal(r.stderr.includes('not the passphrase'), false, 'no secret on stderr');
    }
    const r = node(['-r', '@muthuishere/vsync-s3-client/register', 'app.js'], { extraEnv: { VSYNC_CONFIG: '' } });
    assert.equal(r.status, 11, r.stderr); // ConfigMissingError
    assert.match(r.stderr, new RegExp(`^vsync: ConfigMissingError \\(${vsync.ConfigMissingError.code}\\): `, 'm'));
  });

  test("the README's preload example runs as written", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Preload: `process.env` from the vault'));
    assert.ok(section, 'README.md has the preload section');
    const blocks = [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => [m[1], m[2]]);
    const [[jsLang, app], [shLang, command]] = blocks;
    assert.deepEqual([jsLang, shLang], ['js', 'sh']);
    fs.writeFileSync(path.join(appDir, 'app.mjs'), app);
    const env = { ...process.env, VSYNC_CONFIG: config, VSYNC_PASSPHRASE: PASS };
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', command], {
      cwd: appDir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `DATABASE_URL=${DB}\n`);
  });
});
