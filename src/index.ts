/**
 * rnn-node: recurrent neural network classifiers (RNN, LSTM, GRU) for Node.js on the CPU.
 */
export { SequenceClassifier, PREDICT_SYNC_MAX_SEQUENCES } from './classifier/classifier';
export { SequenceStream } from './classifier/sequence-stream';
export type { OpenStreamOptions, PushOptions, StreamSteps, DenseSteps, TokenSteps } from './classifier/sequence-stream';
export { setNumThreads, getNumThreads } from './native/threads';
export type { FitOptions, PredictOptions, EvaluateOptions } from './classifier/classifier';
export type { ModelDescription, WeightTensor, WeightsInput } from './model/description';
export { computeMetrics } from './training/metrics';
export type { Metrics, ClassMetrics } from './training/metrics';
export type {
  SequenceClassifierConfig,
  LayerConfig,
  DenseInputConfig,
  TokenInputConfig,
  ResolvedConfig,
  EmbeddingInitializer,
  KernelInitializer,
  RecurrentInitializer,
  BiasInitializer,
} from './model/config';
export { DEFAULT_INITIALIZERS } from './model/config';
export type { CellType } from './model/cells';
export type { Dataset, SequenceInput, DenseSequences, TokenSequences, TypedSequences, Labels } from './data/sequence-set';
export type { FitCallbacks, EpochLogs, BatchLogs, History, TrainingHandle } from './training/fit';
export type { OptimizerOptions } from './training/optimizer-options';
export { earlyStopping, modelCheckpoint, reduceLROnPlateau } from './training/callbacks';
export type { EarlyStopping, EarlyStoppingOptions, ModelCheckpointOptions, ReduceLROnPlateauOptions } from './training/callbacks';
export type { ScheduleOptions } from './training/schedules';
export type { AugmentOptions } from './training/augment';
export { Tokenizer, PAD_ID, UNKNOWN_ID } from './data/tokenizer';
export type { TokenizerOptions, TokenizerJSON } from './data/tokenizer';
export { Preprocessor, labelSpace } from './data/preprocessing';
export type { PreprocessingJSON, PreprocessorOptions } from './data/preprocessing';
export { MISSING_POLICIES } from './data/missing';
export type { MissingPolicy } from './data/missing';
export { readRecords, readAllRecords, parseJsonlRecord, parseCsvRecord } from './data/readers';
export type { DataRecord, TextRecord, SequenceRecord } from './data/readers';
export { detectFormat, expandPaths, openSource, openSources, readAll } from './data/sources';
export type { RecordSchema } from './data/record-schema';
export type { RecordFormat, DataSource, SourceChunk, SourceOptions, LoadedData } from './data/sources';
export { splitIndices } from './training/split';
export { RnnNodeError, DisposedError, BusyError, NonFiniteLossError, CheckpointError, DataFormatError, UnsupportedModelError, ModelFileError, InferenceOnlyError, StudyError, StreamStateError, StreamClosedError } from './util/errors';
export { parseIdx, readIdxDataset } from './data/idx';
export type { IdxArray, IdxDataset } from './data/idx';
export { backendInfo } from './native/backend';
export type { BackendInfo } from './native/backend';
export type { VariantNotTaken } from './native/variants';
export type { ImportOptions } from './interop/tfjs/tfjs';
export type { BatchingOptions, BatchingStats } from './classifier/micro-batcher';
export { tune } from './tune/tune';
export type { TuneOptions, TuneBudget, Study } from './tune/tune';
export type { TrialParams, RangeOptions, Choice } from './tune/space';
export type { JsonSpace, JsonParam } from './tune/json-space';
export type { TrialSettings, TrialRecord, TrialState, EpochRecord, Objective, Direction } from './tune/types';
export type { Constraints } from './tune/trial-runner';
