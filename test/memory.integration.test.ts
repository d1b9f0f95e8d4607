/**
 * Training holds what it needs and little else: peak resident memory above the baseline
 * is within 1.5x of parameters + gradients + optimizer state + saved activations + batch
 * buffers.
 *
 * No memory growth across epochs: workspaces are sized once and reused, so once warmed up
 * (allocator arenas of the worker threads included) resident memory stays flat while a
 * model trains and predicts for another 100 epochs. (The first epochs grow the C
 * library's per-thread allocator arenas; that settles by epoch ~150 here.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('memory', () => {
  it('peak RSS while training stays within 1.5x of what training must hold', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(__dirname, 'support', 'training-footprint.cjs')], { encoding: 'utf8', timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    console.log(
      `training footprint: ${m.peakAboveBaselineMB.toFixed(1)} MB above a ${m.baselineMB.toFixed(1)} MB baseline; ` +
        `parameters, gradients, Adam moments, saved activations and batch buffers: ${m.expectedMB.toFixed(1)} MB ` +
        `(ratio ${(m.peakAboveBaselineMB / m.expectedMB).toFixed(2)})`,
    );
    expect(m.peakAboveBaselineMB).toBeLessThan(1.5 * m.expectedMB);
  });

  it('RSS stays flat from epoch 150 to epoch 250', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(__dirname, 'support', 'memory-soak.cjs')], { encoding: 'utf8', timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    const rss = JSON.parse(r.stdout);
    console.log(`RSS after 150 epochs ${rss[150].toFixed(1)} MB, after 250 epochs ${rss[250].toFixed(1)} MB`);
    // RSS moves by a few MB either way from allocator bookkeeping; a leak of 12 KB per native
    // call (900 training steps and predictions in these 100 epochs) would exceed this.
    expect(rss[250] - rss[150]).toBeLessThan(10);
  });
});
