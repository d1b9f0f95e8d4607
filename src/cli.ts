#!/usr/bin/env node
/**
 * The `rnn-node` command line: train, evaluate, predict, report, info, bench. Results go to stdout,
 * progress and errors to stderr. Exit codes: 0 success, 1 runtime error (unreadable file,
 * corrupt model, bad record), 2 usage error (unknown flag, missing or invalid value).
 */
import { oneLine } from './cli/terminal-text';
import { bench, BENCH_HELP } from './cli/bench';
import { convert, CONVERT_HELP } from './cli/convert';
import { evaluate, EVALUATE_HELP } from './cli/evaluate';
import { UsageError } from './cli/flags';
import { info, INFO_HELP } from './cli/info';
import { merge, MERGE_HELP } from './cli/merge';
import { predict, PREDICT_HELP } from './cli/predict';
import { quantize, QUANTIZE_HELP } from './cli/quantize';
import { queue, QUEUE_HELP } from './cli/queue';
import { report, REPORT_HELP } from './cli/report';
import { train, TRAIN_HELP } from './cli/train';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  train: { run: train, help: TRAIN_HELP },
  evaluate: { run: evaluate, help: EVALUATE_HELP },
  predict: { run: predict, help: PREDICT_HELP },
  merge: { run: merge, help: MERGE_HELP },
  queue: { run: queue, help: QUEUE_HELP },
  report: { run: report, help: REPORT_HELP },
  convert: { run: convert, help: CONVERT_HELP },
  quantize: { run: quantize, help: QUANTIZE_HELP },
  info: { run: info, help: INFO_HELP },
  bench: { run: bench, help: BENCH_HELP },
};

const USAGE = `Usage: rnn-node <command> [options]

Commands:
  train      train a sequence classifier on JSONL, CSV or IDX data and save it
  evaluate   accuracy, macro-F1, loss, per-class metrics and confusion matrix of a model
  predict    stream records through a model to JSONL
  merge      join the part files of a sharded predict into one, in input order
  queue      a predict job over many workers through a BullMQ queue on Redis (submit, work, status, collect)
  report     rebuild the HTML report of a run from its metrics log
  convert    convert a model between tfjs/Keras model.json, ONNX and .rnn
  quantize   write an inference-only int8 or bf16 copy of a trained model
  info       describe a model file
  bench      benchmark rnn-node against PyTorch and tfjs on this machine

Run 'rnn-node <command> --help' for a command's options and their defaults.`;

function version(): string {
  return require('../package.json').version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  // Own keys only: 'constructor' or '__proto__' are not commands.
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) {
    process.stderr.write(`rnn-node: unknown command '${oneLine(command)}' (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  try {
    return await entry.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${oneLine(e.message)} (see rnn-node ${command} --help)\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`rnn-node ${command}: ${oneLine(message)}\n`);
    return 1;
  }
}


if (require.main === module) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`rnn-node: ${e instanceof Error ? e.stack : e}\n`);
      process.exitCode = 1;
    },
  );
}
