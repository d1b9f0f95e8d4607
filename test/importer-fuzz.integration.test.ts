/**
 * Mutation fuzz of both importers (`SequenceClassifier.fromTfjs`, `fromOnnx`): three small
 * models of our own (an LSTM on dense input with labels, a GRU on tokens with
 * resetAfter=false, a stacked bidirectional model whose tfjs weights span two shards),
 * exported with `toTfjs` and `toOnnx`, plus the torch.onnx.export fixtures (another writer's
 * graphs, read node by node), corrupted deterministically (seeded PRNG) about 3,700 times:
 * bytes flipped and files truncated (.onnx files, weight shards, model.json), model.json's
 * leaves and branches replaced (null, negative, huge, strings, empty lists and objects),
 * deleted and duplicated, protobuf-level edits of the ONNX graphs (nodes, attributes,
 * initializers, inputs and outputs), and hand-picked bad manifests (`weightsManifest: [null]`,
 * `paths: null`, ...). RNN_NODE_FUZZ_SCALE=10 runs ten times as many cases.
 * Every case must end one of two ways:
 *   - rejected with a typed error whose message says what is wrong (a ModelFileError naming the file,
 *     UnsupportedModelError, CheckpointError, or an argument TypeError/RangeError), never a
 *     JavaScript engine error escaping the importer ("Cannot read properties of null", ...);
 *   - or loaded, predicting finite probabilities that sum to 1 on a valid input.
 * Every loaded model is disposed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CheckpointError, ModelFileError, SequenceClassifier, UnsupportedModelError } from '../src/index';
import type { SequenceClassifierConfig } from '../src/model/config';
import { SeededRandom } from '../src/util/random';

/** Messages of errors the engine or Node throws on their own: a bug in the importer, not a refusal. */
const ENGINE_ERROR =
  /Cannot read propert|is not a function|is not iterable|undefined is not|Cannot convert undefined or null|Cannot destructure|Cannot create property|Invalid array length|Invalid typed array length|outside the bounds of the DataView|Maximum call stack|The value of "\w+" is out of range|Array buffer allocation failed|is not defined/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonPath = (string | number)[];

interface Base {
  name: string;
  config: SequenceClassifierConfig;
  /** Split the tfjs weight shard in two files (the manifest then lists two paths). */
  splitShard?: boolean;
}

const BASES: Base[] = [
  { name: 'lstm-dense', config: { input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 4 }], classes: ['low', 'mid', 'high'], seed: 1 } },
  {
    name: 'gru-tokens',
    config: { input: { type: 'tokens', vocabSize: 12, embeddingDim: 3, maskZero: true }, layers: [{ cell: 'gru', units: 3, resetAfter: false }], classes: 2, seed: 2 },
  },
  {
    name: 'bidi-mean',
    config: {
      input: { type: 'dense', features: 2 },
      layers: [{ cell: 'rnn', units: 3, bidirectional: true, mergeMode: 'concat' }, { cell: 'lstm', units: 2 }],
      pooling: 'mean',
      classes: ['x', 'y'],
      seed: 3,
    },
    splitShard: true,
  },
];

// Cases per base model (3) and per torch fixture (17), by kind. Sized to keep the file well
// under a minute on two cores (about 20 s).
const SCALE = Number(process.env.RNN_NODE_FUZZ_SCALE ?? 1);
const COUNTS_1 = {
  jsonEdits: 330, jsonTruncations: 15, shardFlips: 70, shardTruncations: 25, onnxFlips: 120, onnxTruncations: 30, onnxEdits: 60,
  fixtureFlips: 40, fixtureTruncations: 10, fixtureEdits: 40,
};
const COUNTS = Object.fromEntries(Object.entries(COUNTS_1).map(([k, v]) => [k, Math.round(v * SCALE)])) as typeof COUNTS_1;

const root = mkdtempSync(join(tmpdir(), 'rnn-node-importer-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A mutated model written to disk: the file to load, and the import that loads it. */
interface Loader {
  file: string;
  load: () => Promise<SequenceClassifier>;
}

/** Outcomes of one group of cases: how many loaded, how many were refused by each error class. */
type Tally = Record<string, number>;

/** A valid input for whatever model was loaded: two sequences of 3 and 2 steps. */
function validInput(model: SequenceClassifier): number[][] | number[][][] {
  const input = model.config.input;
  if (input.type === 'tokens') return [[1, 2, 3], [4, 5]].map((s) => s.map((id) => 1 + (id % (input.vocabSize - 1))));
  const step = (k: number) => Array.from({ length: input.features }, (_, f) => Math.sin(1.3 * k + 0.7 * f + 0.11));
  return [[step(0), step(1), step(2)], [step(3), step(4)]];
}

/**
 * Loads one mutated file (`file`: the path a ModelFileError must name); returns what went
 * wrong with the case (null when it is fine) and counts the outcome.
 */
async function runCase({ file, load }: Loader, tally: Tally): Promise<string | null> {
  let model: SequenceClassifier;
  try {
    model = await load();
  } catch (e) {
    const error = e as Error;
    const name = error?.constructor?.name ?? typeof e;
    tally[name] = (tally[name] ?? 0) + 1;
    const typed = error instanceof ModelFileError || error instanceof UnsupportedModelError || error instanceof CheckpointError || error instanceof TypeError || error instanceof RangeError;
    if (!typed) return `rejected with an untyped ${name}: ${error?.message}\n${error?.stack}`;
    if (typeof error.message !== 'string' || error.message.trim() === '') return `rejected with a ${name} without a message`;
    if (ENGINE_ERROR.test(error.message)) return `rejected with an engine error ${name}: ${error.message}\n${error.stack}`;
    if (error instanceof ModelFileError && !error.message.includes(file)) return `rejected with a ModelFileError that does not name ${file}: ${error.message}`;
    return null;
  }
  tally.loaded = (tally.loaded ?? 0) + 1;
  try {
    const probs = model.predictProbaSync(validInput(model)) as number[][];
    if (probs.length !== 2) return `loaded, predicted ${probs.length} rows for 2 sequences`;
    for (const row of probs) {
      if (row.length !== model.config.classes || !row.every((p) => Number.isFinite(p) && p >= 0 && p <= 1))
        return `loaded, predicted a row that is not ${model.config.classes} probabilities: [${row.join(', ')}]`;
      const sum = row.reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > 1e-4) return `loaded, predicted a row summing to ${sum}`;
    }
    return null;
  } catch (e) {
    return `loaded, but predicting a valid input threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
  } finally {
    model.dispose();
  }
}

/** Byte flips: 1 to 8 bytes, each XORed with a non-zero value (a single bit half the time). */
function flipBytes(bytes: Buffer, rng: SeededRandom): { bytes: Buffer; what: string } {
  const out = Buffer.from(bytes);
  const flips = [1, 1, 2, 3, 8][Math.floor(rng.next() * 5)];
  const at: string[] = [];
  for (let k = 0; k < flips; k++) {
    const i = Math.floor(rng.next() * out.length);
    const mask = rng.next() < 0.5 ? 1 << Math.floor(rng.next() * 8) : 1 + Math.floor(rng.next() * 255);
    out[i] ^= mask;
    at.push(`${i}^0x${mask.toString(16)}`);
  }
  return { bytes: out, what: `flipped bytes ${at.join(' ')}` };
}

function truncate(bytes: Buffer, rng: SeededRandom): { bytes: Buffer; what: string } {
  const length = Math.floor(rng.next() * bytes.length); // 0 .. length-1: always shorter
  return { bytes: bytes.subarray(0, length), what: `truncated to ${length} of ${bytes.length} bytes` };
}

function jsonPaths(value: Json, at: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  if (at.length > 0) out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => jsonPaths(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) jsonPaths(value[key], [...at, key], out);
  return out;
}

function parentOf(root: Json, path: JsonPath): Json {
  let node = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, Json>)[key];
  return node;
}

/** Values a leaf or branch is replaced with. */
const REPLACEMENTS: [string, (old: Json) => Json][] = [
  ['null', () => null],
  ['-1', () => -1],
  ['-7.5', () => -7.5],
  ['0', () => 0],
  ['1.5', () => 1.5],
  ['1e9', () => 1e9],
  ['2^53+2', () => 2 ** 53 + 2],
  ['1e308', () => 1e308],
  ['"fuzz"', () => 'fuzz'],
  ['""', () => ''],
  ['true', () => true],
  ['[]', () => []],
  ['{}', () => ({})],
  ['[old]', (old) => [old]],
  ['JSON string of old', (old) => JSON.stringify(old)],
];

/**
 * One edit of a parsed JSON document at a random node, in place; says what it did. The node
 * is drawn under one of `subtrees` (path prefixes, [] for anywhere), each equally likely.
 */
function editJson(doc: Record<string, Json>, rng: SeededRandom, subtrees: JsonPath[]): string {
  const subtree = subtrees[Math.floor(rng.next() * subtrees.length)];
  const all = jsonPaths(doc).filter((p) => subtree.every((k, i) => p[i] === k));
  if (all.length === 0) return `no edit (nothing under ${subtree.join('.')})`;
  const path = all[Math.floor(rng.next() * all.length)];
  const parent = parentOf(doc, path) as Record<string | number, Json>;
  const key = path[path.length - 1];
  const old = parent[key];
  const where = path.join('.');
  const pick = rng.next();
  if (pick < 0.12) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return `deleted ${where}`;
  }
  if (pick < 0.24) {
    // Duplicate an entry: of the list itself, or of the list holding it; else copy a sibling.
    if (Array.isArray(old) && old.length > 0) {
      const i = Math.floor(rng.next() * old.length);
      old.splice(i, 0, structuredClone(old[i]));
      return `duplicated ${where}.${i}`;
    }
    if (Array.isArray(parent)) {
      parent.splice(key as number, 0, structuredClone(old));
      return `duplicated ${where}`;
    }
    const siblings = Object.keys(parent).filter((k) => k !== key);
    if (siblings.length === 0) return 'no edit (an only child)';
    const from = siblings[Math.floor(rng.next() * siblings.length)];
    parent[key] = structuredClone(parent[from]);
    return `${where} = copy of its sibling ${from}`;
  }
  if (pick < 0.28 && Array.isArray(old)) {
    old.reverse();
    return `reversed ${where}`;
  }
  const [what, make] = REPLACEMENTS[Math.floor(rng.next() * REPLACEMENTS.length)];
  parent[key] = make(old);
  return `${where} = ${what}`;
}

/** Hand-picked manifests and metadata: each a name and an edit of a copy of model.json. */
const MANIFEST_CASES: [string, (doc: Record<string, any>) => void][] = [
  ['weightsManifest: null', (d) => (d.weightsManifest = null)],
  ['weightsManifest: {}', (d) => (d.weightsManifest = {})],
  ['weightsManifest: "x"', (d) => (d.weightsManifest = 'x')],
  ['weightsManifest: []', (d) => (d.weightsManifest = [])],
  ['weightsManifest: [null]', (d) => (d.weightsManifest = [null])],
  ['weightsManifest: [group, null]', (d) => d.weightsManifest.push(null)],
  ['weightsManifest: [null, group]', (d) => d.weightsManifest.unshift(null)],
  ['weightsManifest: [1]', (d) => (d.weightsManifest = [1])],
  ['weightsManifest: ["group"]', (d) => (d.weightsManifest = ['group'])],
  ['weightsManifest: [[]]', (d) => (d.weightsManifest = [[]])],
  ['weightsManifest: [{}]', (d) => (d.weightsManifest = [{}])],
  ['weightsManifest: [group, group]', (d) => d.weightsManifest.push(structuredClone(d.weightsManifest[0]))],
  ['paths: null', (d) => (d.weightsManifest[0].paths = null)],
  ['paths: []', (d) => (d.weightsManifest[0].paths = [])],
  ['paths: [null]', (d) => (d.weightsManifest[0].paths = [null])],
  ['paths: "shard.bin"', (d) => (d.weightsManifest[0].paths = d.weightsManifest[0].paths[0])],
  ['paths: [{}]', (d) => (d.weightsManifest[0].paths = [{}])],
  ['paths: every shard twice', (d) => (d.weightsManifest[0].paths = [...d.weightsManifest[0].paths, ...d.weightsManifest[0].paths])],
  ['paths: a missing shard', (d) => (d.weightsManifest[0].paths = ['missing.bin'])],
  ['paths: the folder itself', (d) => (d.weightsManifest[0].paths = ['.'])],
  ['paths: leaving the folder', (d) => (d.weightsManifest[0].paths = ['../model.onnx'])],
  ['paths: absolute', (d) => (d.weightsManifest[0].paths = ['/etc/hostname'])],
  ['paths deleted', (d) => delete d.weightsManifest[0].paths],
  ['weights: null', (d) => (d.weightsManifest[0].weights = null)],
  ['weights: {}', (d) => (d.weightsManifest[0].weights = {})],
  ['weights: []', (d) => (d.weightsManifest[0].weights = [])],
  ['weights: [null]', (d) => (d.weightsManifest[0].weights = [null])],
  ['weights[0]: null', (d) => (d.weightsManifest[0].weights[0] = null)],
  ['weights[0]: "kernel"', (d) => (d.weightsManifest[0].weights[0] = 'kernel')],
  ['weights deleted', (d) => delete d.weightsManifest[0].weights],
  ['weights[0].name: null', (d) => (d.weightsManifest[0].weights[0].name = null)],
  ['weights[0].shape: null', (d) => (d.weightsManifest[0].weights[0].shape = null)],
  ['weights[0].shape: [null]', (d) => (d.weightsManifest[0].weights[0].shape = [null])],
  ['weights[0].shape: [-1, ...]', (d) => (d.weightsManifest[0].weights[0].shape[0] = -1)],
  ['weights[0].shape: [1e308, ...]', (d) => (d.weightsManifest[0].weights[0].shape[0] = 1e308)],
  ['weights[0].shape: [0, ...]', (d) => (d.weightsManifest[0].weights[0].shape[0] = 0)],
  ['weights[0].dtype: null', (d) => (d.weightsManifest[0].weights[0].dtype = null)],
  ['weights[0].dtype: "float64"', (d) => (d.weightsManifest[0].weights[0].dtype = 'float64')],
  ['weights[0].dtype: "int32"', (d) => (d.weightsManifest[0].weights[0].dtype = 'int32')],
  ['weights[0].quantization: null', (d) => (d.weightsManifest[0].weights[0].quantization = null)],
  ['weights[0].quantization: "uint8"', (d) => (d.weightsManifest[0].weights[0].quantization = 'uint8')],
  ['weights[0].quantization: {}', (d) => (d.weightsManifest[0].weights[0].quantization = {})],
  ['weights[0].quantization: uint8 without min', (d) => (d.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 0.1 })],
  ['weights[0].quantization: {dtype: null}', (d) => (d.weightsManifest[0].weights[0].quantization = { dtype: null })],
  ['weights reversed', (d) => d.weightsManifest[0].weights.reverse()],
  ['weights: the first one twice', (d) => d.weightsManifest[0].weights.unshift(structuredClone(d.weightsManifest[0].weights[0]))],
  ['modelTopology: null', (d) => (d.modelTopology = null)],
  ['modelTopology.config: null', (d) => (d.modelTopology.config = null)],
  ['modelTopology.config.layers: null', (d) => (d.modelTopology.config.layers = null)],
  ['modelTopology.config.layers: [null]', (d) => (d.modelTopology.config.layers = [null])],
  ['modelTopology.config.layers[0].config: null', (d) => (d.modelTopology.config.layers[0].config = null)],
  ['userDefinedMetadata: null', (d) => (d.userDefinedMetadata = null)],
  ['userDefinedMetadata: "x"', (d) => (d.userDefinedMetadata = 'x')],
  ['rnnNode: null', (d) => (d.userDefinedMetadata.rnnNode = null)],
  ['rnnNode: 7', (d) => (d.userDefinedMetadata.rnnNode = 7)],
  ['rnnNode.labels: null', (d) => (d.userDefinedMetadata.rnnNode.labels = null)],
  ['rnnNode.labels: [null, ...]', (d) => (d.userDefinedMetadata.rnnNode.labels = (d.userDefinedMetadata.rnnNode.labels ?? ['a', 'b']).map((l: string, i: number) => (i === 0 ? null : l)))],
  ['rnnNode.labels: "ab"', (d) => (d.userDefinedMetadata.rnnNode.labels = 'ab')],
  ['rnnNode.labels: one too many', (d) => (d.userDefinedMetadata.rnnNode.labels = [...(d.userDefinedMetadata.rnnNode.labels ?? ['a', 'b']), 'extra'])],
  ['rnnNode.config: null', (d) => (d.userDefinedMetadata.rnnNode.config = null)],
  ['rnnNode.config: "x"', (d) => (d.userDefinedMetadata.rnnNode.config = 'x')],
  ['rnnNode.config.layers: null', (d) => (d.userDefinedMetadata.rnnNode.config.layers = null)],
  ['rnnNode.config.input: null', (d) => (d.userDefinedMetadata.rnnNode.config.input = null)],
  ['rnnNode.preprocessing: null', (d) => (d.userDefinedMetadata.rnnNode.preprocessing = null)],
];

interface Exported {
  base: Base;
  /** model.json, parsed. */
  modelJson: Record<string, Json>;
  /** Shard file name -> bytes, as the manifest lists them. */
  shards: Map<string, Buffer>;
  onnx: Buffer;
  caseDir: string;
}

async function exportBase(base: Base): Promise<Exported> {
  const dir = join(root, base.name);
  const model = new SequenceClassifier(base.config);
  try {
    await model.toTfjs(join(dir, 'tfjs'));
    await model.toOnnx(join(dir, 'model.onnx'));
  } finally {
    model.dispose();
  }
  const modelJson = JSON.parse(readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8')) as Record<string, Json>;
  const manifest = modelJson.weightsManifest as { paths: string[] }[];
  const shards = new Map<string, Buffer>();
  for (const p of manifest[0].paths) shards.set(p, readFileSync(join(dir, 'tfjs', p)));
  if (base.splitShard) {
    // Two shards, the first cut inside a weight: the reader joins a group's shards before slicing.
    const whole = Buffer.concat([...shards.values()]);
    const cut = 4 * Math.floor(whole.length / 8) + 2;
    shards.clear();
    shards.set('group1-shard1of2.bin', whole.subarray(0, cut));
    shards.set('group1-shard2of2.bin', whole.subarray(cut));
    manifest[0].paths = [...shards.keys()];
  }
  const caseDir = join(dir, 'case');
  mkdirSync(caseDir, { recursive: true });
  return { base, modelJson, shards, onnx: readFileSync(join(dir, 'model.onnx')), caseDir };
}

/** Writes a tfjs model into the case folder (replacing the last case's files) and loads it. */
function loadTfjs(e: Exported, modelJson: string | Buffer, shards: Map<string, Buffer> = e.shards): Loader {
  for (const f of readdirSync(e.caseDir)) rmSync(join(e.caseDir, f));
  for (const [name, bytes] of shards) writeFileSync(join(e.caseDir, name), bytes);
  writeFileSync(join(e.caseDir, 'model.json'), modelJson);
  const file = join(e.caseDir, 'model.json');
  return { file, load: () => SequenceClassifier.fromTfjs(file) };
}

const onnxCase = join(root, 'case.onnx');
function loadOnnx(bytes: Buffer | Uint8Array): Loader {
  writeFileSync(onnxCase, bytes);
  return { file: onnxCase, load: () => SequenceClassifier.fromOnnx(onnxCase) };
}

/** Where protobuf-level edits of an ONNX model land: mostly the graph's nodes and tensors. */
const ONNX_SUBTREES: JsonPath[] = [['graph', 'node'], ['graph', 'node'], ['graph', 'initializer'], ['graph', 'input'], ['graph', 'output'], []];

/**
 * `count` ONNX files made by editing the decoded ModelProto (as JSON: nodes, attributes,
 * initializers, dims, types) and encoding it again: what byte flips rarely reach, a
 * well-formed protobuf that says something else. Edits protobuf cannot encode are skipped.
 */
function structuralEdits(bytes: Buffer, count: number, rng: SeededRandom): { what: string; bytes: Uint8Array }[] {
  const out: { what: string; bytes: Uint8Array }[] = [];
  for (let attempt = 0; out.length < count && attempt < 4 * count; attempt++) {
    const doc = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, bytes: String }) as Record<string, Json>;
    const edits = rng.next() < 0.25 ? 2 : 1;
    const what = Array.from({ length: edits }, () => editJson(doc, rng, ONNX_SUBTREES)).join('; ');
    try {
      out.push({ what: `protobuf edit: ${what}`, bytes: onnx.ModelProto.encode(onnx.ModelProto.fromObject(doc)).finish() });
    } catch {
      // not representable in the schema (a list where a message goes, ...): no file to test
    }
  }
  return out;
}

/** Runs a group of cases; each failure names its case. */
async function runGroup(cases: Iterable<{ what: string; load: () => Loader }>): Promise<{ failures: string[]; tally: Tally; count: number }> {
  const failures: string[] = [];
  const tally: Tally = {};
  let count = 0;
  for (const c of cases) {
    count++;
    const failure = await runCase(c.load(), tally);
    if (failure) failures.push(`${c.what}: ${failure}`);
  }
  return { failures, tally, count };
}

const seedOf = (name: string) => [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 17);

let total = 0;
const exported = new Map<string, Exported>();

beforeAll(async () => {
  for (const base of BASES) exported.set(base.name, await exportBase(base));
});

describe.each(BASES)('importer fuzz: $name', (base) => {
  const e = () => exported.get(base.name)!;
  const seed = (kind: string) => seedOf(`${base.name}/${kind}`);

  it('the unmutated exports load and predict', async () => {
    const { failures, tally } = await runGroup([
      { what: 'tfjs', load: () => loadTfjs(e(), JSON.stringify(e().modelJson)) },
      { what: 'onnx', load: () => loadOnnx(e().onnx) },
    ]);
    expect(failures).toEqual([]);
    expect(tally).toEqual({ loaded: 2 });
  });

  it('tfjs: hand-picked bad manifests and metadata (weightsManifest [null], paths null, ...)', async () => {
    const { failures, tally, count } = await runGroup(
      MANIFEST_CASES.map(([what, edit]) => ({
        what,
        load: () => {
          const doc = structuredClone(e().modelJson) as Record<string, any>;
          edit(doc);
          return loadTfjs(e(), JSON.stringify(doc));
        },
      })),
    );
    total += count;
    expect(failures).toEqual([]);
    expect(tally.ModelFileError).toBeGreaterThan(20);
  });

  it("bad labels or preprocessing in the file's own metadata are the file's error (ModelFileError naming it), not an option's", async () => {
    for (const [what, edit] of [
      ['labels of the wrong count', (d: Record<string, any>) => (d.userDefinedMetadata.rnnNode.labels = ['only'])],
      ['labels that repeat', (d: Record<string, any>) => (d.userDefinedMetadata.rnnNode.labels = Array.from({ length: d.userDefinedMetadata.rnnNode.config.classes }, () => 'same'))],
      ['labels that are not strings', (d: Record<string, any>) => (d.userDefinedMetadata.rnnNode.labels = Array.from({ length: d.userDefinedMetadata.rnnNode.config.classes }, () => 7))],
      ['preprocessing a string', (d: Record<string, any>) => (d.userDefinedMetadata.rnnNode.preprocessing = 'text')],
      ['preprocessing a list', (d: Record<string, any>) => (d.userDefinedMetadata.rnnNode.preprocessing = [1, 2])],
    ] as const) {
      const doc = structuredClone(e().modelJson) as Record<string, any>;
      edit(doc);
      const { file, load } = loadTfjs(e(), JSON.stringify(doc));
      const error = await load().then(
        (m) => (m.dispose(), null),
        (err: Error) => err,
      );
      expect(error, what).toBeInstanceOf(ModelFileError);
      expect(error!.message, what).toContain(file);
      expect(error!.message, what).not.toMatch(/for options\.labels/);
    }
    // The same labels given as an option are the option's error; good ones given there win.
    const doc = structuredClone(e().modelJson) as Record<string, any>;
    doc.userDefinedMetadata.rnnNode.labels = ['only'];
    const { file } = loadTfjs(e(), JSON.stringify(doc));
    const classes: number = (e().modelJson as any).userDefinedMetadata.rnnNode.config.classes;
    await expect(SequenceClassifier.fromTfjs(file, { labels: ['x'] })).rejects.toThrow(/options\.labels/);
    const named = await SequenceClassifier.fromTfjs(file, { labels: Array.from({ length: classes }, (_, i) => `c${i}`) });
    expect(named.labels).toEqual(Array.from({ length: classes }, (_, i) => `c${i}`));
    named.dispose();
  });

  it(`tfjs: ${COUNTS.jsonEdits} edits of model.json's leaves and branches, ${COUNTS.jsonTruncations} truncations`, async () => {
    const rng = new SeededRandom(seed('json'));
    const text = Buffer.from(JSON.stringify(e().modelJson));
    const cases = function* () {
      for (let i = 0; i < COUNTS.jsonEdits; i++) {
        const doc = structuredClone(e().modelJson);
        const edits = rng.next() < 0.25 ? 2 + Math.floor(rng.next() * 2) : 1;
        // A third of the edits in the manifest, a third in the topology, a third anywhere.
        const what = Array.from({ length: edits }, () => editJson(doc, rng, [['weightsManifest'], ['modelTopology'], []])).join('; ');
        yield { what: `json edit #${i}: ${what}`, load: () => loadTfjs(e(), JSON.stringify(doc)) };
      }
      for (let i = 0; i < COUNTS.jsonTruncations; i++) {
        const cut = truncate(text, rng);
        yield { what: `model.json ${cut.what}`, load: () => loadTfjs(e(), cut.bytes) };
      }
    };
    const { failures, tally, count } = await runGroup(cases());
    total += count;
    expect(failures).toEqual([]);
    // Both outcomes happen: edits of names and unused keys load, the rest is refused.
    expect(tally.loaded).toBeGreaterThan(0);
    expect(count - tally.loaded).toBeGreaterThan(0);
  });

  it(`tfjs: ${COUNTS.shardFlips} byte flips and ${COUNTS.shardTruncations} truncations of the weight shards`, async () => {
    const rng = new SeededRandom(seed('shards'));
    const json = JSON.stringify(e().modelJson);
    const names = [...e().shards.keys()];
    const mutate = (kind: 'flip' | 'cut') => {
      const name = names[Math.floor(rng.next() * names.length)];
      const m = kind === 'flip' ? flipBytes(e().shards.get(name)!, rng) : truncate(e().shards.get(name)!, rng);
      const shards = new Map(e().shards);
      shards.set(name, m.bytes);
      return { what: `shard ${name} ${m.what}`, load: () => loadTfjs(e(), json, shards) };
    };
    const flips = await runGroup(Array.from({ length: COUNTS.shardFlips }, () => mutate('flip')));
    const cuts = await runGroup(Array.from({ length: COUNTS.shardTruncations }, () => mutate('cut')));
    total += flips.count + cuts.count;
    expect([...flips.failures, ...cuts.failures]).toEqual([]);
    expect(flips.tally.loaded).toBeGreaterThan(0); // most flips only change weights
    expect(cuts.tally).toEqual({ ModelFileError: COUNTS.shardTruncations }); // a short shard is always named
  });

  it(`onnx: ${COUNTS.onnxFlips} byte flips, ${COUNTS.onnxTruncations} truncations and ${COUNTS.onnxEdits} protobuf edits of rnn-node's export`, async () => {
    const rng = new SeededRandom(seed('onnx'));
    const cases = [
      ...Array.from({ length: COUNTS.onnxFlips }, () => flipBytes(e().onnx, rng)),
      ...Array.from({ length: COUNTS.onnxTruncations }, () => truncate(e().onnx, rng)),
      ...structuralEdits(e().onnx, COUNTS.onnxEdits, rng),
    ].map((m) => ({ what: `model.onnx ${m.what}`, load: () => loadOnnx(m.bytes) }));
    const { failures, tally, count } = await runGroup(cases);
    total += count;
    expect(failures).toEqual([]);
    expect(tally.loaded).toBeGreaterThan(0);
    expect(tally.ModelFileError).toBeGreaterThan(0);
  });
});

// Another writer's graphs, which onnx-graph.ts reads node by node: the torch.onnx.export
// fixtures of onnx-import.parity.test.ts (including the three it must refuse).
const FIXTURES = join(__dirname, 'fixtures', 'torch-onnx');
const fixtures = (JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as { cases: string[] }).cases;

describe("importer fuzz: another writer's ONNX graphs (torch.onnx.export fixtures)", () => {
  it('an opset version past 2^53 (read for a Softmax without axis) is a ModelFileError naming the file', async () => {
    // Found by this fuzz (RNN_NODE_FUZZ_SCALE=10): the message named only "opset_import".
    const doc = onnx.ModelProto.toObject(onnx.ModelProto.decode(readFileSync(join(FIXTURES, 'gru_out_last_softmax.onnx'))), { longs: String });
    doc.opsetImport = doc.opsetImport.map((o: object) => ({ ...o, version: '9223372036854775807' }));
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.fromObject(doc)).finish();
    const { failures, tally } = await runGroup([{ what: 'opset_import version 2^63-1', load: () => loadOnnx(bytes) }]);
    expect(failures).toEqual([]);
    expect(tally).toEqual({ ModelFileError: 1 });
  });

  it.each(fixtures)(`%s: ${COUNTS.fixtureFlips} byte flips, ${COUNTS.fixtureTruncations} truncations, ${COUNTS.fixtureEdits} protobuf edits`, async (name) => {
    const bytes = readFileSync(join(FIXTURES, `${name}.onnx`));
    const rng = new SeededRandom(seedOf(`fixture/${name}`));
    const cases = [
      { what: 'unmutated', bytes },
      ...Array.from({ length: COUNTS.fixtureFlips }, () => flipBytes(bytes, rng)),
      ...Array.from({ length: COUNTS.fixtureTruncations }, () => truncate(bytes, rng)),
      ...structuralEdits(bytes, COUNTS.fixtureEdits, rng),
    ].map((m) => ({ what: `${name}.onnx ${m.what}`, load: () => loadOnnx(m.bytes) }));
    const { failures, tally, count } = await runGroup(cases);
    total += count - 1;
    expect(failures).toEqual([]);
    if (!name.startsWith('refuse_')) expect(tally.loaded).toBeGreaterThan(0);
  });
});

describe('importer fuzz: coverage', () => {
  it('at least 2000 corrupted files went through the importers', () => {
    expect(total).toBeGreaterThanOrEqual(2000 * Math.min(1, SCALE));
  });
});
