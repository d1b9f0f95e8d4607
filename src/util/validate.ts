/**
 * The generic argument checks every module uses: each returns the value when it is what the
 * caller expects, and otherwise throws a TypeError (wrong type) or RangeError (wrong value)
 * whose message names the argument (`Expected ... for <name> but received ...`).
 */
import { invalidType, outOfRange } from './errors';

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(name, `an integer in [${min}, ${max}]`, value);
  if (!Number.isInteger(value) || value < min || value > max)
    throw outOfRange(name, `an integer in [${min}, ${max}]`, value);
  return value;
}

export function checkNumber(name: string, value: unknown, min: number, max: number, maxExclusive = false): number {
  const expected = `a number in [${min}, ${max}${maxExclusive ? ')' : ']'}`;
  if (typeof value !== 'number') throw invalidType(name, expected, value);
  if (!Number.isFinite(value) || value < min || value > max || (maxExclusive && value === max))
    throw outOfRange(name, expected, value);
  return value;
}

export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  const expected = `one of ${choices.map((c) => `'${c}'`).join(', ')}`;
  if (typeof value !== 'string') throw invalidType(name, expected, value);
  if (!choices.includes(value as T)) throw outOfRange(name, expected, value);
  return value as T;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * Rejects a key an options object does not have, so that a typo is not silently ignored:
 * TypeError naming it, with the nearest known key or a `hints` entry as a suggestion.
 */
export function checkKnownKeys(name: string, value: object, known: readonly string[], hints: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = [...known].sort((a, b) => distance(key, a) - distance(key, b))[0];
    const prefixed = known.find((k) => k.toLowerCase().startsWith(key.toLowerCase()) || key.toLowerCase().startsWith(k.toLowerCase()));
    const suggestion = hints[key] ?? (near !== undefined && distance(key, near) <= Math.max(2, Math.floor(key.length / 3)) ? near : prefixed);
    const error = new TypeError(`${name}.${key} is not an option${suggestion ? ` (did you mean ${suggestion}?)` : ''}; known: ${known.join(', ')}`) as TypeError & { code: string };
    error.code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
}
