#!/usr/bin/env node
// npm's install step: `node scripts/install.js || node-gyp rebuild`. Exits 0 when a prebuilt
// binary fits this machine and loads (nothing to build), 1 when a source build is needed:
// no prebuilt binary for this platform or CPU, one that fails to load (an older glibc, say),
// or a source build asked for (`npm install --build-from-source`, RNN_NODE_BUILD_FROM_SOURCE=1).
'use strict';
const path = require('node:path');

const root = path.join(__dirname, '..');
const say = (line) => process.stderr.write(`rnn-node: ${line}\n`);

function main() {
  const forced = process.env.npm_config_build_from_source || process.env.RNN_NODE_BUILD_FROM_SOURCE;
  if ((forced && forced !== 'false' && forced !== '0') || process.env.RNN_NODE_ISA === 'source') {
    say('building from source, as asked');
    return 1;
  }
  if (require('node:fs').existsSync(path.join(root, '.git'))) return 1; // a checkout: always build what is there
  let variants;
  try {
    variants = require(path.join(root, 'dist', 'native', 'variants.js'));
  } catch {
    return 1; // no compiled TypeScript: not a packed package
  }
  let choice;
  try {
    choice = variants.choosePrebuilt(root);
  } catch (error) {
    say(`${error.message.replace(/^rnn-node: /, '')}; building from source`);
    return 1;
  }
  try {
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    require(choice.path).buildInfo();
  } catch (error) {
    say(`the prebuilt ${choice.variant} binary does not load here (${error.message.split('\n')[0]}); building from source`);
    return 1;
  }
  say(`using the prebuilt ${choice.variant} binary for ${variants.platformTag()} (decided by ${choice.decidedBy})`);
  return 0;
}

process.exitCode = main();
