/**
 * Merging part files into one output in the original record order, after checking that every
 * part of 0..N-1 is there with its sidecar and that each part's lines match the sidecar's
 * record count and SHA-256 (a part cut short or changed since is refused).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { fileSink, stdoutSink } from '../inference/sinks';
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

/**
 * Writes `output` (atomically; gzip'd when it ends in .gz; '-' is stdout) from the parts of
 * `dir`, in order. For stdout, which cannot be taken back, every part is checked first.
 */
export async function mergeParts(dir: string, output: string, expected?: number): Promise<MergeResult> {
  const { problem, of } = await partProblems(dir, expected);
  if (problem) throw new MissingPartsError(`${dir}: ${problem}`);
  const listing = await listParts(dir);
  // Parts of one job: the same model and inputs (a rerun with another model or data that
  // failed part-way would otherwise be merged with the old run's parts).
  const first = listing.parts.get(0)!.sidecar!;
  for (let k = 1; k < of; k++) {
    const s = listing.parts.get(k)!.sidecar!;
    if (s.model !== first.model) throw new MissingPartsError(`${dir}: part ${k} was made with another model than part 0 (SHA-256 ${String(s.model).slice(0, 12)}… vs ${String(first.model).slice(0, 12)}…); rerun the shards of one job`);
    if (JSON.stringify(s.inputs) !== JSON.stringify(first.inputs)) throw new MissingPartsError(`${dir}: part ${k} was made from other inputs than part 0; rerun the shards of one job`);
  }
  for (let k = 0; k < of; k++) {
    const { file, sidecar } = listing.parts.get(k)!;
    if (sidecar!.part !== file) throw new MissingPartsError(`${join(dir, file!)}: its .done.json describes ${JSON.stringify(sidecar!.part)}`);
  }
  const copy = async (write: ((buffer: Buffer) => Promise<void>) | null): Promise<number> => {
    let records = 0;
    for (let k = 0; k < of; k++) {
      const { file, sidecar } = listing.parts.get(k)!;
      const hash = createHash('sha256');
      let lines = 0;
      for await (const chunk of readPart(join(dir, file!))) {
        const buffer = chunk as Buffer;
        hash.update(buffer);
        for (let at = buffer.indexOf(0x0a); at >= 0; at = buffer.indexOf(0x0a, at + 1)) lines++;
        if (write) await write(buffer);
      }
      const sha = hash.digest('hex');
      if (lines !== sidecar!.records || sha !== sidecar!.sha256)
        throw new MissingPartsError(`${join(dir, file!)}: ${lines} records, SHA-256 ${sha.slice(0, 12)}…; its .done.json says ${sidecar!.records} records, ${sidecar!.sha256.slice(0, 12)}… (cut short or changed since)`);
      records += lines;
    }
    return records;
  };
  if (output === '-') {
    await copy(null);
    const sink = stdoutSink();
    return { parts: of, records: await copy((buffer) => sink.write(buffer)) };
  }
  const sink = await fileSink(output);
  let records: number;
  try {
    records = await copy((buffer) => sink.write(buffer));
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return { parts: of, records };
}
