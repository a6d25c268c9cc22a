// Type-checked by test/types.test.js (tsc): the CommonJS view of the public API.
import vsync = require('@muthuishere/vsync-s3-client');

async function main(): Promise<void> {
  const h: vsync.Vsync = await vsync.open({ defaults: { PORT: '8080' }, timeoutMs: 5000 });
  const url: string | null = h.getEnv('DATABASE_URL');
  const has: boolean = h.hasEnv('PORT');
  const src: vsync.Source = h.envSource('PORT');
  const pem: Buffer | null = h.getAsContent('tls/ca.pem');
  const keys: string[] = h.keys();
  const view: Record<string, string> = h.environ();
  const gen: number = h.generation();
  const remote: number = await h.remoteGeneration();
  const stale: boolean = await h.hasNewVersion();
  h.close();
  const h2 = await vsync.openWith({ config: 'vsync-cfg-v1:x', passphrase: 'p' });
  void [url, has, src, pem, keys, gen, remote, stale, h2.toJSON(), String(h2)];
  try {
    await vsync.open();
  } catch (e) {
    if (e instanceof vsync.WrongPassphraseError) {
      const code: 'VSYNC_WRONG_PASSPHRASE' = e.code;
      void code;
    } else if (e instanceof vsync.VSyncError) {
      const code: vsync.VSyncErrorCode = e.code;
      void code;
    }
  }
}
void main;
