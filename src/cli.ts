#!/usr/bin/env node
/**
 * The `rnn-node` command line: the commands declared in src/cli/commands.ts. Results go to
 * stdout, progress and errors to stderr. Exit codes: 0 success, 1 runtime error (unreadable
 * file, corrupt model, bad record), 2 usage error (unknown flag, missing or invalid value).
 */
import { oneLine } from './cli/terminal-text';
import { commandNamed, COMMANDS, runCommand, usageText } from './cli/commands';
import { UsageError } from './cli/flags';

function version(): string {
  return require('../package.json').version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usageText() + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const entry = commandNamed(command);
  if (!entry) {
    process.stderr.write(`rnn-node: unknown command '${oneLine(command)}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  try {
    return await runCommand(entry, rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${oneLine(e.message)} (see rnn-node ${command} --help)\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`rnn-node ${command}: ${oneLine(message)}\n`);
    return 1;
  }
}


/**
 * The library's own warnings (codes RNN_NODE_*) as the command's stderr line, `rnn-node:
 * warning: ...`, instead of Node's `(node:PID) [CODE] Warning: rnn-node: ...`; other
 * warnings as Node prints them.
 */
function printWarnings(): void {
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code?.startsWith('RNN_NODE_')) process.stderr.write(`rnn-node: warning: ${oneLine(warning.message.replace(/^rnn-node: /, ''))}\n`);
    else for (const listener of defaults) listener(warning);
  });
}

if (require.main === module) {
  printWarnings();
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`rnn-node: ${e instanceof Error ? e.stack : e}\n`);
      process.exitCode = 1;
    },
  );
}
