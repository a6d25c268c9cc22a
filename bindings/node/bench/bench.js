'use strict';
// Benchmarks of the Node binding (scripts/bench-node.sh, against the local S3 server):
// cold open(), getEnv per call next to Map.get, and the time to require() the package.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { push, runtimeToken } = require('../test/helpers');

const pkg = path.join(__dirname, '..');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(2)} ms`;

function requireTime(runs = 15) {
  const code = `const t=process.hrtime.bigint();require(${JSON.stringify(pkg)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const ms = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })),
  );
  return { median: median(ms), min: Math.min(...ms) };
}

async function coldOpen(vsync, config, passphrase, runs = 15) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const h = await vsync.openWith({ config, passphrase });
    ms.push(performance.now() - t);
    h.close();
  }
  return { median: median(ms), min: Math.min(...ms) };
}

// ns per call of fn. The lengths of its results are summed and checked, so that no call can be
// optimized away.
function perCall(fn, n) {
  let sink = 0;
  for (let i = 0; i < 10000; i++) sink += fn().length; // warm-up
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn().length;
  const ns = Number(process.hrtime.bigint() - t) / n;
  if (sink === 0) throw new Error('unreachable');
  return ns;
}

async function main() {
  const req = requireTime();
  const vsync = require(pkg);
  const passphrase = 'bench passphrase';
  const config = runtimeToken({ env: 'bench' });
  const keys = Array.from({ length: 50 }, (_, i) => `KEY_${i}=value-${i}-${'x'.repeat(40)}`);
  push(config, passphrase, `DATABASE_URL=postgres://bench@db/app\n${keys.join('\n')}\n`);
  const open = await coldOpen(vsync, config, passphrase);

  const h = await vsync.openWith({ config, passphrase, defaults: { PORT: '8080' } });
  const map = new Map([['DATABASE_URL', 'postgres://bench@db/app']]);
  process.env.BENCH_FROM_ENV = 'env-value';
  const N = 1_000_000;
  const mapNs = perCall(() => map.get('DATABASE_URL'), N);
  const envNs = perCall(() => process.env.BENCH_FROM_ENV, N);
  const vaultNs = perCall(() => h.getEnv('DATABASE_URL'), N);
  const envHitNs = perCall(() => h.getEnv('BENCH_FROM_ENV'), N);
  const defNs = perCall(() => h.getEnv('PORT'), N);
  const srcNs = perCall(() => h.envSource('DATABASE_URL'), N);
  const assetNs = perCall(() => h.getAsContent('DATABASE_URL'), N / 10);

  const rows = [
    ['require() of the package (fresh process)', `median ${fmt(req.median)}, min ${fmt(req.min)}`],
    [
      'cold openWith() (PBKDF2 600k + 1 S3 round trip, local server)',
      `median ${fmt(open.median)}, min ${fmt(open.min)}`,
    ],
    ['Map.get (baseline)', `${mapNs.toFixed(1)} ns/call`],
    ['process.env[key] (baseline)', `${envNs.toFixed(1)} ns/call`],
    ['getEnv, vault hit', `${vaultNs.toFixed(1)} ns/call (${(vaultNs / mapNs).toFixed(1)}x Map.get)`],
    ['getEnv, process.env hit', `${envHitNs.toFixed(1)} ns/call (${(envHitNs / mapNs).toFixed(1)}x Map.get)`],
    ['getEnv, default hit', `${defNs.toFixed(1)} ns/call (${(defNs / mapNs).toFixed(1)}x Map.get)`],
    ['envSource, vault hit', `${srcNs.toFixed(1)} ns/call`],
    ['getAsContent (small value → Buffer)', `${assetNs.toFixed(1)} ns/call`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`[node bench] ${k.padEnd(w)}  ${v}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
