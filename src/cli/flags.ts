/**
 * Declarative flag tables for the CLI: each flag has a kind, a default and a help line, so
 * parsing, validation and `--help` come from one place.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
  /** A path the command writes: 'file' (in an existing folder, not a folder itself) or 'any'
   * (checked by the command). Never the same file as one the command reads (its other path flags). */
  output?: 'file' | 'any';
  /** Input flags this output may replace on purpose (train --out over --resume). */
  replaces?: string[];
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
export function parseFlags(command: string, argv: string[], flags: Flag[], positionals = 0): { values: FlagValues; positionals: string[]; help: boolean; given: Set<string> } {
  // Every option is parsed as repeatable, so that one given twice is refused (below) rather
  // than its last value silently winning.
  const options: Record<string, { type: 'string' | 'boolean'; multiple: true }> = { help: { type: 'boolean', multiple: true } };
  const numeric = new Set<string>();
  for (const f of flags)
    for (const name of [f.name, ...(f.aliases ?? [])]) {
      options[name] = { type: f.kind === 'bool' ? 'boolean' : 'string', multiple: true };
      if (f.kind === 'int' || f.kind === 'float') numeric.add(`--${name}`);
    }
  // `--epochs -1`: a negative number is the flag's value (parseArgs would call it ambiguous).
  const args = argv.map((arg, i) => (i > 0 && numeric.has(argv[i - 1]) && /^-[\d.]/.test(arg) ? `\0${arg}` : arg));
  const joined: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('\0')) joined[joined.length - 1] += `=${arg.slice(1)}`;
    else joined.push(arg);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option').replace(/\s*\n\s*/g, ' ');
    throw new UsageError(`rnn-node ${command}: ${msg}`);
  }
  if (parsed.values.help) return { values: {}, positionals: [], help: true, given: new Set() };
  if (parsed.positionals.length > positionals)
    throw new UsageError(`rnn-node ${command}: unexpected argument '${parsed.positionals[positionals]}'`);
  const values: FlagValues = {};
  // The flags the user gave (not their defaults).
  const givenFlags = new Set<string>();
  for (const f of flags) {
    const given = [f.name, ...(f.aliases ?? [])].filter((name) => parsed.values[name] !== undefined);
    if (given.length > 1) throw new UsageError(`rnn-node ${command}: ${given.map((n) => `--${n}`).join(' and ')} name the same option; give one`);
    const raw = (given.length ? parsed.values[given[0]] : undefined) as (string | boolean)[] | undefined;
    if (raw === undefined) {
      if (f.required) throw new UsageError(`rnn-node ${command}: --${f.name} is required`);
      values[f.name] = f.default;
      continue;
    }
    if (!f.multiple && raw.length > 1) throw new UsageError(`rnn-node ${command}: --${given[0]} is given ${raw.length} times; give it once`);
    givenFlags.add(f.name);
    values[f.name] = f.multiple ? raw.map((one) => convert(command, f, one) as string) : convert(command, f, raw[0]);
  }
  checkOutputs(command, flags, values);
  return { values, positionals: parsed.positionals, help: false, given: givenFlags };
}

/** An output file path: in an existing folder, and not a folder itself (`folderHint` says more). */
export function checkOutputFile(command: string, flag: string, path: string, folderHint = ''): void {
  let folder = false;
  let isDirectory = false;
  try {
    folder = statSync(dirname(resolve(path))).isDirectory();
    isDirectory = statSync(resolve(path)).isDirectory();
  } catch {
    // a file not there yet
  }
  if (!folder) throw new UsageError(`rnn-node ${command}: --${flag} ${JSON.stringify(path)} is not in an existing folder`);
  if (isDirectory) throw new UsageError(`rnn-node ${command}: --${flag} ${JSON.stringify(path)} is a folder${folderHint}; give a file path`);
}

/** The files a path names, for comparing: its resolved path, and its inode when it exists. */
function identity(path: string): { resolved: string; inode: string | null } {
  const resolved = resolve(path);
  try {
    const s = statSync(resolved);
    return { resolved, inode: `${s.dev}:${s.ino}` };
  } catch {
    return { resolved, inode: null };
  }
}

/**
 * Output paths, before any work: a 'file' output is a path in an existing folder and not a
 * folder; no output is a file the command reads (another path flag) or another output, which
 * a run would otherwise overwrite with its own result.
 */
function checkOutputs(command: string, flags: Flag[], values: FlagValues): void {
  const paths = (f: Flag) => {
    const v = values[f.name];
    return (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []).filter((p) => p !== '-');
  };
  const outputs = flags.filter((f) => f.output && f.kind === 'path');
  const seen: { flag: string; replaces: string[]; id: ReturnType<typeof identity> }[] = [];
  for (const f of outputs)
    for (const path of paths(f)) {
      if (f.output === 'file') checkOutputFile(command, f.name, path);
      seen.push({ flag: f.name, replaces: f.replaces ?? [], id: identity(path) });
    }
  if (seen.length === 0) return;
  const same = (a: ReturnType<typeof identity>, b: ReturnType<typeof identity>) => a.resolved === b.resolved || (a.inode !== null && a.inode === b.inode);
  for (const f of flags.filter((flag) => flag.kind === 'path' && !flag.output))
    for (const path of paths(f)) {
      const id = identity(path);
      const clash = seen.find((o) => same(o.id, id) && !o.replaces.includes(f.name));
      if (clash) throw new UsageError(`rnn-node ${command}: --${clash.flag} is the same file as --${f.name} (${JSON.stringify(path)}); the run would overwrite what it reads`);
    }
  seen.forEach((a, i) => {
    const clash = seen.slice(i + 1).find((b) => same(a.id, b.id));
    if (clash) throw new UsageError(`rnn-node ${command}: --${a.flag} and --${clash.flag} name the same file; give each its own`);
  });
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
    // Decimal notation only: Number() would also take '0x10', '0b1' and ' 2 '.
    const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
    const range = `${f.min ?? '-inf'}..${f.below !== undefined ? `<${f.below}` : f.max ?? 'inf'}`;
    if (text.trim() === '' || !Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) throw bad(`${f.kind === 'int' ? 'an integer' : 'a number'} in ${range}`);
    if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max) || (f.below !== undefined && n >= f.below))
      throw bad(`${f.kind === 'int' ? 'an integer' : 'a number'} in ${range}`);
    return n;
  }
  if (text === '') throw bad('a non-empty value');
  return text;
}
