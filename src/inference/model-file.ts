/**
 * What a prediction needs from a saved model besides its weights: the preprocessing it was
 * trained with, and the file's checksum (a part's sidecar names the model that made it; a
 * queue worker checks it holds the model that was submitted). `predict`, its shards and the
 * queue workers all use these.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { Preprocessor } from '../data/preprocessing';
import type { SequenceClassifier } from '../classifier/classifier';

/** The preprocessing a model was trained with (from its file). */
export function preprocessorOf(model: SequenceClassifier): Preprocessor {
  if (!model.preprocessing) throw new Error('the model has no saved preprocessing (it was not trained by the CLI); use the library API');
  return Preprocessor.fromJSON(model.preprocessing);
}

/** SHA-256 of a file (the model a part was made with, in its sidecar). */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
