'use strict';
// The one error table (index.js): every kind the core can produce, through the real native path.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const vsync = require('..');

const { _testing: T, VSyncError } = vsync;

const SEVEN = {
  ConfigMissingError: 'VSYNC_CONFIG_MISSING',
  ConfigUnsupportedVersionError: 'VSYNC_CONFIG_UNSUPPORTED_VERSION',
  S3UnreachableError: 'VSYNC_S3_UNREACHABLE',
  ManifestNotFoundError: 'VSYNC_MANIFEST_NOT_FOUND',
  WrongPassphraseError: 'VSYNC_WRONG_PASSPHRASE',
  BundleCorruptError: 'VSYNC_BUNDLE_CORRUPT',
  UnsupportedSpecVersionError: 'VSYNC_UNSUPPORTED_SPEC_VERSION',
};

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
}

test('the core has exactly the seven taxonomy kinds plus Closed and NotFound', () => {
  const kinds = T.errorKinds();
  assert.deepEqual(
    kinds
      .filter((k) => k.taxonomy)
      .map((k) => k.className)
      .sort(),
    Object.keys(SEVEN).sort(),
  );
  assert.deepEqual(
    kinds
      .filter((k) => !k.taxonomy)
      .map((k) => k.className)
      .sort(),
    ['ClosedError', 'NotFoundError'],
  );
  for (const k of kinds.filter((k) => k.taxonomy)) assert.equal(k.code, SEVEN[k.className], k.className);
});

for (const [name, code] of Object.entries(SEVEN)) {
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
    for (const other of Object.keys(SEVEN).filter((n) => n !== name)) assert.ok(!(err instanceof vsync[other]));
  });
}

test('the same classes come out of the ESM entry', async () => {
  const esm = await import('../index.mjs');
  for (const name of Object.keys(SEVEN)) assert.equal(esm[name], vsync[name]);
  assert.equal(esm.VSyncError, VSyncError);
  assert.equal(esm.default.open, vsync.open);
});

test('Closed is a plain Error (not a VSyncError) with code VSYNC_CLOSED', () => {
  const err = thrown(() => T.throwKind('ClosedError'));
  assert.equal(Object.getPrototypeOf(err), Error.prototype);
  assert.ok(!(err instanceof VSyncError));
  assert.equal(err.code, 'VSYNC_CLOSED');
});

test('NotFound is a lookup miss: getAsContent returns null', () => {
  const h = T.openPayload(Buffer.from('{"kv":{"A":"1"}}'), 'test');
  assert.equal(h.getAsContent('nope'), null);
  // and the raw kind, were it ever thrown, is not one of the seven
  const err = thrown(() => T.throwKind('NotFoundError'));
  assert.ok(!(err instanceof VSyncError));
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
  assert.equal(e.code, 'VSYNC_WRONG_PASSPHRASE');
  assert.equal(e.name, 'WrongPassphraseError');
  assert.equal(new VSyncError('r').name, 'VSyncError');
});
