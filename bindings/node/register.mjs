// `node --import @muthuishere/vsync-s3-client/register app.mjs`: the same preload as register.js
// (an ES module evaluates its CommonJS import before the application's first line).
import './register.js';
