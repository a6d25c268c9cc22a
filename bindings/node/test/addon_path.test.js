'use strict';
// Issue 23 #10: VSYNC_NODE_ADDON loads (and runs) the library it names. A relative path used to
// be resolved against the working directory, so a library planted in whatever directory the app
// starts in was loaded. Only an absolute path is taken now. Each case is a fresh node process
// (the loader runs once, at the first require).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { test } = require('node:test');

const PKG = path.join(__dirname, '..');
// The addon `npm run build` (build.js, run by test:node) placed next to native.js.
const BUILT = path.join(PKG, `vsync.${process.platform}-${process.arch}.node`);

function requireWith(addon, cwd) {
  const env = { ...process.env, VSYNC_NODE_ADDON: addon };
  const script = `const v = require(${JSON.stringify(PKG)}); console.log(typeof v.open);`;
  return spawnSync(process.execPath, ['-e', script], { cwd, env, encoding: 'utf8', timeout: 60_000 });
}

test('a relative VSYNC_NODE_ADDON is refused, even when the file is there', () => {
  assert.ok(fs.existsSync(BUILT), `${BUILT} is missing: run the tests through ./scripts/task test:node`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsync-addon-'));
  try {
    // A working library planted in the working directory: before the fix it was loaded.
    fs.copyFileSync(BUILT, path.join(dir, 'planted.node'));
    for (const rel of ['planted.node', './planted.node']) {
      const r = requireWith(rel, dir);
      assert.notEqual(r.status, 0, `loaded ${rel}: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /function/);
      assert.match(r.stderr, /VSYNC_NODE_ADDON must be an absolute path/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an absolute VSYNC_NODE_ADDON is loaded', () => {
  const r = requireWith(BUILT, os.tmpdir());
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
});
