/// <reference types="node" />
// Public types of @muthuishere/vsync-s3-client (CommonJS and ESM).

/** Where a value came from: the steps of the chain vault → process.env → defaults → missing. */
export type Source = 'vault' | 'env' | 'default' | 'missing';

export interface OpenOptions {
  /** Step 3 of the chain: used when neither the vault nor process.env has the key. */
  defaults?: Record<string, string>;
  /** Bound on the whole open (and on each remoteGeneration/hasNewVersion); exceeding it is an S3UnreachableError. */
  timeoutMs?: number;
  /**
   * Rollback floor (SPEC §4): refuse (BundleCorruptError) a vault whose sealed generation is
   * below it, or that seals none. 0 or absent: none; VSYNC_MIN_GENERATION raises it too.
   */
  minGeneration?: number;
}

export interface OpenWithOptions extends OpenOptions {
  /** The VSYNC_CONFIG runtime token (`vsync-cfg-v1:...`). */
  config: string;
  passphrase: string;
}

/** An open vault. Values never show in toString/toJSON/inspect. */
export declare class Vsync {
  private constructor();
  /** The value of `key` through vault → process.env (read now) → defaults, or null. */
  getEnv(key: string): string | null;
  /** True when getEnv(key) would return a value. */
  hasEnv(key: string): boolean;
  /** The chain step that answers `key` (no value: safe to log). */
  envSource(key: string): Source;
  /**
   * Every name getEnv answers, with the value it answers (vault → process.env now → defaults),
   * in name order; a snapshot in an object with a null prototype.
   */
  environ(): Record<string, string>;
  /** An asset's bytes, else the key's value as UTF-8, else null. */
  getAsContent(name: string): Buffer | null;
  /** The vault's key names in payload order. */
  keys(): string[];
  /** The generation read at open time. */
  generation(): number;
  /** The generation in the bucket now (one HEAD request). */
  remoteGeneration(): Promise<number>;
  /** remoteGeneration() > generation(). */
  hasNewVersion(): Promise<boolean>;
  /** Wipes every value; idempotent. Any later call throws an Error. */
  close(): void;
  /** `<vsync:redacted gen=N env=E>` */
  toString(): string;
  /** `<vsync:redacted>` */
  toJSON(): string;
}

/** Opens the vault named by VSYNC_CONFIG[_FILE] and VSYNC_PASSPHRASE[_FILE] in process.env. */
export declare function open(opts?: OpenOptions): Promise<Vsync>;
/** Opens with explicit inputs, ignoring the environment. */
export declare function openWith(opts: OpenWithOptions): Promise<Vsync>;

// The codes are the core's (ErrorKind::code); test/errors.test.js checks these literals against it.
export type VSyncErrorCode =
  | 'VSYNC_INTERNAL'
  | 'VSYNC_CONFIG_MISSING'
  | 'VSYNC_CONFIG_UNSUPPORTED_VERSION'
  | 'VSYNC_S3_UNREACHABLE'
  | 'VSYNC_MANIFEST_NOT_FOUND'
  | 'VSYNC_WRONG_PASSPHRASE'
  | 'VSYNC_BUNDLE_CORRUPT'
  | 'VSYNC_UNSUPPORTED_SPEC_VERSION';

/** The root of the seven error classes; `code` is stable. Thrown as itself only for a bug caught
 * at the native boundary (code `VSYNC_INTERNAL`, as in every vsync binding). */
export declare class VSyncError extends Error {
  readonly code: VSyncErrorCode;
  static readonly code: string;
}
/** No config or passphrase, an empty/unreadable/world-writable _FILE. */
export declare class ConfigMissingError extends VSyncError {
  readonly code: 'VSYNC_CONFIG_MISSING';
}
/** The token is another version/format (raw JSON, padded base64, v != 1, short salt). */
export declare class ConfigUnsupportedVersionError extends VSyncError {
  readonly code: 'VSYNC_CONFIG_UNSUPPORTED_VERSION';
}
/** Network, DNS, TLS, time-out, 403, missing bucket. */
export declare class S3UnreachableError extends VSyncError {
  readonly code: 'VSYNC_S3_UNREACHABLE';
}
/** Nothing was pushed at this bucket/prefix. */
export declare class ManifestNotFoundError extends VSyncError {
  readonly code: 'VSYNC_MANIFEST_NOT_FOUND';
}
/** The passphrase (or salt/iterations) does not open the bundle, or it was tampered with. */
export declare class WrongPassphraseError extends VSyncError {
  readonly code: 'VSYNC_WRONG_PASSPHRASE';
}
/** A damaged token, pointer or bundle. */
export declare class BundleCorruptError extends VSyncError {
  readonly code: 'VSYNC_BUNDLE_CORRUPT';
}
/** Written by a newer format version. */
export declare class UnsupportedSpecVersionError extends VSyncError {
  readonly code: 'VSYNC_UNSUPPORTED_SPEC_VERSION';
}
