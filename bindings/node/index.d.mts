export * from './index.js';
import * as vsync from './index.js';
export default vsync;
