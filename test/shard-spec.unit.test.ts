/** `--shard auto`: the index each array-job engine gives its tasks, and the refusals. */
import { describe, expect, it } from 'vitest';

import { parseShard, ShardSpecError } from '../src/scale/shard-spec';

describe('--shard K/N', () => {
  it('takes K/N (0-based) and checks it', () => {
    expect(parseShard('2/7', undefined, {})).toEqual({ k: 2, n: 7, from: '--shard 2/7' });
    expect(parseShard('0/1', 1, {})).toMatchObject({ k: 0, n: 1 });
    for (const bad of ['7/7', '1/0', '-1/3', '1/3/4', 'a/b', '', '1', '0/100000']) expect(() => parseShard(bad, undefined, {}), bad).toThrow(ShardSpecError);
    expect(() => parseShard('1/3', 4, {})).toThrow(/disagrees with --shards 4/);
  });
});

describe('--shard auto', () => {
  it('Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with --shards N', () => {
    expect(parseShard('auto', 5, { JOB_COMPLETION_INDEX: '3' })).toEqual({ k: 3, n: 5, from: 'JOB_COMPLETION_INDEX' });
    expect(() => parseShard('auto', undefined, { JOB_COMPLETION_INDEX: '3' })).toThrow(/needs --shards N/);
    expect(() => parseShard('auto', 3, { JOB_COMPLETION_INDEX: '3' })).toThrow(/shard 3 does not exist among 3/);
    expect(() => parseShard('auto', 3, { JOB_COMPLETION_INDEX: 'x' })).toThrow(/JOB_COMPLETION_INDEX must be a non-negative integer/);
  });

  it('Slurm job arrays: (ID - MIN) / STEP of COUNT, so 1-based and stepped arrays work', () => {
    // sbatch --array=1-8
    expect(parseShard('auto', undefined, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ k: 0, n: 8 });
    expect(parseShard('auto', undefined, { SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ k: 7, n: 8 });
    // sbatch --array=0-14:2 (8 tasks: 0, 2, ..., 14)
    expect(parseShard('auto', undefined, { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ k: 3, n: 8 });
    expect(() => parseShard('auto', undefined, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '8' })).toThrow(/not MIN 0 plus a multiple of STEP 2/);
    expect(() => parseShard('auto', undefined, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0' })).toThrow(/SLURM_ARRAY_TASK_COUNT must be/);
    expect(() => parseShard('auto', 4, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '8' })).toThrow(/--shards 4 disagrees with SLURM_ARRAY_TASK_COUNT 8/);
  });

  it('AWS Batch array jobs: AWS_BATCH_JOB_ARRAY_INDEX, with --shards N', () => {
    expect(parseShard('auto', 10, { AWS_BATCH_JOB_ARRAY_INDEX: '9' })).toMatchObject({ k: 9, n: 10, from: 'AWS_BATCH_JOB_ARRAY_INDEX' });
    expect(() => parseShard('auto', undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '0' })).toThrow(/AWS Batch array job needs --shards N/);
  });

  it('an unknown environment is an error, never shard 0', () => {
    expect(() => parseShard('auto', 4, { HOME: '/root' })).toThrow(/found no array-job index/);
  });
});
