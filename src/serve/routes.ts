/**
 * The model routes of `rnn-node serve`: OIP metadata, readiness and infer; records
 * (:classify, predict's lines with "index"); streaming sessions. See server.ts for admission,
 * errors and draining, docs/SERVE.md for the bodies.
 */
import type { FastifyInstance } from 'fastify';
import { recordFromJson } from '../data/readers';
import type { DataRecord } from '../data/readers';
import { lineFormatter } from '../inference/prediction-lines';
import { DataFormatError } from '../util/errors';
import { inferInput, inferResponse, MAX_TENSOR_VALUES, modelMetadata, RequestError } from './oip';
import type { ModelVersion } from './models';
import type { RecordSchema } from '../data/record-schema';
import type { ServerContext } from './context';
import { MAX_PENDING_PUSHES } from './sessions';

type Params = { name: string };

export function registerModelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { registry, sessions, metrics } = ctx;
  const served = (name: string): ModelVersion => {
    const v = registry.peek(name);
    if (!v) throw new RequestError(404, `no model named '${name}' (served: ${registry.names.join(', ')})`);
    return v;
  };

  app.get<{ Params: Params }>('/v2/models/:name', async (request, reply) => {
    const v = served(request.params.name);
    reply.header('x-model-version', v.version);
    return modelMetadata(v);
  });
  app.get<{ Params: Params }>('/v2/models/:name/ready', async (request, reply) => {
    const v = served(request.params.name);
    reply.header('x-model-version', v.version);
    return { name: v.name, ready: true };
  });
  app.post<{ Params: Params }>('/v2/models/:name/infer', async (request, reply) =>
    ctx.admit(reply, request.params.name, async (v, signal) => {
      // A value takes at least two bytes of JSON ("0,"): a shape declaring more than the body
      // could carry is refused before anything is allocated for it.
      const x = inferInput(request.body, v, Math.min(MAX_TENSOR_VALUES, Math.ceil(ctx.options.bodyLimit / 2)));
      const probs = (await v.model.predictProba(x, { signal })) as Float32Array;
      return inferResponse(v, probs, x.shape[0], (request.body as { id?: unknown }).id);
    }),
  );

  // Google-style custom verbs ("name:classify"): Fastify cannot put a literal ':' after a
  // parameter, so the segment is one parameter, split at its last ':'.
  app.post<{ Params: { target: string } }>('/v1/models/:target', async (request, reply) =>
    ctx.admit(reply, verbTarget(request.params.target, 'classify', 'model'), async (v, signal) => {
      const { records, jsonl } = recordsOf(request.body, v.schema);
      if (!v.preprocessor) throw new RequestError(400, `model '${v.name}' has no saved preprocessing, so it takes no records: use /v2/models/${v.name}/infer with tensors`);
      let encoded;
      try {
        encoded = v.preprocessor.encode(records);
      } catch (e) {
        if (e instanceof DataFormatError) throw new RequestError(400, `record ${e.line - 1}: ${e.message.replace(/^[^:]*:\d+: /, '')}`);
        throw e;
      }
      const probs = (await v.model.predictProba(encoded.x, { signal })) as Float32Array;
      const format = lineFormatter(v.labels, v.model.labels !== null);
      // predict's line, "index" in place of "line", after the record's id when it has one.
      const lines = records.map((r, i) => format(probs, i, r.id === undefined ? `{"index":${i}` : `{"id":${JSON.stringify(r.id)},"index":${i}`));
      if (jsonl) {
        reply.header('content-type', 'application/x-ndjson');
        return lines.join('');
      }
      reply.header('content-type', 'application/json');
      return `[${lines.map((l) => l.slice(0, -1)).join(',')}]`;
    }),
  );

  app.post<{ Params: Params }>('/v1/models/:name/sessions', async (request, reply) => {
    const v = served(request.params.name);
    if (sessions.full) {
      reply.header('retry-after', '1');
      throw new RequestError(429, `the server holds ${sessions.size} sessions (its --max-sessions); close one or retry later`);
    }
    const held = registry.acquire(v.name)!;
    try {
      const session = sessions.add(held, held.model.openStream());
      metrics.sessions.set(sessions.size);
      reply.header('x-model-version', held.version);
      return { session_id: session.id, model_name: held.name, model_version: held.version };
    } catch (e) {
      registry.release(held);
      throw e;
    }
  });
  app.post<{ Params: { target: string } }>('/v1/sessions/:target', async (request, reply) => {
    const id = verbTarget(request.params.target, 'push', 'session');
    const session = sessions.get(id);
    if (!session) throw new RequestError(404, `no session '${id.slice(0, 64)}' (closed, expired or never opened)`);
    if (session.pending >= MAX_PENDING_PUSHES) {
      reply.header('retry-after', '1');
      throw new RequestError(429, `session '${id.slice(0, 64)}' has ${session.pending} pushes waiting; wait for their answers`);
    }
    const steps = stepsOf(request.body, session.version);
    // Admitted as any request (the queue bound, the deadline), on the session's own version.
    return ctx.admit(reply, session.version, (v) =>
      sessions.push(session, async () => {
        const probs = (await session.stream.push(steps)) as number[];
        let best = 0;
        for (let c = 1; c < probs.length; c++) if (probs[c] > probs[best]) best = c;
        return { probabilities: Object.fromEntries(v.labels.map((name, c) => [name, probs[c]])), label: v.model.labels ? v.labels[best] : best, steps: session.stream.steps };
      }),
    );
  });
  app.delete<{ Params: { id: string } }>('/v1/sessions/:id', async (request) => {
    if (!sessions.delete(request.params.id)) throw new RequestError(404, `no session '${String(request.params.id).slice(0, 64)}'`);
    metrics.sessions.set(sessions.size);
    return { deleted: true };
  });
}

/** The NAME of "NAME:verb", or a 404 naming the verbs there are. */
function verbTarget(segment: string, verb: string, what: string): string {
  const at = segment.lastIndexOf(':');
  if (at <= 0 || segment.slice(at + 1) !== verb) throw new RequestError(404, `expected ${what}:${verb} in the path, got '${segment.slice(0, 80)}'`);
  return segment.slice(0, at);
}

/** A :classify body: a JSON array of records, or JSONL text. */
function recordsOf(body: unknown, schema: RecordSchema): { records: DataRecord[]; jsonl: boolean } {
  if (Array.isArray(body)) {
    if (body.length === 0) throw new RequestError(400, 'the body holds no records');
    return { records: body.map((value, i) => asRecord(() => recordFromJson(value, 'body', i + 1, schema), i)), jsonl: false };
  }
  if (typeof body === 'string') {
    const lines = body.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) throw new RequestError(400, 'the body holds no records');
    return {
      records: lines.map((line, i) =>
        asRecord(() => {
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch (e) {
            throw new DataFormatError('body', i + 1, `not valid JSON (${(e as Error).message})`);
          }
          return recordFromJson(value, 'body', i + 1, schema);
        }, i),
      ),
      jsonl: true,
    };
  }
  throw new RequestError(400, 'the body must be a JSON array of records, or JSONL (content-type application/x-ndjson)');
}

function asRecord(read: () => DataRecord, index: number): DataRecord {
  try {
    return read();
  } catch (e) {
    if (e instanceof DataFormatError) throw new RequestError(400, `record ${index}: ${e.message.replace(/^[^:]*:\d+: /, '')}`);
    throw e;
  }
}

/** A push body: {"steps": [[...]]} (normalised as the model's records are), {"text": ...} or {"ids": [...]}. */
function stepsOf(body: unknown, v: ModelVersion): number[][] | number[] | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError(400, 'the body must be a JSON object with "steps", "text" or "ids"');
  const b = body as { steps?: unknown; text?: unknown; ids?: unknown };
  if (typeof b.text === 'string') return b.text;
  if (Array.isArray(b.ids)) return b.ids as number[];
  if (!Array.isArray(b.steps)) throw new RequestError(400, 'the body must hold "steps" (an array of steps), "text" or "ids"');
  const norm = v.preprocessor?.normalization;
  if (!norm) return b.steps as number[][];
  return b.steps.map((step: unknown, t) => {
    if (!Array.isArray(step) || step.length !== norm.mean.length) throw new RequestError(400, `steps[${t}] must be an array of ${norm.mean.length} numbers`);
    return step.map((x, f) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new RequestError(400, `steps[${t}][${f}] must be a finite number`);
      return (x - norm.mean[f]) / norm.std[f];
    });
  });
}
