/**
 * Builds a language-identification data set from Debian's fortune packages at test time
 * (the texts are not committed): each language's files come from its own package's file
 * list (`dpkg -L`), skipping symlinks, `.u8` and `.dat` files; one record per entry
 * (whitespace collapsed, at most 200 characters), deduplicated, then a seeded, stratified
 * split with at most 2,000 records per language.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/util/random';

export const LANGUAGE_PACKAGES: Record<string, string> = {
  en: 'fortunes',
  de: 'fortunes-de',
  es: 'fortunes-es',
  it: 'fortunes-it',
  pl: 'fortunes-pl',
  pt: 'fortunes-br',
};

export function missingPackages(): string[] {
  return Object.values(LANGUAGE_PACKAGES).filter((p) => {
    try {
      execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { stdio: ['ignore', 'pipe', 'ignore'] });
      return false;
    } catch {
      return true;
    }
  });
}

function entriesOf(pkg: string): string[] {
  const files = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.startsWith('/usr/share/games/fortunes/') && !/\.(u8|dat)$/.test(f));
  const out: string[] = [];
  for (const f of files) {
    const st = lstatSync(f, { throwIfNoEntry: false });
    if (!st || !st.isFile()) continue; // directories and symlinks
    for (const entry of readFileSync(f, 'utf8').split(/^%$/m)) {
      const text = entry.replace(/\s+/g, ' ').trim().slice(0, 200);
      if (text) out.push(text);
    }
  }
  return out;
}

/** Writes train.jsonl and test.jsonl into `dir`; returns their record counts. */
export function buildLanguageData(dir: string, seed = 7, perLanguage = 2000, testFraction = 0.2) {
  const byLanguage = new Map<string, string[]>();
  const seen = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const [lang, pkg] of Object.entries(LANGUAGE_PACKAGES)) {
    const unique = [...new Set(entriesOf(pkg))];
    for (const t of unique) {
      if (seen.has(t) && seen.get(t) !== lang) ambiguous.add(t);
      seen.set(t, lang);
    }
    byLanguage.set(lang, unique);
  }
  const rng = new SeededRandom(seed);
  const train: string[] = [];
  const test: string[] = [];
  for (const [lang, texts] of byLanguage) {
    const kept = texts.filter((t) => !ambiguous.has(t));
    const order = rng.permutation(kept.length);
    const chosen = Array.from(order.subarray(0, Math.min(perLanguage, kept.length)), (i) => kept[i]);
    const cut = Math.round(chosen.length * testFraction);
    chosen.forEach((text, i) => (i < cut ? test : train).push(JSON.stringify({ text, label: lang })));
  }
  const shuffle = (lines: string[]) => Array.from(rng.permutation(lines.length), (i) => lines[i]);
  writeFileSync(join(dir, 'train.jsonl'), shuffle(train).join('\n') + '\n');
  writeFileSync(join(dir, 'test.jsonl'), shuffle(test).join('\n') + '\n');
  return { train: train.length, test: test.length, languages: byLanguage.size };
}
