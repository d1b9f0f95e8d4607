/**
 * Merging part files into one output in the original record order, after checking that every
 * part of 0..N-1 is there with its sidecar and that each part's lines match the sidecar's
 * record count and SHA-256 (a part cut short or changed since is refused).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { fileSink } from '../cli/sinks';
import { listParts, readPart } from './parts';

export class MissingPartsError extends Error {}

export interface MergeResult {
  parts: number;
  records: number;
}

/** What is missing or inconsistent in a part directory, in one line; null when complete. */
export async function partProblems(dir: string, expected?: number): Promise<{ problem: string | null; of: number }> {
  const listing = await listParts(dir);
  const of = expected ?? listing.of;
  if (of === 0) return { problem: `${dir} holds no part files (part-KKKKK-of-NNNNN.jsonl)`, of };
  const missing: number[] = [];
  const unfinished: number[] = [];
  const orphans: number[] = [];
  const bad: string[] = [];
  for (let k = 0; k < of; k++) {
    const entry = listing.parts.get(k);
    if (!entry || (!entry.file && !entry.sidecar)) missing.push(k);
    else if (!entry.file) orphans.push(k);
    else if (entry.sidecarError) bad.push(entry.sidecarError);
    else if (!entry.sidecar) unfinished.push(k);
  }
  const list = (ks: number[]) => (ks.length > 12 ? `${ks.slice(0, 12).join(', ')} and ${ks.length - 12} more` : ks.join(', '));
  const problems = [
    missing.length ? `missing part${missing.length > 1 ? 's' : ''} ${list(missing)} of ${of}` : '',
    unfinished.length ? `no .done.json (unfinished) for part${unfinished.length > 1 ? 's' : ''} ${list(unfinished)}` : '',
    orphans.length ? `a .done.json without its part file for ${list(orphans)}` : '',
    bad.length ? `unreadable sidecars: ${bad.slice(0, 3).join('; ')}` : '',
    listing.strays.length ? `files of another part count: ${listing.strays.slice(0, 3).join(', ')}` : '',
  ].filter(Boolean);
  return { problem: problems.length ? problems.join('; ') : null, of };
}

/** Writes `output` (atomically; gzip'd when it ends in .gz) from the parts of `dir`, in order. */
export async function mergeParts(dir: string, output: string, expected?: number): Promise<MergeResult> {
  const { problem, of } = await partProblems(dir, expected);
  if (problem) throw new MissingPartsError(`${dir}: ${problem}`);
  const listing = await listParts(dir);
  const sink = await fileSink(output);
  let records = 0;
  try {
    for (let k = 0; k < of; k++) {
      const { file, sidecar } = listing.parts.get(k)!;
      const hash = createHash('sha256');
      let lines = 0;
      for await (const chunk of readPart(join(dir, file!))) {
        const buffer = chunk as Buffer;
        hash.update(buffer);
        for (let at = buffer.indexOf(0x0a); at >= 0; at = buffer.indexOf(0x0a, at + 1)) lines++;
        await sink.write(buffer);
      }
      const sha = hash.digest('hex');
      if (lines !== sidecar!.records || sha !== sidecar!.sha256)
        throw new MissingPartsError(`${join(dir, file!)}: ${lines} records, SHA-256 ${sha.slice(0, 12)}…; its .done.json says ${sidecar!.records} records, ${sidecar!.sha256.slice(0, 12)}… (cut short or changed since)`);
      records += lines;
    }
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return { parts: of, records };
}
