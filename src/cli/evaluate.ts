/** `rnn-node evaluate`: metrics of a saved model on labelled data. */
import { oneLine } from './terminal-text';
import { SequenceClassifier } from '../classifier/classifier';
import { setNumThreads } from '../native/threads';
import type { FlagCommand } from './command';
import type { Flag, FlagValues } from './flags';
import { FORMAT_FLAG, idxPrefixFlag, inputFormatsText, jsonFlag, MODEL_FLAG, RECORD_FLAGS, REPORT_FLAGS, schemaFromFlags, THREADS_FLAG } from './common-flags';
import { loadData } from './inputs';
import { checkReportFlags, classesOfModel, datasetFor, describeRecords, preprocessorOf, reportOptionsOf, schemaOf } from './shared';

const EVALUATE_FLAGS: Flag[] = [
  MODEL_FLAG,
  { name: 'data', kind: 'path', multiple: true, help: `labelled data: ${inputFormatsText()}. Repeat it, or quote a glob ('data/*.jsonl.gz'), or name a directory of such files.`, required: true },
  FORMAT_FLAG,
  idxPrefixFlag('t10k'),
  ...RECORD_FLAGS,
  { name: 'batch-size', kind: 'int', min: 1, max: 1 << 20, help: 'sequences per native call', default: 1024 },
  { name: 'top-k', kind: 'int', min: 1, help: 'k of the top-k accuracy', default: 3 },
  THREADS_FLAG,
  ...REPORT_FLAGS,
  jsonFlag(),
];

export const EVALUATE_COMMAND: FlagCommand = {
  name: 'evaluate',
  summary: 'accuracy, macro-F1, loss, per-class metrics and confusion matrix of a model',
  description: 'Evaluate a saved model on labelled data: accuracy, macro-F1, loss, per-class metrics, confusion matrix.',
  flags: EVALUATE_FLAGS,
  run: ({ values }) => evaluate(values),
};

async function evaluate(v: FlagValues): Promise<number> {
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  checkReportFlags(v);
  const model = await SequenceClassifier.load(v.model as string);
  try {
    const data = await loadData(v.data as string[], v.format as 'auto', 't10k', v['idx-prefix'] as string | undefined, schemaOf(model, schemaFromFlags(v)));
    const dataset = datasetFor(data, classesOfModel(model), preprocessorOf(model));
    const m = await model.evaluate(dataset, { batchSize: v['batch-size'] as number, topK: v['top-k'] as number, ...reportOptionsOf(v, describeRecords(data)) });
    if (v.json) {
      process.stdout.write(JSON.stringify(m) + '\n');
      return 0;
    }
    const lines = [
      `${m.count} records: accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macroF1.toFixed(4)}, loss ${m.loss.toFixed(4)}, top-${m.topK} accuracy ${m.topKAccuracy.toFixed(4)}`,
      '',
      `${'label'.padEnd(16)} precision  recall      f1  support`,
      ...m.perClass.map(
        (c) => `${tableLabel(c.label)} ${c.precision.toFixed(4).padStart(9)} ${c.recall.toFixed(4).padStart(7)} ${c.f1.toFixed(4).padStart(7)} ${String(c.support).padStart(8)}`,
      ),
      '',
      'confusion matrix (rows: actual, columns: predicted)',
      ...m.confusionMatrix.map((row, i) => `${tableLabel(m.labels[i])} ${row.map((n) => String(n).padStart(6)).join('')}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    model.dispose();
  }
}

/** A label in a 16-character table column: control characters escaped (a label holding a
 * line break would break the table), then cut. */
function tableLabel(label: string): string {
  const shown = oneLine(label);
  return (shown.length > 16 ? `${shown.slice(0, 15)}…` : shown).padEnd(16);
}
