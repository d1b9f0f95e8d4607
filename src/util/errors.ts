/**
 * Error classes. Argument problems are plain `TypeError` (wrong type) or `RangeError`
 * (wrong size or value) whose message names the argument and what was expected; they also
 * carry a `code`. Library states get their own classes, each with a stable `code`.
 */

/** Base class of the library's own errors. */
export class RnnNodeError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The model was used after `dispose()`. */
export class DisposedError extends RnnNodeError {
  constructor(message = 'The model has been disposed') {
    super(message, 'ERR_RNN_DISPOSED');
  }
}

/** The call conflicts with work in progress on the same model (e.g. predict during fit). */
export class BusyError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_BUSY');
  }
}

/** Training produced a non-finite loss. */
export class NonFiniteLossError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_NON_FINITE_LOSS');
  }
}

/** A model file is unreadable, corrupt, truncated or from an unsupported format version. */
export class CheckpointError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_CHECKPOINT');
  }
}

/** A model from another tool uses something rnn-node does not compute (a layer, an option, a
 * graph shape): names the layer, its class and the reason. Nothing is half-built. */
export class UnsupportedModelError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_UNSUPPORTED_MODEL');
  }
}

/** A model file of another format (tfjs model.json and its weight shards, ONNX) is unreadable,
 * truncated or inconsistent; the message names the file and what is wrong. */
export class ModelFileError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_MODEL_FILE');
  }
}

/** Training (fit, computeGradients) was asked of an inference-only model: an int8 or bf16
 * model made by `quantize()`. Train the float32 model, then quantize it again. */
export class InferenceOnlyError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_INFERENCE_ONLY');
  }
}

/** A data file has a malformed record; `file` and `line` say where. */
export class DataFormatError extends RnnNodeError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`, 'ERR_RNN_DATA');
    this.file = file;
    this.line = line;
  }
}

/** A study journal (tune) is unreadable, corrupt, or belongs to another study: another space,
 * objective or scheduler, which the message names. */
export class StudyError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_STUDY');
  }
}

/** A stream's saved state cannot be restored: it is corrupt, truncated, of another format
 * version, or was saved from another model (other config or weights), which the message says. */
export class StreamStateError extends RnnNodeError {
  constructor(message: string) {
    super(message, 'ERR_RNN_STREAM_STATE');
  }
}

/** A stream was used after `close()`. */
export class StreamClosedError extends RnnNodeError {
  constructor(message = 'The stream has been closed') {
    super(message, 'ERR_RNN_STREAM_CLOSED');
  }
}

export type ArgumentError = TypeError & { code: string };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'number') return `${value} of type number`;
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}' of type string`;
  return `a value of type ${typeof value}`;
}

/** TypeError: `Expected <expected> for <name> but received <value>`. */
export function invalidType(name: string, expected: string, received: unknown): TypeError {
  const error = new TypeError(`Expected ${expected} for ${name} but received ${describe(received)}`) as ArgumentError;
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

/** RangeError: `Expected <expected> for <name> but received <value>`. */
export function outOfRange(name: string, expected: string, received: unknown): RangeError {
  const error = new RangeError(`Expected ${expected} for ${name} but received ${describe(received)}`) as RangeError & {
    code: string;
  };
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

