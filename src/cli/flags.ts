/**
 * Declarative flag tables for the CLI: each flag has a kind, a default and a help line, so
 * parsing, validation and `--help` come from one place.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export type FlagKind = 'int' | 'float' | 'string' | 'path' | 'bool' | { choices: readonly string[] };

export interface Flag {
  name: string;
  kind: FlagKind;
  help: string;
  default?: string | number | boolean;
  /** Smallest accepted value (int, float). */
  min?: number;
  /** Largest accepted value (int, float). */
  max?: number;
  /** Exclusive upper bound for floats. */
  below?: number;
  required?: boolean;
  /** Help text for the default when there is no default value (e.g. 'off'). */
  shown?: string;
  /** Other names the flag answers to (e.g. predict's --input for --data). */
  aliases?: string[];
  /** May be given several times (the value is then a list). */
  multiple?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

function describeKind(f: Flag): string {
  if (f.kind === 'bool') return '';
  if (typeof f.kind === 'object') return ` ${f.kind.choices.join('|')}`;
  return { int: ' N', float: ' F', string: ' S', path: ' PATH' }[f.kind];
}

export function helpText(command: string, summary: string, flags: Flag[], positional = ''): string {
  const lines = [`Usage: rnn-node ${command}${positional ? ' ' + positional : ''} [options]`, '', summary, '', 'Options:'];
  const width = Math.max(...flags.map((f) => `--${f.name}${describeKind(f)}`.length)) + 2;
  for (const f of flags) {
    const left = `--${f.name}${describeKind(f)}`.padEnd(width);
    const def = f.required ? ' (required)' : f.default !== undefined ? ` (default: ${f.default})` : f.shown ? ` (default: ${f.shown})` : '';
    const aliases = f.aliases?.length ? ` (also ${f.aliases.map((a) => `--${a}`).join(', ')})` : '';
    lines.push(`  ${left}${f.help}${aliases}${def}`);
  }
  lines.push(`  ${'--help'.padEnd(width)}show this help`);
  return lines.join('\n');
}

/** Parses argv against the table. Throws UsageError with one clear line on any problem. */
export function parseFlags(command: string, argv: string[], flags: Flag[], positionals = 0): { values: FlagValues; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const f of flags)
    for (const name of [f.name, ...(f.aliases ?? [])]) options[name] = { type: f.kind === 'bool' ? 'boolean' : 'string', ...(f.multiple ? { multiple: true } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option');
    throw new UsageError(`rnn-node ${command}: ${msg}`);
  }
  if (parsed.values.help) return { values: {}, positionals: [], help: true };
  if (parsed.positionals.length > positionals)
    throw new UsageError(`rnn-node ${command}: unexpected argument '${parsed.positionals[positionals]}'`);
  const values: FlagValues = {};
  for (const f of flags) {
    const given = [f.name, ...(f.aliases ?? [])].filter((name) => parsed.values[name] !== undefined);
    if (given.length > 1) throw new UsageError(`rnn-node ${command}: ${given.map((n) => `--${n}`).join(' and ')} name the same option; give one`);
    const raw = (given.length ? parsed.values[given[0]] : undefined) as string | boolean | string[] | undefined;
    if (raw === undefined) {
      if (f.required) throw new UsageError(`rnn-node ${command}: --${f.name} is required`);
      values[f.name] = f.default;
      continue;
    }
    values[f.name] = Array.isArray(raw) ? raw.map((one) => convert(command, f, one) as string) : convert(command, f, raw);
  }
  return { values, positionals: parsed.positionals, help: false };
}

function convert(command: string, f: Flag, raw: string | boolean): string | number | boolean {
  const bad = (expected: string) => new UsageError(`rnn-node ${command}: --${f.name} expects ${expected}, got '${raw}'`);
  if (f.kind === 'bool') return raw as boolean;
  const text = raw as string;
  if (typeof f.kind === 'object') {
    if (!f.kind.choices.includes(text)) throw bad(`one of ${f.kind.choices.join(', ')}`);
    return text;
  }
  if (f.kind === 'int' || f.kind === 'float') {
    const n = Number(text);
    const range = `${f.min ?? '-inf'}..${f.below !== undefined ? `<${f.below}` : f.max ?? 'inf'}`;
    if (text.trim() === '' || !Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) throw bad(`${f.kind === 'int' ? 'an integer' : 'a number'} in ${range}`);
    if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max) || (f.below !== undefined && n >= f.below))
      throw bad(`${f.kind === 'int' ? 'an integer' : 'a number'} in ${range}`);
    return n;
  }
  if (text === '') throw bad('a non-empty value');
  return text;
}
