'use strict';
// The worker of register.js: opens the vault (the async open() of the package, in its own
// event loop), answers with the resolved view and the core's list of bootstrap variables to
// remove, or with the error, then sets the flag the main thread is blocked on. Its process.env is a copy of the main thread's, taken when it started.
const { workerData } = require('node:worker_threads');

const { port, flag } = workerData;

async function answer() {
  try {
    const vsync = require('./index.js');
    const v = await vsync.open();
    try {
      return { view: Object.entries(v.environ()), bootstrap: require('./native.js').bootstrapVariables() };
    } finally {
      v.close();
    }
  } catch (e) {
    const code = typeof e?.code === 'string' ? e.code : null;
    const kind = require('./native.js')
      .errorKinds()
      .find((k) => k.code === code);
    const exitCode = kind?.exitCode ?? 1;
    return { error: { name: e?.name ?? 'Error', code, message: String(e?.message ?? e), exitCode } };
  }
}

answer().then((reply) => {
  port.postMessage(reply);
  port.close();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
