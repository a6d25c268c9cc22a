// Types of the native addon (src/lib.rs), written to match its exports exactly:
// test/types.test.js compares this file with what the addon really exports.
// Internal: applications use index.d.ts.

/** An optional argument: the addon takes undefined and null alike. */
type Optional<T> = T | undefined | null;
/** Variables by name: bootstrap variables, defaults. */
type Vars = Record<string, string>;

export declare class NativeVault {
  getEnv(key: string, envValue?: Optional<string>): string | null;
  hasEnv(key: string, envValue?: Optional<string>): boolean;
  envSource(key: string, envValue?: Optional<string>): string;
  getAsContent(name: string): Buffer | null;
  keys(): Array<string>;
  generation(): number;
  remoteGeneration(): Promise<number>;
  hasNewVersion(): Promise<boolean>;
  close(): void;
  redacted(): string;
}

export declare function open(
  vars: Vars,
  defaults?: Optional<Vars>,
  timeoutMs?: Optional<number>,
  minGeneration?: Optional<number>,
): Promise<NativeVault>;

export declare function openWith(
  config: string,
  passphrase: string,
  defaults?: Optional<Vars>,
  timeoutMs?: Optional<number>,
  minGeneration?: Optional<number>,
): Promise<NativeVault>;

export declare function testingDecryptEnvelope(
  envelope: Buffer,
  passphrase: string,
  salt: string,
  iterations: number,
): Buffer;

export interface Unsealed {
  embeddedTs: string;
  payload: Buffer;
}

export declare function testingUnsealManifest(sealed: Buffer, remoteTs?: Optional<string>): Unsealed;

export declare function testingDecodeConfigJson(blob: string): string;

export declare function testingOpenPayload(
  payload: Buffer,
  envLabel: string,
  pointerTs?: Optional<string>,
  defaults?: Optional<Vars>,
): NativeVault;

export interface Bootstrap {
  config: string;
  passphrase: string;
  warnings: Array<string>;
}

export declare function testingResolveBootstrap(env: Vars): Bootstrap;

export interface KindInfo {
  number: number;
  code: string;
  className: string;
  taxonomy: boolean;
}

export declare function errorKinds(): Array<KindInfo>;

export declare function testingThrow(className: string): void;

export declare function testingPanic(): void;
