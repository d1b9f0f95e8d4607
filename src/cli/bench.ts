/** `rnn-node bench`: the same benchmark as `npm run bench`, from the installed package, so
 * users can compare against their peers (e.g. @tensorflow/tfjs-node) on their hardware. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const BENCH_HELP = `Usage: rnn-node bench [options]

Benchmark rnn-node against the peers it can find (PyTorch through /usr/bin/python3,
@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm, @tensorflow/tfjs-node) on the same models,
interleaved, medians of several repetitions. Writes bench/RESULTS.md and a JSON file.

Options:
  --reps N          repetitions (default: 3)
  --seconds F       time box of one measurement (default: 2)
  --workloads LIST  fmnist-lstm,fmnist-gru,tokens-lstm (default: all)
  --peers LIST      rnn-node,pytorch,pytorch-padded,tfjs-cpu,tfjs-wasm,tfjs-node (default: all)
  --python PATH     Python with torch for the PyTorch peer (default: /usr/bin/python3)
  --out DIR         where to write latest.json (default: bench/results)
  --help            show this help`;

export async function bench(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(BENCH_HELP + '\n');
    return 0;
  }
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', 'bench', 'run.mjs'), ...argv], { stdio: 'inherit' });
  return r.status ?? 1;
}
