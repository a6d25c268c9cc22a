'use strict';
// @muthuishere/vsync-s3-client: the JS facade over the native addon (src/lib.rs).
// It only maps names, errors and lifecycles: formats, the lookup order and the error classes
// are decided by the Rust core. CommonJS; index.mjs re-exports it for `import`.

const native = require('./native.js');

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const REDACTED = '<vsync:redacted>';

// ---- errors: the seven classes of SPEC §9 under one root --------------------------------------

// The core's error kinds ({ number, code, className, taxonomy }): every code below comes from here.
const KINDS = native.errorKinds();
const CODE_OF = new Map(KINDS.map((k) => [k.className, k.code]));

class VSyncError extends Error {
  constructor(message, options) {
    super(message, options);
    this.code = new.target.code;
  }
}
// The root is what a bug caught at the boundary is thrown as (the core's InternalError kind),
// as in every vsync binding.
VSyncError.code = CODE_OF.get('InternalError');

function errorClass(name) {
  // A named class per kind, so that `err.name`, `instanceof` and stack traces all show it.
  const cls = { [name]: class extends VSyncError {} }[name];
  cls.code = CODE_OF.get(name);
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  return cls;
}
Object.defineProperty(VSyncError.prototype, 'name', { value: 'VSyncError', writable: true, configurable: true });

// The seven taxonomy classes, named as the core names them (SPEC §9), in the core's order.
const TAXONOMY = Object.fromEntries(KINDS.filter((k) => k.taxonomy).map((k) => [k.className, errorClass(k.className)]));

// The one table from the core's kinds (by class name) to JS classes. The kinds outside the
// taxonomy that are no bug (a closed handle, a lookup miss, a refused argument) are JavaScript's
// own Error / TypeError, carrying the core's code.
const JS_CLASS = {
  InternalError: VSyncError,
  ...TAXONOMY,
  ClosedError: Error,
  NotFoundError: Error,
  InvalidArgumentError: TypeError,
};
const ERROR_CLASSES = new Map(KINDS.map((k) => [k.code, JS_CLASS[k.className]]));

/** Maps an error thrown by the addon (its `code` is the core's) to the class of the table. */
function fromNative(err) {
  if (!(err instanceof Error) || typeof err.code !== 'string') return err;
  const cls = ERROR_CLASSES.get(err.code);
  if (cls === undefined) return err;
  if (cls === VSyncError || cls.prototype instanceof VSyncError) return new cls(err.message);
  const plain = new cls(err.message);
  plain.code = err.code;
  return plain;
}

// ---- argument checks (types only; the values are judged by the core) ---------------------------

function checkString(value, what) {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
}

function checkOptions(opts) {
  if (opts === undefined || opts === null)
    return { defaults: undefined, timeoutMs: undefined, minGeneration: undefined };
  if (typeof opts !== 'object') throw new TypeError('options must be an object');
  const { defaults, timeoutMs, minGeneration } = opts;
  if (defaults !== undefined && defaults !== null) {
    if (typeof defaults !== 'object' || Array.isArray(defaults))
      throw new TypeError('defaults must be an object of strings');
    for (const [k, v] of Object.entries(defaults)) {
      if (typeof v !== 'string') throw new TypeError(`defaults.${k} must be a string`);
    }
  }
  if (
    timeoutMs !== undefined &&
    timeoutMs !== null &&
    !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))
  ) {
    throw new TypeError('timeoutMs must be a positive number of milliseconds');
  }
  // Its range (a non-negative integer) is judged by the core.
  if (minGeneration !== undefined && minGeneration !== null && typeof minGeneration !== 'number') {
    throw new TypeError('minGeneration must be a number (a vault generation)');
  }
  return {
    defaults: defaults ?? undefined,
    timeoutMs: timeoutMs ?? undefined,
    minGeneration: minGeneration ?? undefined,
  };
}

// ---- the handle --------------------------------------------------------------------------------

const constructing = Symbol('vsync.constructing');

class Vsync {
  // The native handle lives in a #private field: no enumeration, spread, JSON or inspect path reaches it.
  #native;

  constructor(token, handle) {
    if (token !== constructing) throw new TypeError('use open() or openWith() to get a Vsync handle');
    this.#native = handle;
  }

  // Every native call goes through these two, so every native error is mapped by fromNative.
  #call(method, ...args) {
    try {
      return this.#native[method](...args);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async #callAsync(method, ...args) {
    try {
      return await this.#native[method](...args);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** The value of `key` through the chain vault → process.env → defaults, or null. */
  getEnv(key) {
    checkString(key, 'key');
    return this.#call('getEnv', key, process.env[key]);
  }

  hasEnv(key) {
    checkString(key, 'key');
    return this.#call('hasEnv', key, process.env[key]);
  }

  /** "vault" | "env" | "default" | "missing" (never the value: safe to log). */
  envSource(key) {
    checkString(key, 'key');
    return this.#call('envSource', key, process.env[key]);
  }

  /**
   * The resolved view: every name getEnv answers, with the value it answers (vault, else
   * process.env as it is now, else the defaults), in name order. A snapshot, in a fresh object
   * with a null prototype (a vault key named `__proto__` is an ordinary key).
   */
  environ() {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (typeof v === 'string') env[k] = v;
    }
    const view = Object.create(null);
    for (const [k, v] of this.#call('environ', env)) view[k] = v;
    return view;
  }

  /** An asset's bytes, else the key's value as UTF-8 bytes, else null. */
  getAsContent(name) {
    checkString(name, 'name');
    return this.#call('getAsContent', name);
  }

  /** The vault's key names, in payload order (no values). */
  keys() {
    return this.#call('keys');
  }

  /** The generation read at open time. */
  generation() {
    return this.#call('generation');
  }

  /** The generation in the bucket now (one HEAD, off the main thread). */
  async remoteGeneration() {
    return this.#callAsync('remoteGeneration');
  }

  /** True when a newer generation was pushed since this handle was opened. */
  async hasNewVersion() {
    return this.#callAsync('hasNewVersion');
  }

  /** Wipes every value; idempotent. Any later call throws an Error. */
  close() {
    this.#native.close();
  }

  toString() {
    return this.#native.redacted();
  }

  toJSON() {
    return REDACTED;
  }

  [inspectSymbol]() {
    return REDACTED;
  }

  get [Symbol.toStringTag]() {
    return 'Vsync';
  }
}

function wrap(handle) {
  return new Vsync(constructing, handle);
}

/**
 * Opens the vault named by VSYNC_CONFIG[_FILE] / VSYNC_PASSPHRASE[_FILE] in process.env.
 * The S3 fetch and the key derivation run off the main thread.
 */
async function open(opts) {
  const { defaults, timeoutMs, minGeneration } = checkOptions(opts);
  // The core picks the variables it needs (and their _FILE forms) from this snapshot.
  const vars = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') vars[k] = v;
  try {
    return wrap(await native.open(vars, defaults, timeoutMs, minGeneration));
  } catch (e) {
    throw fromNative(e);
  }
}

/** Opens with explicit inputs, ignoring the environment (tests, secret managers). */
async function openWith(args) {
  if (args === null || typeof args !== 'object')
    throw new TypeError('openWith expects { config, passphrase, defaults?, timeoutMs?, minGeneration? }');
  const { config, passphrase } = args;
  // null/undefined/'' are the core's ConfigMissingError; other non-strings are programming errors.
  if (config != null) checkString(config, 'config');
  if (passphrase != null) checkString(passphrase, 'passphrase');
  const { defaults, timeoutMs, minGeneration } = checkOptions(args);
  try {
    return wrap(await native.openWith(config ?? '', passphrase ?? '', defaults, timeoutMs, minGeneration));
  } catch (e) {
    throw fromNative(e);
  }
}

// ---- private test hooks (conformance/README.md): the test build only ---------------------------
// Only an addon built with the `testing-hooks` feature (node build.js --testing-hooks) has the
// native `testing*` functions; the published addon has none, so the published module exports no
// `_testing` (and index.d.ts does not declare it). The tests require it from the test build.

function mapped(fn) {
  return (...args) => {
    try {
      return fn(...args);
    } catch (e) {
      throw fromNative(e);
    }
  };
}

const _testing =
  typeof native.testingDecodeConfigJson === 'function'
    ? Object.freeze({
        decryptEnvelope: mapped((bytes, passphrase, salt, iterations = 600000) =>
          native.testingDecryptEnvelope(Buffer.from(bytes), passphrase, salt, iterations),
        ),
        unsealManifest: mapped((bytes, remoteTs = null) => {
          const [embeddedTs, payload] = native.testingUnsealManifest(Buffer.from(bytes), remoteTs ?? undefined);
          return { embeddedTs, payload };
        }),
        decodeConfigJson: mapped((blob) => native.testingDecodeConfigJson(blob)),
        openPayload: mapped((bytes, envLabel, pointerTs = null, defaults = {}) =>
          wrap(native.testingOpenPayload(Buffer.from(bytes), envLabel, pointerTs ?? undefined, defaults)),
        ),
        resolveBootstrap: mapped((env) => {
          const [config, passphrase, warnings] = native.testingResolveBootstrap(env);
          return { config, passphrase, warnings };
        }),
        errorKinds: () => KINDS,
        throwKind: mapped((className) => native.testingThrow(className)),
        panic: mapped(() => native.testingPanic()),
        fromNative,
      })
    : undefined;

module.exports = {
  open,
  openWith,
  Vsync,
  VSyncError,
  ...TAXONOMY,
  ...(_testing && { _testing }),
};
