/**
 * The `rnn-node train` command that retrains a tuned trial's model, for the study report:
 * the study's own data flags as given, the space's fixed values and the trial's parameters
 * (the space's keys are train's flag names), its epochs and its seed.
 */
import type { Choice } from '../tune/space';
import type { TrialRecord } from '../tune/types';
import type { Flag, FlagValues } from './flags';

/** A word the shell passes through unchanged, or the word in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function flagWords(name: string, value: Choice | string[] | undefined): string[] {
  if (value === undefined || value === null || value === false) return [];
  const flag = shellWord(`--${name}`);
  if (value === true) return [flag];
  if (Array.isArray(value)) return value.flatMap((v) => [flag, shellWord(v)]);
  return [flag, shellWord(String(value))];
}

/**
 * `dataFlags`: the flags train shares with tune (their values here, those left at their
 * default omitted); `fixed`: the space's fixed keys; `studySeed`: the trial's model seed is
 * the study's plus its id.
 */
export function retrainCommand(dataFlags: readonly Flag[], values: FlagValues, fixed: Record<string, Choice>, trial: Readonly<TrialRecord>, studySeed: number, embedding: number | undefined): string {
  const words = ['rnn-node', 'train'];
  for (const flag of dataFlags) {
    const v = values[flag.name];
    if (v !== undefined && v !== flag.default) words.push(...flagWords(flag.name, v as Choice | string[]));
  }
  const settings: Record<string, Choice> = { ...fixed, ...trial.params };
  if (embedding !== undefined && !('embedding' in settings)) settings.embedding = embedding;
  for (const [key, value] of Object.entries(settings)) words.push(...flagWords(key, value));
  // The space's exponential schedule decays by 0.9 an epoch; train's flag defaults to 0.1.
  if (settings.schedule === 'exponential') words.push('--schedule-gamma', '0.9');
  words.push('--epochs', String(trial.epochs), '--seed', String(studySeed + trial.id), '--out', 'model.rnn');
  return words.join(' ');
}
