/**
 * `rnn-node convert` and imported models on the command line: a tfjs text model without its
 * vocabulary takes `{"ids": [...]}` records; with `--vocabulary` (one token per line) it
 * reads raw text and predicts the same; `--labels` names the classes; the imported model
 * evaluates, fine-tunes (`train --resume`) and converts back. Errors: one line, exit 2 for
 * usage, 1 for a bad file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SequenceClassifier } from '../src/index';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

const VOCAB = ['<pad>', '<unk>', 'a', 'b', 'c', 'd', 'e'];

beforeAll(async () => {
  // A tfjs model.json of a token model, with no labels and no preprocessing in it.
  const model = new SequenceClassifier({ input: { type: 'tokens', vocabSize: VOCAB.length, embeddingDim: 4 }, layers: [{ cell: 'gru', units: 6, resetAfter: false }], classes: 3, seed: 2 });
  await model.toTfjs(join(dir, 'tfjs'));
  model.dispose();
  writeFileSync(join(dir, 'vocab.txt'), VOCAB.join('\n') + '\n');
  writeFileSync(join(dir, 'labels.txt'), 'red\ngreen\nblue\n');
  const texts = ['abc', 'cab', 'eed', 'a', 'dddd', 'bead'];
  writeFileSync(join(dir, 'text.jsonl'), texts.map((t, i) => JSON.stringify({ text: t, label: ['red', 'green', 'blue'][i % 3] })).join('\n') + '\n');
  writeFileSync(join(dir, 'ids.jsonl'), texts.map((t, i) => JSON.stringify({ ids: [...t].map((ch) => VOCAB.indexOf(ch)), label: ['red', 'green', 'blue'][i % 3] })).join('\n') + '\n');
});

describe('rnn-node convert', () => {
  it('imports a tfjs text model without its vocabulary: it reads {"ids": [...]} records, with the labels given', () => {
    const r = run(['convert', '--input', 'tfjs/model.json', '--output', 'ids.rnn', '--labels', 'labels.txt']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tfjs\/model\.json → ids\.rnn \(gru\(6\), 3 classes\)/);
    expect(run(['info', 'ids.rnn']).stdout).toMatch(/token ids below 7/);
    const p = run(['predict', '--model', 'ids.rnn', '--data', 'ids.jsonl']);
    expect(p.code, p.stderr).toBe(0);
    const out = lines(p.stdout);
    expect(out).toHaveLength(6);
    expect(Object.keys(out[0].probabilities)).toEqual(['red', 'green', 'blue']);
    writeFileSync(join(dir, 'bad-ids.jsonl'), '{"ids": [2, 3]}\n{"ids": [2, 99]}\n');
    const bad = run(['predict', '--model', 'ids.rnn', '--data', 'bad-ids.jsonl']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad-ids\.jsonl:2: ids\[1\] is 99, outside the vocabulary \[0, 7\)/);
    writeFileSync(join(dir, 'bad-ids.jsonl'), '{"ids": [2, 3]}\n{"ids": [2, 99]}\n{"ids": [1.5]}\n');
    const skipped = run(['predict', '--model', 'ids.rnn', '--data', 'bad-ids.jsonl', '--on-error', 'skip']);
    expect(skipped.code).toBe(0);
    expect(lines(skipped.stdout)).toHaveLength(1);
    expect(skipped.stderr).toMatch(/bad-ids\.jsonl:3: ids\[0\] must be a non-negative integer/);
  });

  it('with --vocabulary it reads raw text, predicting what the ids give', () => {
    const r = run(['convert', '--input', 'tfjs/model.json', '--output', 'text.rnn', '--labels', 'red,green,blue', '--vocabulary', 'vocab.txt', '--tokenize', 'char']);
    expect(r.code, r.stderr).toBe(0);
    const fromText = lines(run(['predict', '--model', 'text.rnn', '--data', 'text.jsonl']).stdout).map((o) => o.probabilities);
    const fromIds = lines(run(['predict', '--model', 'ids.rnn', '--data', 'ids.jsonl']).stdout).map((o) => o.probabilities);
    expect(fromText).toEqual(fromIds);
  });

  it('--labels reads a file whatever its name; two .json exports in one folder keep their own shards', () => {
    writeFileSync(join(dir, 'classes'), 'x\ny\nz\n');
    const r = run(['convert', '--input', 'tfjs/model.json', '--output', 'named.rnn', '--labels', 'classes']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(lines(run(['predict', '--model', 'named.rnn', '--data', 'ids.jsonl']).stdout)[0].probabilities)).toEqual(['x', 'y', 'z']);
    const missing = run(['convert', '--input', 'tfjs/model.json', '--output', 'n2.rnn', '--labels', 'no-such-file']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/cannot read the labels file no-such-file \(ENOENT\)/);
    // Two models, one folder: each json reads its own weights back.
    expect(run(['convert', '--input', 'ids.rnn', '--output', 'both/a.json']).code).toBe(0);
    expect(run(['convert', '--input', 'named.rnn', '--output', 'both/b.json']).code).toBe(0);
    expect(run(['train', '--resume', 'ids.rnn', '--data', 'ids.jsonl', '--epochs', '1', '--out', 'moved.rnn']).code).toBe(0);
    expect(run(['convert', '--input', 'moved.rnn', '--output', 'both/model.json']).code).toBe(0);
    expect(existsSync(join(dir, 'both', 'group1-shard1of1.bin'))).toBe(true); // tfjs's own name beside model.json
    for (const [json, source] of [['a.json', 'ids.rnn'], ['b.json', 'named.rnn'], ['model.json', 'moved.rnn']]) {
      const back = run(['convert', '--input', `both/${json}`, '--output', `back-${json}.rnn`]);
      expect(back.code, back.stderr).toBe(0);
      expect(run(['predict', '--model', `back-${json}.rnn`, '--data', 'ids.jsonl']).stdout, json).toBe(run(['predict', '--model', source, '--data', 'ids.jsonl']).stdout);
    }
  });

  it('an imported model evaluates, fine-tunes from the command line and converts back', () => {
    const e = run(['evaluate', '--model', 'ids.rnn', '--data', 'ids.jsonl', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).count).toBe(6);
    const t = run(['train', '--resume', 'ids.rnn', '--data', 'ids.jsonl', '--epochs', '2', '--out', 'tuned.rnn', '--json']);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout).epochsTrained).toBe(2);
    const back = run(['convert', '--input', 'tuned.rnn', '--output', 'tuned/model.json']);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'tuned', 'model.json'), 'utf8')).userDefinedMetadata.rnnNode.labels).toEqual(['red', 'green', 'blue']);
  });

  it('ONNX in: its own export comes back the same; a PyTorch export takes labels and a vocabulary, then reads text', () => {
    expect(run(['convert', '--input', 'ids.rnn', '--output', 'ids.onnx']).code).toBe(0);
    const back = run(['convert', '--input', 'ids.onnx', '--output', 'ids-back.rnn']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(/ids\.onnx → ids-back\.rnn \(gru\(6\), 3 classes\)/);
    expect(run(['predict', '--model', 'ids-back.rnn', '--data', 'ids.jsonl']).stdout).toBe(run(['predict', '--model', 'ids.rnn', '--data', 'ids.jsonl']).stdout);
    // A PyTorch Embedding + LSTM (30 ids): the vocabulary file gives each id its character.
    const torch = join(__dirname, 'fixtures', 'torch-onnx', 'embedding_lstm_out_last.onnx');
    writeFileSync(join(dir, 'torch-vocab.txt'), ['<pad>', ...'abcdefghijklmnopqrstuvwxyz ,.'].join('\n') + '\n');
    const t = run(['convert', '--input', torch, '--output', 'torch.rnn', '--labels', 'x,y,z', '--vocabulary', 'torch-vocab.txt']);
    expect(t.code, t.stderr).toBe(0);
    writeFileSync(join(dir, 'torch-text.jsonl'), '{"text": "hello world."}\n');
    writeFileSync(join(dir, 'torch-ids.jsonl'), '{"ids": [8, 5, 12, 12, 15, 27, 23, 15, 18, 12, 4, 29]}\n');
    const ids = run(['convert', '--input', torch, '--output', 'torch-ids.rnn', '--labels', 'x,y,z']);
    expect(ids.code, ids.stderr).toBe(0);
    const fromText = lines(run(['predict', '--model', 'torch.rnn', '--data', 'torch-text.jsonl']).stdout);
    const fromIds = lines(run(['predict', '--model', 'torch-ids.rnn', '--data', 'torch-ids.jsonl']).stdout);
    expect(Object.keys(fromText[0].probabilities)).toEqual(['x', 'y', 'z']);
    expect(fromText.map((o) => o.probabilities)).toEqual(fromIds.map((o) => o.probabilities));
    const refused = run(['convert', '--input', join(__dirname, 'fixtures', 'torch-onnx', 'refuse_packed_sequence.onnx'), '--output', 'p.rnn']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/TopK.*packed sequences/);
  });

  it('quantize: bad values are one line, exit 2 (usage) or 1 (a bad file), and leave no output behind', () => {
    for (const args of [
      ['--model', 'ids.rnn', '--output', 'q.rnn', '--type', 'int4'],
      ['--model', 'ids.rnn', '--output', 'q.txt'],
      ['--model', 'ids.rnn'],
    ]) {
      const r = run(['quantize', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    writeFileSync(join(dir, 'corrupt.rnn'), Buffer.concat([readFileSync(join(dir, 'ids.rnn')).subarray(0, 200), Buffer.from('cut short')]));
    for (const model of ['missing.rnn', 'corrupt.rnn']) {
      const r = run(['quantize', '--model', model, '--output', 'q.rnn']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(join(dir, 'q.rnn'))).toBe(false);
    const ok = run(['quantize', '--model', 'ids.rnn', '--output', 'q.rnn', '--type', 'bf16']);
    expect(ok.code, ok.stderr).toBe(0);
    const again = run(['quantize', '--model', 'q.rnn', '--output', 'q2.rnn']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already bf16/);
    expect(existsSync(join(dir, 'q2.rnn'))).toBe(false);
  });

  it('errors: one line; exit 2 for usage, 1 for a bad file', () => {
    const onnxOut = run(['convert', '--input', 'ids.rnn', '--output', 'ids.onnx']);
    expect(onnxOut.code, onnxOut.stderr).toBe(0);
    expect(readFileSync(join(dir, 'ids.onnx')).length).toBeGreaterThan(100);
    for (const args of [
      ['--input', 'tfjs/model.json', '--output', 'x.txt'],
      ['--input', 'ids.rnn', '--output', 'y.rnn', '--labels', 'a,b,c'],
    ]) {
      const r = run(['convert', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    writeFileSync(join(dir, 'broken.json'), '{"modelTopology": {"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv1D", "config": {"name": "c"}}]}}}');
    const unsupported = run(['convert', '--input', 'broken.json', '--output', 'z.rnn']);
    expect(unsupported.code).toBe(1);
    expect(unsupported.stderr).toMatch(/^rnn-node convert: layer "c" \(Conv1D\): this layer is not supported/);
    writeFileSync(join(dir, 'garbage.onnx'), 'not protobuf at all'.repeat(9));
    const garbage = run(['convert', '--input', 'garbage.onnx', '--output', 'g.rnn']);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr.trim().split('\n')).toHaveLength(1);
    expect(garbage.stderr).toMatch(/garbage\.onnx: not an ONNX model/);
    const labels = run(['convert', '--input', 'tfjs/model.json', '--output', 'z.rnn', '--labels', 'a,b']);
    expect(labels.code).toBe(1);
    expect(labels.stderr).toMatch(/Expected 3 labels/);
  });

  it('converts between tfjs, ONNX and .rnn without the native addon (RNN_NODE_BINARY names a missing file)', () => {
    const env = { ...process.env, RNN_NODE_BINARY: join(dir, 'no-such-binary.node') };
    const noAddon = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });
    // The addon is really out of reach: a command that computes fails for that reason.
    const predict = noAddon(['predict', '--model', 'ids.rnn', '--data', 'ids.jsonl']);
    expect(predict.status).toBe(1);
    expect(predict.stderr).toMatch(/RNN_NODE_BINARY=.*does not exist/);
    for (const [from, to] of [['tfjs/model.json', 'na.onnx'], ['na.onnx', 'na/model.json'], ['ids.rnn', 'na-ids.onnx'], ['na-ids.onnx', 'na.rnn'], ['na.rnn', 'na-copy.rnn']]) {
      const r = noAddon(['convert', '--input', from, '--output', to]);
      expect(r.status, `${from} -> ${to}: ${r.stderr}`).toBe(0);
    }
    // What they wrote predicts what its source does (run with the addon).
    const source = run(['predict', '--model', 'ids.rnn', '--data', 'ids.jsonl']).stdout;
    expect(source).not.toBe('');
    expect(run(['predict', '--model', 'na-copy.rnn', '--data', 'ids.jsonl']).stdout).toBe(source);
  });

  it('.rnn to .rnn keeps the training state byte for byte; an int8 model is refused as tfjs, as ONNX', () => {
    const trained = run(['train', '--resume', 'ids.rnn', '--data', 'ids.jsonl', '--epochs', '2', '--out', 'trained.rnn']);
    expect(trained.code, trained.stderr).toBe(0);
    const copy = run(['convert', '--input', 'trained.rnn', '--output', 'trained-copy.rnn']);
    expect(copy.code, copy.stderr).toBe(0);
    // The same file: config, weights, optimizer moments, epochs, shuffling state, callbacks.
    expect(readFileSync(join(dir, 'trained-copy.rnn')).equals(readFileSync(join(dir, 'trained.rnn')))).toBe(true);
    const quantized = run(['quantize', '--model', 'ids.rnn', '--output', 'ids-int8.rnn']);
    expect(quantized.code, quantized.stderr).toBe(0);
    for (const output of ['int8/model.json', 'int8.onnx']) {
      const r = run(['convert', '--input', 'ids-int8.rnn', '--output', output]);
      expect(r.code, output).toBe(1);
      expect(r.stderr.trim().split('\n'), output).toHaveLength(1);
      expect(r.stderr, output).toMatch(/Cannot export this int8 model to (tfjs|ONNX)/);
    }
    expect(existsSync(join(dir, 'int8', 'model.json'))).toBe(false);
  });
});
