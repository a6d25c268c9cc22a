'use strict';
// Starts scripts/faults/faultproxy.py (the fault suite's scriptable proxy) in front of the real
// S3 server that scripts/with-s3.sh started, and talks to its control API.
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const readline = require('node:readline');

const script = path.join(__dirname, '..', '..', '..', '..', 'scripts', 'faults', 'faultproxy.py');

/** A proxy with `rules`; `stop()` ends it (it also exits when this process's pipe closes). */
async function startProxy(rules, { tlsCert, tlsKey } = {}) {
  const upstream = new URL(process.env.VSYNC_TEST_ENDPOINT).host;
  const args = [script, '--upstream', upstream, '--rules', JSON.stringify(rules)];
  if (tlsCert) args.push('--tls-cert', tlsCert, '--tls-key', tlsKey);
  const child = spawn('python3', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`faultproxy.py exited with ${code}`)));
  });
  const m = /port=(\d+) control=(\d+)/.exec(line);
  if (!m) throw new Error(`unexpected proxy banner: ${line}`);
  const [port, control] = [Number(m[1]), Number(m[2])];
  const call = (method, urlPath) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: control, method, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body)));
      });
      req.on('error', reject);
      req.end();
    });
  return {
    endpoint: `${tlsCert ? 'https' : 'http'}://127.0.0.1:${port}`,
    /** Every request seen: [{method, path, action}]. */
    seen: async () => (await call('GET', '/stats')).requests,
    connections: async () => (await call('GET', '/stats')).connections,
    /** Requests with `method` whose path ends with `suffix`. */
    count: async (method, suffix) =>
      (await call('GET', '/stats')).requests.filter((r) => r.method === method && r.path.endsWith(suffix)).length,
    stop: () => {
      child.stdin.end();
      child.kill();
    },
  };
}

function rule(method, pathRe, action, extra = {}) {
  return { method, path: pathRe, action, ...extra };
}

module.exports = { startProxy, rule };
