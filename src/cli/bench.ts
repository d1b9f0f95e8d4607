/** `rnn-node bench`: the same benchmark as `npm run bench`, from the installed package, so
 * users can compare against their peers (e.g. @tensorflow/tfjs-node) on their hardware. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The help comes from bench/run.mjs's own option table (bench/run-options.cjs).
const benchDir = join(__dirname, '..', '..', 'bench');
export const BENCH_HELP: string = (require(join(benchDir, 'run-options.cjs')) as { runHelp(): string }).runHelp();

export async function bench(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(BENCH_HELP + '\n');
    return 0;
  }
  const r = spawnSync(process.execPath, [join(benchDir, 'run.mjs'), ...argv], { stdio: 'inherit' });
  return r.status ?? 1;
}
