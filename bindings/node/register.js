'use strict';
// @muthuishere/vsync-s3-client/register: a preload that fills process.env from the vault before
// the application's first line runs, for code that reads process.env and nothing else.
//
//   node -r @muthuishere/vsync-s3-client/register app.js          (CommonJS)
//   node --import @muthuishere/vsync-s3-client/register app.mjs   (ES modules: register.mjs)
//
// The vault is opened from VSYNC_CONFIG[_FILE] / VSYNC_PASSPHRASE[_FILE] as open() does, and every
// name of the resolved view (environ(): the vault wins over the environment, as in `vsync run`)
// is written to process.env; the bootstrap variables are then removed, as `vsync run` removes
// them from its command's environment. A preload cannot await, so open() runs in a worker thread
// (register-worker.js) while this thread blocks on a shared flag until the worker has answered:
// the application starts only once process.env is filled. A failure to open ends the process
// before the application starts: `vsync: <ErrorClass> (<code>): <message>` on stderr and the
// exit code `vsync run` uses (10 + the class's number; 1 when there is no class).
const path = require('node:path');
const { MessageChannel, Worker, isMainThread, receiveMessageOnPort } = require('node:worker_threads');

// How long the application's start waits for the worker, beyond open()'s own bound (30 s by
// default, the key derivation included): it protects against a worker that died without answering.
const WAIT_MS = 120_000;

function fail(name, code, message, exitCode) {
  process.stderr.write(`vsync: ${name}${code ? ` (${code})` : ''}: ${message}\n`);
  process.exit(exitCode);
}

function register() {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(path.join(__dirname, 'register-worker.js'), {
    workerData: { port: port2, flag },
    transferList: [port2],
    // Not this preload again (a worker inherits `-r` / `--import` by default).
    execArgv: [],
  });
  worker.unref();
  const waited = Atomics.wait(flag, 0, 0, WAIT_MS);
  const reply = receiveMessageOnPort(port1);
  port1.close();
  if (waited === 'timed-out' || reply === undefined) {
    fail('Error', null, `the vault was not opened within ${WAIT_MS / 1000} s (the preload's worker did not answer)`, 1);
  }
  const { view, bootstrap, error } = reply.message;
  if (error) fail(error.name, error.code, error.message, error.exitCode);
  for (const [name, value] of view) process.env[name] = value;
  for (const name of bootstrap) delete process.env[name];
}

// A worker thread of the application starts with a copy of the main thread's process.env, which
// this preload has already filled: only the main thread opens the vault.
if (isMainThread) register();
