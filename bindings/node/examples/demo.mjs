// The demo hook (scripts/demo-node.sh): open() from VSYNC_CONFIG / VSYNC_PASSPHRASE and print
// what Node reads. It prints values on purpose: the demo vault holds sample data.
import { createHash } from 'node:crypto';
import { open } from '../index.mjs';

const list = (s) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const defaults = Object.fromEntries(
  list(process.env.VSYNC_DEMO_DEFAULTS).map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);

const vault = await open({ defaults });
try {
  console.log(`[node] generation=${vault.generation()}`);
  for (const key of list(process.env.VSYNC_DEMO_KEYS)) {
    console.log(`[node] ${key}=${vault.getEnv(key) ?? '<none>'} (${vault.envSource(key)})`);
  }
  const name = process.env.VSYNC_DEMO_ASSET;
  if (name) {
    const bytes = vault.getAsContent(name);
    if (bytes === null) console.log(`[node] asset ${name}: <none>`);
    else
      console.log(
        `[node] asset ${name}: ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`,
      );
  }
  console.log(`[node] has_new_version=${await vault.hasNewVersion()}`);
} finally {
  vault.close();
}
