/** `rnn-node report`: rebuild the HTML report from a metrics log (train/evaluate --metrics-log). */
import { readRegularFile } from '../util/read-file';

import { parseMetricsLog } from '../report/report-data';
import { writeReportFiles } from '../report/report-writer';
import { checkOutputPath } from '../util/output-path';
import type { FlagCommand } from './command';
import { UsageError, type Flag, type FlagValues } from './flags';

const REPORT_FLAGS: Flag[] = [
  { name: 'input', kind: 'path', help: 'metrics log written by train or evaluate --metrics-log', required: true },
  { name: 'output', kind: 'path', output: 'file', aliases: ['out'], help: 'HTML report to write (atomically)', required: true },
  { name: 'title', kind: 'string', help: "the report's title", shown: "the log's" },
];

export const REPORT_COMMAND: FlagCommand = {
  name: 'report',
  summary: 'rebuild the HTML report of a run from its metrics log',
  description: 'Rebuild the self-contained HTML report of a training or evaluation run from its metrics log.',
  flags: REPORT_FLAGS,
  run: ({ values }) => report(values),
};

async function report(v: FlagValues): Promise<number> {
  const output = v.output as string;
  try {
    checkOutputPath('--output', output);
  } catch (error) {
    throw new UsageError(`rnn-node report: ${(error as Error).message}`);
  }
  const input = v.input as string;
  let text: string;
  try {
    text = (await readRegularFile(input, 1 << 30, 'a metrics log holds (1 GiB)')).toString('utf8');
  } catch (e) {
    throw new Error(`${input}: ${(e as Error).message}`);
  }
  const data = parseMetricsLog(text, input);
  if (v.title !== undefined) data.run.title = v.title as string;
  await writeReportFiles({ report: output }, data);
  const what = data.evaluation ? `, evaluation on ${data.evaluation.count} records` : data.complete ? '' : ' (the log has no final line: the run did not finish)';
  process.stdout.write(`wrote ${output}: ${data.epochs.length} epoch${data.epochs.length === 1 ? '' : 's'}${what}\n`);
  return 0;
}
