/** `rnn-node bench`: the same benchmark as `npm run bench`, from the installed package, so
 * users can compare against their peers (e.g. @tensorflow/tfjs-node) on their hardware. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import type { PassThroughCommand } from './command';

const benchDir = join(__dirname, '..', '..', 'bench');

export const BENCH_COMMAND: PassThroughCommand = {
  name: 'bench',
  summary: 'benchmark rnn-node against PyTorch and tfjs on this machine',
  // The options and the help are bench/run.mjs's own (its table is bench/run-options.cjs).
  help: (require(join(benchDir, 'run-options.cjs')) as { runHelp(): string }).runHelp(),
  async runArgs(argv) {
    const r = spawnSync(process.execPath, [join(benchDir, 'run.mjs'), ...argv], { stdio: 'inherit' });
    return r.status ?? 1;
  },
};
