/**
 * Every command of `rnn-node`, in the order `rnn-node --help` and docs/CLI.md list them. The
 * dispatcher (src/cli.ts), the usage text and scripts/write-cli-docs.mjs read this list: a
 * new command is its module and a line here.
 */
import { BENCH_COMMAND } from './bench';
import { summaryOf, type Command } from './command';
import { CONVERT_COMMAND } from './convert';
import { EVALUATE_COMMAND } from './evaluate';
import { INFO_COMMAND } from './info';
import { MERGE_COMMAND } from './merge';
import { PREDICT_COMMAND } from './predict';
import { QUANTIZE_COMMAND } from './quantize';
import { QUEUE_COMMAND } from './queue';
import { REPORT_COMMAND } from './report';
import { SERVE_COMMAND } from './serve';
import { TRAIN_COMMAND } from './train';
import { TUNE_COMMAND } from './tune';

export { helpOf, runCommand } from './command';

export const COMMANDS: readonly Command[] = [
  TRAIN_COMMAND,
  TUNE_COMMAND,
  EVALUATE_COMMAND,
  PREDICT_COMMAND,
  SERVE_COMMAND,
  MERGE_COMMAND,
  QUEUE_COMMAND,
  REPORT_COMMAND,
  CONVERT_COMMAND,
  QUANTIZE_COMMAND,
  INFO_COMMAND,
  BENCH_COMMAND,
];

/** The command of this name (only these: 'constructor' or '__proto__' are none). */
export function commandNamed(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `rnn-node --help`: the commands and their summaries. */
export function usageText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 3;
  return [
    'Usage: rnn-node <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${summaryOf(c)}`),
    '',
    "Run 'rnn-node <command> --help' for a command's options and their defaults.",
  ].join('\n');
}
