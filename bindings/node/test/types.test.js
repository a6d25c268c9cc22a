'use strict';
// native.d.ts matches what the addon exports; index.d.ts type-checks from CommonJS and ESM.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const native = require('../native.js');

const root = path.join(__dirname, '..');

test('native.d.ts declares exactly the functions and class methods the addon exports', () => {
  const dts = fs.readFileSync(path.join(root, 'native.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export declare (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(native).sort());
  const body = /export declare class NativeVault \{([^}]*)\}/.exec(dts)[1];
  const methods = [...body.matchAll(/^\s+(\w+)\(/gm)].map((m) => m[1]).sort();
  const actual = Object.getOwnPropertyNames(native.NativeVault.prototype)
    .filter((n) => n !== 'constructor')
    .sort();
  assert.deepEqual(methods, actual);
});

test('index.d.ts declares every public export of index.js', () => {
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export declare (?:function|class|const) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(require('..')).sort());
});

test('the public types check from CommonJS and ESM (tsc --strict)', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(fs.existsSync(tsc), 'typescript is a dev dependency: run npm install in bindings/node');
  execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types')], { cwd: root, stdio: 'pipe' });
});
