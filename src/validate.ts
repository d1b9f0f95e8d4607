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
