/**
 * What a model's input is: dense steps of `features` values, or token ids through an
 * embedding. The data layer converts and checks sequences against it (sequence-set.ts); the
 * model's config (model/config.ts) holds one and re-exports these types.
 */

export interface DenseInputConfig {
  type: 'dense';
  /** Steps whose every feature equals this value are padding, as Keras's Masking layer says:
   * they are not steps (at the end, at the front or between others). Default null: none. */
  maskValue?: number | null;
  /** Values per time step. */
  features: number;
}

export interface TokenInputConfig {
  type: 'tokens';
  /** Token ids are in [0, vocabSize). Id 0 is padding. */
  vocabSize: number;
  /** Width of the learned embedding. */
  embeddingDim: number;
  /** Treat id 0 as padding, as Keras's mask_zero does: zeros are not steps, at the end, at
   * the front (Keras's pre-padding) or between tokens. Default true. */
  maskZero?: boolean;
  /** 'uniform' U(-0.05, 0.05) (Keras) or 'normal' N(0, 1) (PyTorch). Default: see DEFAULT_INITIALIZERS. */
  embeddingInitializer?: EmbeddingInitializer;
}

export type EmbeddingInitializer = 'uniform' | 'normal';

/** An input config with every default applied. */
export type ResolvedInputConfig = Required<DenseInputConfig> | Required<TokenInputConfig>;

/** What the data layer needs of a model to check its sequences and labels. */
export interface SequenceSpec {
  input: ResolvedInputConfig;
  classes: number;
  /** Class names, when the classes have them (labels may then be given by name). */
  labels: string[] | null;
}
