/** `rnn-node serve --model NAME=path.rnn ...`: models behind HTTP (src/serve/, docs/SERVE.md). */
import { availableParallelism } from 'node:os';
import type { FlagCommand } from './command';
import { UsageError, type FlagValues } from './flags';
import { THREADS_FLAG } from './common-flags';
import { setNumThreads } from '../native/threads';
import { startServer, type ServeOptions } from '../serve/server';

export const SERVE_COMMAND: FlagCommand = {
  name: 'serve',
  summary: 'serve models over HTTP (Open Inference Protocol v2, records, streaming sessions)',
  description:
    'Serve models over HTTP: the Open Inference Protocol v2 in JSON (/v2/...), predict\'s records (/v1/models/NAME:classify), streaming sessions (/v1/models/NAME/sessions) and Prometheus metrics (/metrics). Concurrent requests batch together. A model file replaced on disk (or SIGHUP) is reloaded and swapped in; SIGTERM drains. See docs/SERVE.md.',
  flags: [
    { name: 'model', kind: 'string', multiple: true, required: true, help: 'a model to serve, as NAME=path.rnn (repeat it for several)' },
    { name: 'host', kind: 'string', default: '127.0.0.1', help: 'address to listen on (0.0.0.0: every interface)' },
    { name: 'port', kind: 'int', min: 0, max: 65535, default: 8080, help: 'port to listen on (0: any free port, printed at start)' },
    { name: 'max-batch-size', kind: 'int', min: 1, max: 1 << 20, default: 256, help: 'sequences that make a native batch run at once' },
    { name: 'max-delay', kind: 'float', min: 0, max: 1000, default: 0, help: 'longest a request waits for others to batch with (ms); 0: only for those that arrived in the same turn of the event loop (under load, batches fill while the previous one runs)' },
    { name: 'max-queue', kind: 'int', min: 1, max: 1 << 20, default: 1024, help: 'requests in flight (and, apart, JSON bodies waiting to be parsed) past which new ones get 429 (Retry-After)' },
    { name: 'request-timeout', kind: 'int', min: 1, max: 3_600_000, default: 10_000, help: 'a request still unanswered after this many ms gets 504' },
    { name: 'body-limit', kind: 'int', min: 1024, max: 1 << 30, default: 16 << 20, help: 'largest request body (bytes); larger ones get 413' },
    { name: 'session-ttl', kind: 'float', min: 0.01, max: 86_400 * 7, default: 300, help: 'a session without a push for this many seconds is closed' },
    { name: 'max-sessions', kind: 'int', min: 1, max: 1 << 24, default: 10_000, help: 'open sessions past which a new one gets 429' },
    { name: 'drain-timeout', kind: 'float', min: 0, max: 3600, default: 30, help: 'on SIGTERM, seconds to let requests in flight finish (then exit 1)' },
    { name: 'log-level', kind: { choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] }, default: 'info', help: 'pino log level (JSON lines on stdout)' },
    { ...THREADS_FLAG, help: 'threads for native work (one core is left to the event loop, which parses and answers every request)', shown: 'CPUs available - 1 (at least 1)' },
  ],
  run: ({ values }) => serve(values),
};

function modelSpecs(values: string[]): ServeOptions['models'] {
  const seen = new Set<string>();
  return values.map((text) => {
    const at = text.indexOf('=');
    const name = at > 0 ? text.slice(0, at) : '';
    const path = text.slice(at + 1);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || path === '')
      throw new UsageError(`rnn-node serve: --model must be NAME=path (NAME: letters, digits, '.', '_', '-'), got ${JSON.stringify(text)}`);
    if (seen.has(name)) throw new UsageError(`rnn-node serve: --model names '${name}' twice`);
    seen.add(name);
    return { name, path };
  });
}

async function serve(v: FlagValues): Promise<number> {
  const models = modelSpecs(v.model as string[]);
  setNumThreads(v.threads !== undefined ? (v.threads as number) : Math.max(1, availableParallelism() - 1));
  const server = await startServer({
    models,
    host: v.host as string,
    port: v.port as number,
    maxBatchSize: v['max-batch-size'] as number,
    maxDelayMs: v['max-delay'] as number,
    maxQueue: v['max-queue'] as number,
    requestTimeoutMs: v['request-timeout'] as number,
    bodyLimit: v['body-limit'] as number,
    sessionTtlMs: (v['session-ttl'] as number) * 1000,
    maxSessions: v['max-sessions'] as number,
    logLevel: v['log-level'] as string,
  });
  const address = server.app.server.address();
  const port = typeof address === 'object' && address ? address.port : v.port;
  server.app.log.info({ host: v.host, port, models: models.map((m) => m.name) }, `rnn-node serve listening on http://${v.host}:${port}`);
  process.on('SIGHUP', () => void server.registry.reloadAll());
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'draining');
      const drained = await server.drain((v['drain-timeout'] as number) * 1000);
      if (!drained) server.app.log.error('requests still in flight at --drain-timeout; exiting');
      await server.close().catch(() => undefined);
      resolve(drained ? 0 : 1);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}
