/**
 * rnn-node: recurrent neural network classifiers (RNN, LSTM, GRU) for Node.js on the CPU.
 */
export { SequenceClassifier, PREDICT_SYNC_MAX_SEQUENCES } from './classifier';
export { setNumThreads, getNumThreads } from './threads';
export type { FitOptions, PredictOptions, EvaluateOptions, WeightTensor } from './classifier';
export { computeMetrics } from './metrics';
export type { Metrics, ClassMetrics } from './metrics';
export type {
  SequenceClassifierConfig,
  LayerConfig,
  DenseInputConfig,
  TokenInputConfig,
  CellType,
  ResolvedConfig,
  EmbeddingInitializer,
  KernelInitializer,
  RecurrentInitializer,
  BiasInitializer,
} from './config';
export { DEFAULT_INITIALIZERS } from './config';
export type { Dataset, SequenceInput, DenseSequences, TokenSequences, TypedSequences, Labels } from './data';
export type { FitCallbacks, EpochLogs, BatchLogs, History, TrainingHandle } from './training';
export type { OptimizerOptions } from './optimizer-options';
export { earlyStopping, modelCheckpoint, reduceLROnPlateau } from './callbacks';
export type { EarlyStopping, EarlyStoppingOptions, ModelCheckpointOptions, ReduceLROnPlateauOptions } from './callbacks';
export type { ScheduleOptions } from './schedules';
export type { AugmentOptions } from './augment';
export { Tokenizer, PAD_ID, UNKNOWN_ID } from './tokenizer';
export type { TokenizerOptions, TokenizerJSON } from './tokenizer';
export { Preprocessor, labelSpace } from './preprocessing';
export type { PreprocessingJSON, PreprocessorOptions } from './preprocessing';
export { MISSING_POLICIES } from './missing';
export type { MissingPolicy } from './missing';
export { readRecords, readAllRecords, parseJsonlRecord, parseCsvRecord } from './readers';
export type { DataRecord, TextRecord, SequenceRecord } from './readers';
export { detectFormat, expandPaths, openSource, openSources, readAll } from './sources';
export type { RecordSchema } from './record-schema';
export type { RecordFormat, DataSource, SourceChunk, SourceOptions, LoadedData } from './sources';
export { splitIndices } from './split';
export { RnnNodeError, DisposedError, BusyError, NonFiniteLossError, CheckpointError, DataFormatError, UnsupportedModelError, ModelFileError, InferenceOnlyError } from './errors';
export { parseIdx, readIdxDataset } from './idx';
export type { IdxArray, IdxDataset } from './idx';
export { backendInfo } from './backend';
export type { BackendInfo } from './backend';
export type { VariantNotTaken } from './variants';
export type { ImportOptions } from './interop/tfjs';
export type { BatchingOptions, BatchingStats } from './micro-batcher';
