// ESM entry: the same module as `require('@muthuishere/vsync-s3-client')`.
import { createRequire } from 'node:module';

const vsync = createRequire(import.meta.url)('./index.js');

export const {
  open,
  openWith,
  Vsync,
  VSyncError,
  ConfigMissingError,
  ConfigUnsupportedVersionError,
  S3UnreachableError,
  ManifestNotFoundError,
  WrongPassphraseError,
  BundleCorruptError,
  UnsupportedSpecVersionError,
} = vsync;
export default vsync;
