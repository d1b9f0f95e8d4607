/**
 * rnn-node: recurrent neural network classifiers (RNN, LSTM, GRU) for Node.js on the CPU.
 */
export { SequenceClassifier, setNumThreads, getNumThreads, PREDICT_SYNC_MAX_SEQUENCES } from './classifier';
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
} from './config';
export type { Dataset, SequenceInput, DenseSequences, TokenSequences, TypedSequences, Labels } from './data';
export type { OptimizerOptions, FitCallbacks, EpochLogs, BatchLogs, History } from './training';
export { RnnNodeError, DisposedError, BusyError, NonFiniteLossError, CheckpointError } from './errors';
export { parseIdx, readIdxDataset } from './idx';
export type { IdxArray, IdxDataset } from './idx';
export { backendInfo } from './backend';
export type { BackendInfo } from './backend';
