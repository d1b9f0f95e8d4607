// Writes dist/index.mjs: the ESM entry point re-exporting the CommonJS build, so that
// `import { SequenceClassifier } from 'rnn-node'` and `require('rnn-node')` share one copy.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const names = Object.keys(require('../dist/index.js')).filter((n) => n !== '__esModule');
const lines = [
  "import cjs from './index.js';",
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
];
writeFileSync(new URL('../dist/index.mjs', import.meta.url), lines.join('\n'));
writeFileSync(new URL('../dist/index.d.mts', import.meta.url), "export * from './index.js';\n");
