'use strict';
// The one error table (index.js): every kind the core lists, through the real native path.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const vsync = require('..');

const { _testing: T, VSyncError } = vsync;

// The core's list drives every test below: { number, code, className, taxonomy }.
const KINDS = T.errorKinds();
const SEVEN = KINDS.filter((k) => k.taxonomy);

// How JavaScript raises the kinds outside the taxonomy (the root stands for a caught bug).
const OUTSIDE = {
  InternalError: VSyncError,
  ClosedError: Error,
  NotFoundError: Error,
  InvalidArgumentError: TypeError,
};

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
}

test('the core lists the seven taxonomy kinds and four outside it', () => {
  assert.equal(SEVEN.length, 7);
  const outside = KINDS.filter((k) => !k.taxonomy).map((k) => k.className);
  assert.deepEqual(outside.sort(), Object.keys(OUTSIDE).sort());
});

for (const { className: name, code } of SEVEN) {
  test(`${name}: exported, mapped from ${code}, instanceof, name, stable code`, () => {
    const cls = vsync[name];
    assert.equal(typeof cls, 'function');
    assert.equal(cls.name, name);
    assert.equal(cls.code, code);
    const err = thrown(() => T.throwKind(name));
    assert.ok(err instanceof cls);
    assert.ok(err instanceof VSyncError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.match(err.message, new RegExp(name));
    assert.match(String(err), new RegExp(`^${name}: `));
    assert.match(err.stack, new RegExp(`^${name}: `));
    // Every other class is a different one.
    for (const other of SEVEN.filter((k) => k.className !== name)) assert.ok(!(err instanceof vsync[other.className]));
  });
}

for (const { className: name, code } of KINDS.filter((k) => !k.taxonomy)) {
  test(`${name} (outside the taxonomy): thrown as ${OUTSIDE[name].name} with the core's code ${code}`, () => {
    const err = thrown(() => T.throwKind(name));
    assert.equal(Object.getPrototypeOf(err), OUTSIDE[name].prototype);
    assert.equal(err.code, code);
    assert.match(err.message, new RegExp(name));
    assert.equal(err instanceof VSyncError, name === 'InternalError');
  });
}

test('a panic in the addon is the root VSyncError with the core Internal code, and the addon keeps working', () => {
  const internal = KINDS.find((k) => k.className === 'InternalError');
  for (let i = 0; i < 3; i++) {
    const err = thrown(() => T.panic());
    assert.equal(Object.getPrototypeOf(err), VSyncError.prototype);
    assert.equal(err.code, internal.code);
    assert.equal(err.name, 'VSyncError');
    assert.doesNotMatch(err.message, /deliberate/, 'the panic payload is not shown');
  }
  assert.ok(thrown(() => T.throwKind('ConfigMissingError')) instanceof vsync.ConfigMissingError);
});

test('index.d.ts declares the core codes: each class its own, the union all of the root family', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  for (const { className: name, code } of SEVEN) {
    const body = new RegExp(`export declare class ${name} extends VSyncError \\{([^}]*)\\}`).exec(dts);
    assert.ok(body, `${name} is declared`);
    assert.match(body[1], new RegExp(`readonly code: '${code}';`), name);
  }
  const union = /export type VSyncErrorCode =([^;]*);/.exec(dts)[1];
  const declared = [...union.matchAll(/'([A-Z_0-9]+)'/g)].map((m) => m[1]).sort();
  const family = KINDS.filter((k) => k.taxonomy || k.className === 'InternalError').map((k) => k.code);
  assert.deepEqual(declared, family.sort());
});

test('the same classes come out of the ESM entry', async () => {
  const esm = await import('../index.mjs');
  for (const { className: name } of SEVEN) assert.equal(esm[name], vsync[name]);
  assert.equal(esm.VSyncError, VSyncError);
  assert.equal(esm.default.open, vsync.open);
});

test('NotFound is a lookup miss: getAsContent returns null', () => {
  const h = T.openPayload(Buffer.from('{"kv":{"A":"1"}}'), 'test');
  assert.equal(h.getAsContent('nope'), null);
});

test("errors that are not the addon's pass through unchanged", () => {
  const e = new TypeError('x');
  assert.equal(T.fromNative(e), e);
  const coded = Object.assign(new Error('y'), { code: 'ENOENT' });
  assert.equal(T.fromNative(coded), coded);
});

test('VSyncError is the root and can be constructed by applications (e.g. in tests)', () => {
  const e = new vsync.WrongPassphraseError('m');
  assert.ok(e instanceof VSyncError);
  assert.equal(e.code, vsync.WrongPassphraseError.code);
  assert.equal(e.name, 'WrongPassphraseError');
  assert.equal(new VSyncError('r').name, 'VSyncError');
});
