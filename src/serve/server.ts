/**
 * `rnn-node serve`: models behind HTTP (Fastify, pino logs, prom-client metrics).
 *   Open Inference Protocol v2 (JSON): /v2, /v2/health/live|ready, /v2/models/{name}[/ready],
 *     POST /v2/models/{name}/infer
 *   records:  POST /v1/models/{name}:classify (a JSON array or JSONL of predict's records)
 *   sessions: POST /v1/models/{name}/sessions, POST /v1/sessions/{id}:push, DELETE /v1/sessions/{id}
 *   GET /metrics
 * Concurrent requests batch through each model's batcher. Admission is bounded (past
 * `maxQueue` requests in flight: 429 with Retry-After) and each request has a deadline (504).
 * Draining (SIGTERM): every new request and readiness get 503 with Connection: close while
 * those in flight finish. Every answer carries `x-model-version` when it concerns a model.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { packageVersion } from '../native/backend';
import { RnnNodeError } from '../util/errors';
import { ModelRegistry } from './models';
import { ServerMetrics } from './metrics';
import { SessionStore } from './sessions';
import { RequestError } from './oip';
import { registerModelRoutes } from './routes';
import { TurnBudget } from './turn-budget';
import type { ServeOptions, ServerContext } from './context';

export type { ServeOptions } from './context';

export interface Server {
  app: FastifyInstance;
  registry: ModelRegistry;
  /** Stops taking work (503), waits for what is in flight; resolves true when it all ended
   * within `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<Server> {
  const metrics = new ServerMetrics();
  const app = Fastify({ logger: { level: options.logLevel }, bodyLimit: options.bodyLimit, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true });
  const batching = (name: string) => ({ maxBatchSize: options.maxBatchSize, maxDelayMs: options.maxDelayMs, onBatch: metrics.onBatch(name) });
  const registry = await ModelRegistry.open(options.models, batching, {
    swapped: (name, version) => {
      metrics.modelVersion.labels(name).set(Number(version));
      app.log.info({ model: name, version }, 'model reloaded');
    },
    failed: (name, path, error) => app.log.error({ model: name, path, err: error.message }, 'model reload failed; the previous version keeps serving'),
  });
  for (const name of registry.names) metrics.modelVersion.labels(name).set(1);
  const sessions = new SessionStore(options.maxSessions, options.sessionTtlMs, (s) => {
    registry.release(s.version);
    metrics.sessions.set(sessions.size);
  });

  let draining = false;
  let inFlight = 0;
  let admitted = 0;
  app.addHook('onRequest', async (_request, reply) => {
    if (draining) {
      reply.header('connection', 'close');
      return reply.code(503).send({ error: 'the server is shutting down' });
    }
    // In flight until its response ends or its client goes away ('close' fires for both; a
    // client that disconnects first gets no onResponse).
    inFlight++;
    reply.raw.once('close', () => inFlight--);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requests.labels(route, String(reply.statusCode)).inc();
    metrics.latency.labels(route).observe(reply.elapsedTime / 1000);
  });
  // Errors as JSON naming what is wrong: the library's typed errors and argument errors are
  // the client's (400), anything else is the server's (500, logged).
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof RequestError) {
      if (error.status === 429) reply.header('retry-after', '1');
      return reply.code(error.status).send({ error: error.message });
    }
    if (error.statusCode && error.statusCode < 500) return reply.code(error.statusCode).send({ error: error.message, code: error.code });
    if (error instanceof TypeError || error instanceof RangeError || error instanceof RnnNodeError) return reply.code(400).send({ error: error.message, code: error.code });
    app.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));
  // JSON bodies are parsed by Fastify's own parser (its errors, its prototype-poisoning
  // checks), but on later turns of the event loop, about a millisecond of them per turn, so
  // that many requests arriving together do not hold the loop (turn-budget.ts).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  const parseTurns = new TurnBudget(1, (error) => app.log.error({ err: error }, 'a deferred body parse threw'));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Bodies waiting to be parsed are bounded as admitted requests are (--max-queue).
    if (parseTurns.pending >= options.maxQueue) {
      done(Object.assign(new RequestError(429, `the server has ${parseTurns.pending} request bodies waiting to be parsed (its --max-queue); retry later`), { statusCode: 429 }), undefined);
      return;
    }
    parseTurns.run(() => {
      try {
        jsonParser(request, body as string, done);
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  });
  // JSONL bodies for :classify; other text as text.
  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/octet-stream', (_req, _payload, done) =>
    done(Object.assign(new RequestError(400, 'binary bodies (the binary tensor extension) are not supported: send JSON'), { statusCode: 400 }), undefined),
  );

  const context: ServerContext = {
    registry,
    sessions,
    metrics,
    options,
    async admit(reply, target, work) {
      if (admitted >= options.maxQueue) {
        throw new RequestError(429, `the server has ${admitted} requests in flight (its --max-queue); retry later`);
      }
      // A model by name (the version serving now), or a session's own version.
      const v = typeof target === 'string' ? registry.acquire(target) : registry.hold(target);
      if (!v) throw new RequestError(404, `no model named '${target as string}' (served: ${registry.names.join(', ')})`);
      reply.header('x-model-version', v.version);
      admitted++;
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new RequestError(504, `the request took longer than ${options.requestTimeoutMs} ms (--request-timeout)`));
        }, options.requestTimeoutMs);
      });
      try {
        return await Promise.race([work(v, controller.signal), deadline]);
      } finally {
        clearTimeout(timer);
        admitted--;
        registry.release(v);
      }
    },
  };

  app.get('/v2', async () => ({ name: 'rnn-node', version: packageVersion(), extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => (draining ? reply.code(503).send({ ready: false }) : { ready: true }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  registerModelRoutes(app, context);

  await app.listen({ host: options.host, port: options.port });
  registry.watch();

  return {
    app,
    registry,
    async drain(timeoutMs) {
      draining = true;
      const until = Date.now() + timeoutMs;
      while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return inFlight === 0;
    },
    async close() {
      sessions.close();
      await app.close();
      registry.close();
      metrics.close();
    },
  };
}
