/** `rnn-node train`: fit a classifier on a data file and save it. */
import { CELL_TYPES, type CellType } from '../model/cells';
import { performance } from 'node:perf_hooks';
import { earlyStopping } from '../training/callbacks';
import { SequenceClassifier, type FitOptions } from '../classifier/classifier';
import { setNumThreads } from '../native/threads';
import { type BiasInitializer, DEFAULT_INITIALIZERS, type EmbeddingInitializer, type KernelInitializer, type LayerConfig, type RecurrentInitializer, type SequenceClassifierConfig } from '../model/config';
import type { ScheduleOptions } from '../training/schedules';
import type { FitCallbacks } from '../training/fit';
import type { FlagCommand } from './command';
import { UsageError, type Flag, type FlagValues } from './flags';
import { jsonFlag, REPORT_FLAGS, schemaFromFlags, THREADS_FLAG } from './common-flags';
import { preprocessingFor, TRAINING_DATA_FLAGS } from './training-data';
import { loadData } from './inputs';
import { progressReporter } from './progress';
import { checkReportFlags, classesOfModel, datasetFor, describeRecords, preprocessorOf, reportOptionsOf, schemaOf } from './shared';

const TRAIN_FLAGS: Flag[] = [
  ...TRAINING_DATA_FLAGS.slice(0, 1),
  { name: 'out', kind: 'path', output: 'file', replaces: ['resume'], aliases: ['output'], help: 'where to write the model (atomically)', required: true },
  ...TRAINING_DATA_FLAGS.slice(1),
  { name: 'cell', kind: { choices: CELL_TYPES }, help: 'recurrent cell', default: 'lstm' },
  { name: 'units', kind: 'int', min: 1, max: 16384, help: 'units per recurrent layer', default: 128 },
  { name: 'layers', kind: 'int', min: 1, max: 64, help: 'stacked recurrent layers', default: 1 },
  { name: 'bidirectional', kind: 'bool', help: 'bidirectional layers', default: false },
  { name: 'embedding', kind: 'int', min: 1, max: 16384, help: 'embedding width (text)', default: 32 },
  { name: 'embedding-init', kind: { choices: ['uniform', 'normal'] }, help: 'embedding initialiser: uniform ±0.05 (Keras) or N(0, 1) (PyTorch)', default: DEFAULT_INITIALIZERS.embedding },
  { name: 'kernel-init', kind: { choices: ['glorotUniform', 'torchUniform'] }, help: 'input kernel initialiser (torchUniform: ±1/√units)', default: DEFAULT_INITIALIZERS.kernel },
  { name: 'recurrent-init', kind: { choices: ['orthogonal', 'torchUniform'] }, help: 'recurrent kernel initialiser', default: DEFAULT_INITIALIZERS.recurrent },
  { name: 'bias-init', kind: { choices: ['zeros', 'torchUniform'] }, help: 'bias initialiser (the LSTM forget-gate bias starts at 1 either way)', default: DEFAULT_INITIALIZERS.bias },
  { name: 'pooling', kind: { choices: ['last', 'mean', 'max'] }, help: 'sequence pooling before the classifier head', default: 'last' },
  { name: 'dropout', kind: 'float', min: 0, below: 1, help: 'dropout on each layer output (training only)', default: 0 },
  { name: 'epochs', kind: 'int', min: 1, max: 1e6, help: 'training epochs', default: 10 },
  { name: 'batch-size', kind: 'int', min: 1, max: 1 << 20, help: 'sequences per step', default: 32 },
  { name: 'optimizer', kind: { choices: ['adam', 'adamw', 'sgd', 'rmsprop'] }, help: 'optimizer', default: 'adam' },
  { name: 'lr', kind: 'float', min: 0, help: 'learning rate', shown: '0.001 (sgd: 0.01)' },
  { name: 'weight-decay', kind: 'float', min: 0, help: 'weight decay (decoupled for adamw, L2 otherwise)', shown: '0 (adamw: 0.01)' },
  { name: 'clip-norm', kind: 'float', min: 0, help: 'clip gradients to this global norm (0 = off)', default: 0 },
  { name: 'schedule', kind: { choices: ['none', 'step', 'exponential', 'cosine'] }, help: 'learning-rate schedule per epoch', default: 'none' },
  { name: 'schedule-step', kind: 'int', min: 1, help: 'step schedule: epochs between decays', default: 10 },
  { name: 'schedule-gamma', kind: 'float', min: 0, help: 'step/exponential schedule: decay factor', default: 0.1 },
  { name: 'warmup', kind: 'int', min: 0, help: 'cosine schedule: linear warmup epochs', default: 0 },
  { name: 'patience', kind: 'int', min: 0, help: 'early stopping after N epochs without improvement of the validation loss (of the training loss without validation data); when it stops, the best epoch\'s weights are kept', shown: 'off' },
  { name: 'class-weights', kind: 'string', help: "loss weights: 'balanced' or label=weight,...", shown: 'all 1' },
  { name: 'augment-noise', kind: 'float', min: 0, help: 'training augmentation: Gaussian noise std on dense values', default: 0 },
  { name: 'augment-crop', kind: 'float', min: 1e-9, max: 1, help: 'training augmentation: keep a random window of at least this fraction', default: 1 },
  { name: 'augment-shift', kind: 'int', min: 0, help: 'training augmentation: rotate sequences by up to N steps', default: 0 },
  { name: 'token-dropout', kind: 'float', min: 0, below: 1, help: 'training augmentation: replace tokens by <unk> with this probability', default: 0 },
  { name: 'bucketing', kind: 'bool', help: 'batch sequences of similar length together', default: false },
  { name: 'seed', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'seed for weights, shuffling, dropout and splits', default: 0 },
  THREADS_FLAG,
  { name: 'resume', kind: 'path', help: 'continue training this model (its architecture and preprocessing are kept, and without --optimizer its optimizer and moments)', shown: 'none' },
  ...REPORT_FLAGS,
  jsonFlag('print one JSON object with the results'),
];

export const TRAIN_COMMAND: FlagCommand = {
  name: 'train',
  summary: 'train a sequence classifier on JSONL, CSV or IDX data and save it',
  description: 'Train a sequence classifier and save it to --out.',
  flags: TRAIN_FLAGS,
  run: ({ values, given }) => train(values, given),
};

function classWeights(spec: string | undefined, labels: Int32Array, classes: number, names: string[] | null): number[] | undefined {
  if (spec === undefined) return undefined;
  if (spec === 'balanced') {
    const counts = new Array<number>(classes).fill(0);
    for (const y of labels) counts[y]++;
    return counts.map((c) => (c ? labels.length / (classes * c) : 1));
  }
  const weights = new Array<number>(classes).fill(1);
  for (const part of spec.split(',')) {
    const [key, value] = part.split('=');
    const w = Number(value);
    const k = names ? names.indexOf(key) : Number(key);
    if (value === undefined || !Number.isFinite(w) || w < 0 || !(k >= 0 && k < classes && Number.isInteger(k)))
      throw new UsageError(`rnn-node train: --class-weights expects 'balanced' or label=weight,... with known labels, got '${spec}'`);
    weights[k] = w;
  }
  return weights;
}

async function train(v: FlagValues, given: Set<string>): Promise<number> {
  if (v.validation !== undefined && v['validation-split'] !== undefined)
    throw new UsageError('rnn-node train: use either --validation or --validation-split, not both');
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  checkReportFlags(v);
  // A resumed model keeps the record schema it was trained with, unless flags change it.
  const resumed = v.resume !== undefined ? await resumeModel(v.resume as string) : null;
  const schema = resumed ? schemaOf(resumed.model, schemaFromFlags(v)) : schemaFromFlags(v);
  const data = await loadData(v.data as string[], v.format as 'auto', 'train', v['idx-prefix'] as string | undefined, schema);
  const { model, pre } = resumed ?? buildModel(v, data);
  model.preprocessing = { ...(model.preprocessing ?? pre.toJSON()), source: schema };
  const train = datasetFor(data, classesOfModel(model), pre);
  let validationData: FitOptions['validationData'];
  // The report's mistakes are records of the validation data when there is some, else of --data.
  let evaluatedData = data;
  if (v.validation !== undefined) {
    const vdata = await loadData([v.validation as string], v.format as 'auto', 't10k', v['idx-prefix'] as string | undefined, schema);
    validationData = datasetFor(vdata, classesOfModel(model), pre);
    evaluatedData = vdata;
  }
  const hasValidation = validationData !== undefined || v['validation-split'] !== undefined;
  const callbacks: FitCallbacks[] = [];
  const epochs = v.epochs as number;
  const batchSize = v['batch-size'] as number;
  const trainCount = Math.round(train.y.length * (1 - ((v['validation-split'] as number) ?? 0)));
  if (!v.json) callbacks.push(progressReporter(model.epochsTrained + epochs, Math.ceil(trainCount / batchSize), trainCount));
  const stopper = v.patience !== undefined ? earlyStopping({ patience: v.patience as number, restoreBestWeights: true, monitor: hasValidation ? 'valLoss' : 'loss' }) : null;
  if (stopper) callbacks.push(stopper);
  const schedule: ScheduleOptions | undefined =
    v.schedule === 'step' ? { type: 'step', stepSize: v['schedule-step'] as number, gamma: v['schedule-gamma'] as number }
      : v.schedule === 'exponential' ? { type: 'exponential', gamma: v['schedule-gamma'] as number }
        : v.schedule === 'cosine' ? { type: 'cosine', warmupEpochs: v.warmup as number }
          : undefined;
  const started = performance.now();
  const history = await model.fit(train, {
    epochs,
    batchSize,
    validationData,
    validationSplit: v['validation-split'] as number | undefined,
    stratify: v.stratify as boolean,
    // A resumed run without --optimizer goes on with the optimizer it was trained with (and its
    // moments); --lr, --weight-decay and --clip-norm still apply.
    optimizer: resumed && !given.has('optimizer') && model.optimizer
      ? {
          ...model.optimizer,
          ...(v.lr !== undefined ? { learningRate: v.lr as number } : {}),
          ...(v['weight-decay'] !== undefined ? { weightDecay: v['weight-decay'] as number } : {}),
          ...(given.has('clip-norm') ? { clipNorm: v['clip-norm'] as number } : {}),
        }
      : {
          type: v.optimizer as 'adam',
          ...(v.lr !== undefined ? { learningRate: v.lr as number } : {}),
          ...(v['weight-decay'] !== undefined ? { weightDecay: v['weight-decay'] as number } : {}),
          clipNorm: v['clip-norm'] as number,
        },
    classWeight: classWeights(v['class-weights'] as string | undefined, train.y, model.config.classes, model.labels),
    schedule,
    bucketing: v.bucketing as boolean,
    augment: {
      noise: v['augment-noise'] as number,
      crop: v['augment-crop'] as number,
      shift: v['augment-shift'] as number,
      tokenDropout: v['token-dropout'] as number,
    },
    callbacks,
    ...reportOptionsOf(v, describeRecords(evaluatedData)),
  });
  const seconds = (performance.now() - started) / 1000;
  await model.save(v.out as string);
  const last = history.epoch.length - 1;
  const result = {
    model: v.out,
    epochs: history.epoch.length,
    epochsTrained: model.epochsTrained,
    seconds,
    sequencesPerSecond: (trainCount * history.epoch.length) / seconds,
    loss: history.history.loss[last],
    accuracy: history.history.accuracy[last],
    valLoss: history.history.valLoss?.[last],
    valAccuracy: history.history.valAccuracy?.[last],
    stoppedEarly: stopper?.stoppedEpoch !== null && stopper?.stoppedEpoch !== undefined,
    history: history.history,
    ...(v.report !== undefined ? { report: v.report } : {}),
    ...(v['metrics-log'] !== undefined ? { metricsLog: v['metrics-log'] } : {}),
    params: model.paramCount,
    labels: model.labels,
  };
  if (v.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const val = result.valAccuracy !== undefined ? `, validation accuracy ${result.valAccuracy.toFixed(4)}` : '';
    process.stdout.write(
      `trained ${result.epochs} epochs in ${seconds.toFixed(1)} s (${Math.round(result.sequencesPerSecond)} sequences/s): ` +
        `loss ${result.loss.toFixed(4)}, accuracy ${result.accuracy.toFixed(4)}${val}${result.stoppedEarly ? ' (stopped early, best weights restored)' : ''}\n` +
        `saved ${v.out} (${model.paramCount} parameters)\n` +
        (v.report !== undefined ? `report: ${v.report}\n` : ''),
    );
  }
  model.dispose();
  return 0;
}

async function resumeModel(path: string) {
  const model = await SequenceClassifier.load(path);
  return { model, pre: preprocessorOf(model) };
}

function buildModel(v: FlagValues, data: Awaited<ReturnType<typeof loadData>>) {
  const { pre, classes } = preprocessingFor(v, data);
  const layer: LayerConfig = {
    cell: v.cell as CellType,
    units: v.units as number,
    bidirectional: v.bidirectional as boolean,
    dropout: v.dropout as number,
    kernelInitializer: v['kernel-init'] as KernelInitializer,
    recurrentInitializer: v['recurrent-init'] as RecurrentInitializer,
    biasInitializer: v['bias-init'] as BiasInitializer,
  };
  const input = pre.inputConfig(v.embedding as number);
  const config: SequenceClassifierConfig = {
    input: input.type === 'tokens' ? { ...input, embeddingInitializer: v['embedding-init'] as EmbeddingInitializer } : input,
    layers: Array.from({ length: v.layers as number }, () => ({ ...layer })),
    pooling: v.pooling as 'last',
    classes,
    seed: v.seed as number,
  };
  const model = new SequenceClassifier(config);
  model.preprocessing = pre.toJSON() as unknown as Record<string, unknown>;
  return { model, pre };
}
