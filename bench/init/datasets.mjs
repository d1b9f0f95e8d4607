// The four tasks the initialiser study (bench/init.mjs) trains on, built deterministically
// from data on a Debian machine so rnn-node and PyTorch see the same examples in the same
// order. Each task is plain JSON: token ids (0 = padding, 1 = unknown) or dense steps.
//
//   words      one word -> its language (9 Debian word lists), char ids      text
//   fortunes   one fortune (<= 120 chars) -> its language (6 fortune packages) text
//   fmnist     Fashion-MNIST image rows: 28 steps x 28 pixels / 255           images
//   waves      a noisy periodic signal (60 steps) -> its waveform (5 shapes)  time series
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Debian word lists, one per language (packages in scripts/setup.sh). */
export const WORD_LISTS = {
  en: 'american-english', fr: 'french', de: 'ngerman', es: 'spanish', it: 'italian',
  pt: 'portuguese', nl: 'dutch', pl: 'polish', sv: 'swedish',
};

/** Debian fortune packages, one per language. */
export const FORTUNE_PACKAGES = { en: 'fortunes', de: 'fortunes-de', es: 'fortunes-es', it: 'fortunes-it', pl: 'fortunes-pl', pt: 'fortunes-br' };

/** mulberry32: small, seedable, the same in every run. */
export function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(items, random) {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Entries of one fortune package (from its own file list; no symlinks, .u8 or .dat files). */
export function fortuneEntries(pkg, maxChars = 200) {
  const files = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.startsWith('/usr/share/games/fortunes/') && !/\.(u8|dat)$/.test(f));
  const out = [];
  for (const f of files) {
    const st = lstatSync(f, { throwIfNoEntry: false });
    if (!st || !st.isFile()) continue; // directories and symlinks
    for (const entry of readFileSync(f, 'utf8').split(/^%$/m)) {
      const text = entry.replace(/\s+/g, ' ').trim().slice(0, maxChars);
      if (text) out.push(text);
    }
  }
  return out;
}

/**
 * Texts per class -> a balanced, seeded train/test split of char-id sequences. Texts found
 * under two classes are dropped; the char vocabulary comes from the training texts only,
 * most frequent first (ids from 2), unseen chars become 1.
 */
function textTask(name, byClass, { perClass, testPerClass, seed }) {
  const owner = new Map();
  for (const [label, texts] of Object.entries(byClass)) for (const t of new Set(texts)) owner.set(t, owner.has(t) && owner.get(t) !== label ? null : label);
  const random = prng(seed);
  const classes = Object.keys(byClass);
  const train = [];
  const test = [];
  classes.forEach((label, k) => {
    const unique = [...new Set(byClass[label])].filter((t) => owner.get(t) === label);
    const chosen = shuffled(unique, random).slice(0, perClass + testPerClass);
    if (chosen.length < perClass + testPerClass) throw new Error(`${name}: only ${chosen.length} texts for ${label}`);
    chosen.forEach((t, i) => (i < perClass ? train : test).push([t, k]));
  });
  const counts = new Map();
  for (const [t] of train) for (const ch of t) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const ids = new Map([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([ch], i) => [ch, i + 2]));
  const encode = (rows) => {
    const order = shuffled(rows, random);
    return { x: order.map(([t]) => Array.from(t, (ch) => ids.get(ch) ?? 1)), y: order.map(([, k]) => k) };
  };
  return { name, kind: 'tokens', vocabSize: ids.size + 2, classes, train: encode(train), test: encode(test) };
}

/**
 * Words from each list: a seeded sample of at most `pool` lines first (the Polish list has
 * 4.3M inflected forms), so a word counts as ambiguous when it is in two languages' samples.
 */
export function wordsTask({ perClass = 4000, testPerClass = 1000, seed = 1, pool = 60000 } = {}) {
  const byClass = {};
  const random = prng(seed + 1000);
  for (const [lang, file] of Object.entries(WORD_LISTS)) {
    const path = join('/usr/share/dict', file);
    if (!existsSync(path)) throw new Error(`${path} is missing: install the word list package that provides it (scripts/setup.sh)`);
    const lines = readFileSync(path, 'utf8').split('\n');
    const sample = lines.length <= pool ? lines : Array.from({ length: pool }, () => lines[Math.floor(random() * lines.length)]);
    byClass[lang] = sample.map((w) => w.trim().toLowerCase()).filter((w) => /^\p{L}{3,20}$/u.test(w));
  }
  return textTask('words', byClass, { perClass, testPerClass, seed });
}

export function fortunesTask({ perClass = 1200, testPerClass = 300, maxChars = 120, seed = 1 } = {}) {
  const byClass = {};
  for (const [lang, pkg] of Object.entries(FORTUNE_PACKAGES)) byClass[lang] = fortuneEntries(pkg, maxChars);
  return textTask('fortunes', byClass, { perClass, testPerClass, seed });
}

export function fmnistTask({ train = 12000, test = 2000 } = {}) {
  const require = createRequire(import.meta.url);
  const { readIdxDataset } = require(join(root, 'dist', 'index.js'));
  const dir = '/usr/share/datasets/fashion-mnist';
  const part = (prefix, limit) => {
    const d = readIdxDataset(dir, prefix, limit);
    const [n, steps, features] = d.x.shape;
    const x = [];
    for (let i = 0; i < n; i++) {
      const rows = [];
      for (let t = 0; t < steps; t++) rows.push(Array.from(d.x.values.subarray((i * steps + t) * features, (i * steps + t + 1) * features), (v) => Math.round(v * 1e4) / 1e4));
      x.push(rows);
    }
    return { x, y: Array.from(d.y) };
  };
  return { name: 'fmnist', kind: 'dense', features: 28, classes: ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'], train: part('train', train), test: part('t10k', test) };
}

/** Five waveforms with random frequency, phase, amplitude and offset, plus Gaussian noise. */
export function wavesTask({ train = 8000, test = 2000, steps = 60, noise = 0.6, seed = 3 } = {}) {
  const random = prng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const shapes = {
    sine: (p) => Math.sin(2 * Math.PI * p),
    square: (p) => (p % 1 < 0.5 ? 1 : -1),
    triangle: (p) => 4 * Math.abs((p % 1) - 0.5) - 1,
    sawtooth: (p) => 2 * (p % 1) - 1,
    pulse: (p) => (p % 1 < 0.15 ? 1 : -0.3),
  };
  const classes = Object.keys(shapes);
  const make = (n) => {
    const x = [];
    const y = [];
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * classes.length);
      const cycles = 2 + 4 * random();
      const phase = random();
      const amplitude = 0.5 + random();
      const offset = random() - 0.5;
      const f = shapes[classes[k]];
      x.push(Array.from({ length: steps }, (_, t) => [Math.round((offset + amplitude * f(phase + (cycles * t) / steps) + noise * gaussian()) * 1e4) / 1e4]));
      y.push(k);
    }
    return { x, y };
  };
  return { name: 'waves', kind: 'dense', features: 1, classes, train: make(train), test: make(test) };
}

export const TASKS = { words: wordsTask, fortunes: fortunesTask, fmnist: fmnistTask, waves: wavesTask };
