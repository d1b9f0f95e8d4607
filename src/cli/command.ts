/**
 * A command of the CLI, declared once: its name, its line in `rnn-node --help`, its flags,
 * its help and what it runs. The registry (commands.ts) lists the declarations; from them
 * come the dispatch and the command list of src/cli.ts, the top-level usage text and
 * docs/CLI.md (scripts/write-cli-docs.mjs). runCommand parses the flags and answers --help
 * for every command, so a command's run starts from checked values.
 */
import { helpText, parseFlags, UsageError, type Flag, type FlagValues } from './flags';

/** What runCommand hands a command: its flags' values (defaults filled in), its positional
 * arguments, and which flags were given. */
export interface Parsed {
  values: FlagValues;
  positionals: string[];
  given: Set<string>;
}

/** A command that takes flags (and perhaps positional arguments). */
export interface FlagCommand {
  name: string;
  /** Its line in `rnn-node --help`. */
  summary: string;
  /** The sentence under the usage line of its help. */
  description: string;
  flags: Flag[];
  /** Positional arguments: how the usage line names them, and how many at most. */
  positional?: { usage: string; count: number };
  run(args: Parsed): Promise<number>;
}

/** A command of subcommands (`queue submit|work|status|collect`), with one help for all. */
export interface GroupCommand {
  name: string;
  summary: string;
  /** The lines under the usage line of its help, before each subcommand's. */
  description: string;
  subcommands: Omit<FlagCommand, 'summary'>[];
  /** The subcommand run when the first argument names none (`rnn-node tune --data ...` is
   * `rnn-node tune run --data ...`). */
  defaultSubcommand?: string;
  /** The error a subcommand's error becomes (the queue's own error classes as usage or runtime errors). */
  mapError?(error: unknown, subcommand: string): unknown;
}

/** A command that reads its own arguments (`bench` hands them to bench/run.mjs). */
export interface PassThroughCommand {
  name: string;
  summary: string;
  help: string;
  runArgs(argv: string[]): Promise<number>;
}

export type Command = FlagCommand | GroupCommand | PassThroughCommand;

const isGroup = (c: Command): c is GroupCommand => 'subcommands' in c;
const isPassThrough = (c: Command): c is PassThroughCommand => 'runArgs' in c;

/** The command's line in `rnn-node --help` (a group's names its subcommands). */
export function summaryOf(command: Command): string {
  return isGroup(command) ? `${command.summary} (${command.subcommands.map((s) => s.name).join(', ')})` : command.summary;
}

/** `rnn-node <command> --help`. */
export function helpOf(command: Command): string {
  if (isPassThrough(command)) return command.help;
  if (!isGroup(command)) return helpText(command.name, command.description, command.flags, command.positional?.usage);
  return [
    `Usage: rnn-node ${command.name} ${command.defaultSubcommand ? '[' : '<'}${command.subcommands.map((s) => s.name).join('|')}${command.defaultSubcommand ? ']' : '>'} [options]`,
    '',
    command.description,
    ...command.subcommands.flatMap((s) => ['', helpText(`${command.name} ${s.name}`, s.description, s.flags, s.positional?.usage)]),
  ].join('\n');
}

function printHelp(command: Command): number {
  process.stdout.write(helpOf(command) + '\n');
  return 0;
}

/** Parses a command's flags and runs it, or prints its help. Throws UsageError (exit 2) or another error (exit 1). */
export async function runCommand(command: Command, argv: string[]): Promise<number> {
  if (isPassThrough(command)) return argv.includes('--help') ? printHelp(command) : command.runArgs(argv);
  if (!isGroup(command)) return runFlags(command.name, command, argv, command);
  let [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return name === undefined ? (printHelp(command), 2) : printHelp(command);
  if (command.defaultSubcommand !== undefined && name.startsWith('-')) [name, rest] = [command.defaultSubcommand, argv];
  const sub = command.subcommands.find((s) => s.name === name);
  if (!sub) throw new UsageError(`rnn-node ${command.name}: unknown subcommand '${name}' (${command.subcommands.map((s) => s.name).join(', ')})`);
  try {
    return await runFlags(`${command.name} ${sub.name}`, sub, rest, command);
  } catch (e) {
    throw command.mapError ? command.mapError(e, sub.name) : e;
  }
}

async function runFlags(name: string, command: Omit<FlagCommand, 'summary'>, argv: string[], helpFrom: Command): Promise<number> {
  const { values, positionals, help, given } = parseFlags(name, argv, command.flags, command.positional?.count ?? 0);
  if (help) return printHelp(helpFrom);
  return command.run({ values, positionals, given });
}
