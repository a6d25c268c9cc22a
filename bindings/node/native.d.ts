// Types of the native addon (src/lib.rs), written to match its exports exactly:
// test/types.test.js compares this file with what the addon really exports.
// Internal: applications use index.d.ts.

export declare class NativeVault {
  getEnv(key: string, envValue?: string | undefined | null): string | null;
  hasEnv(key: string, envValue?: string | undefined | null): boolean;
  envSource(key: string, envValue?: string | undefined | null): string;
  getAsContent(name: string): Buffer | null;
  keys(): Array<string>;
  generation(): number;
  remoteGeneration(): Promise<number>;
  hasNewVersion(): Promise<boolean>;
  close(): void;
  redacted(): string;
}

export declare function open(
  vars: Record<string, string>,
  defaults?: Record<string, string> | undefined | null,
  timeoutMs?: number | undefined | null,
): Promise<NativeVault>;

export declare function openWith(
  config: string,
  passphrase: string,
  defaults?: Record<string, string> | undefined | null,
  timeoutMs?: number | undefined | null,
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

export declare function testingUnsealManifest(sealed: Buffer, remoteTs?: string | undefined | null): Unsealed;

export declare function testingDecodeConfigJson(blob: string): string;

export declare function testingOpenPayload(
  payload: Buffer,
  envLabel: string,
  pointerTs?: string | undefined | null,
  defaults?: Record<string, string> | undefined | null,
): NativeVault;

export interface Bootstrap {
  config: string;
  passphrase: string;
  warnings: Array<string>;
}

export declare function testingResolveBootstrap(env: Record<string, string>): Bootstrap;

export interface KindInfo {
  number: number;
  code: string;
  className: string;
  taxonomy: boolean;
}

export declare function errorKinds(): Array<KindInfo>;

export declare function testingThrow(className: string): void;

export declare function testingPanic(): void;
