// Type-checked by test/types.test.js (tsc): the ESM view of the public API.
import vsyncDefault, {
  open,
  openWith,
  VSyncError,
  S3UnreachableError,
  type Vsync,
  type Source,
} from '@muthuishere/vsync-s3-client';

const h: Vsync = await open();
const s: Source = h.envSource('X');
const h2: Vsync = await openWith({ config: 'c', passphrase: 'p', defaults: { A: 'b' } });
const e: VSyncError = new S3UnreachableError('m');
void [s, h2, e, vsyncDefault.open];
