'use strict';
// Loads the addon that `npm run build` (build.js) compiled and copied next to this file.
const path = require('node:path');

const file = path.join(__dirname, `vsync.${process.platform}-${process.arch}.node`);
try {
  module.exports = require(file);
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND') {
    throw new Error(
      `vsync: native addon ${path.basename(file)} is missing; run \`npm run build\` in ${__dirname} (needs cargo)`,
    );
  }
  throw e;
}
