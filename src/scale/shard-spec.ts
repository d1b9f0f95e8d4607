/**
 * Which shard this process is: `--shard K/N` (K 0-based), or `--shard auto`, which reads the
 * index the array-job engine gives each task:
 *   - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based), with --shards N;
 *   - Slurm job arrays: (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP
 *     of SLURM_ARRAY_TASK_COUNT (so `--array=1-8` and `--array=0-14:2` both work);
 *   - AWS Batch array jobs: AWS_BATCH_JOB_ARRAY_INDEX (0-based), with --shards N.
 * Anything else is a usage error, never a silent shard 0.
 */

export interface Shard {
  k: number;
  n: number;
  /** Where K and N came from, for messages. */
  from: string;
}

export class ShardSpecError extends Error {}

const MAX_SHARDS = 99999; // the part names have five digits

function integer(name: string, text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text.trim())) throw new ShardSpecError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

function checked(k: number, n: number, from: string): Shard {
  if (n < 1 || n > MAX_SHARDS) throw new ShardSpecError(`the shard count must be in [1, ${MAX_SHARDS}], got ${n} (${from})`);
  if (k >= n) throw new ShardSpecError(`shard ${k} does not exist among ${n} (0-based; ${from})`);
  return { k, n, from };
}

export function parseShard(spec: string, shards: number | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (spec !== 'auto') {
    const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
    if (!m) throw new ShardSpecError(`--shard expects K/N (0-based K, e.g. 0/4) or auto, got ${JSON.stringify(spec)}`);
    if (shards !== undefined && shards !== Number(m[2])) throw new ShardSpecError(`--shard ${spec} disagrees with --shards ${shards}`);
    return checked(Number(m[1]), Number(m[2]), `--shard ${spec}`);
  }
  const needCount = (engine: string) => {
    if (shards === undefined) throw new ShardSpecError(`--shard auto under ${engine} needs --shards N (the number of tasks)`);
    return shards;
  };
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    return checked(integer('JOB_COMPLETION_INDEX', env.JOB_COMPLETION_INDEX), needCount('a Kubernetes Indexed Job'), 'JOB_COMPLETION_INDEX');
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = integer('SLURM_ARRAY_TASK_ID', env.SLURM_ARRAY_TASK_ID);
    const min = integer('SLURM_ARRAY_TASK_MIN', env.SLURM_ARRAY_TASK_MIN);
    const step = env.SLURM_ARRAY_TASK_STEP === undefined ? 1 : integer('SLURM_ARRAY_TASK_STEP', env.SLURM_ARRAY_TASK_STEP);
    const count = integer('SLURM_ARRAY_TASK_COUNT', env.SLURM_ARRAY_TASK_COUNT);
    if (step < 1 || (id - min) % step !== 0 || id < min) throw new ShardSpecError(`SLURM_ARRAY_TASK_ID ${id} is not MIN ${min} plus a multiple of STEP ${step}`);
    if (shards !== undefined && shards !== count) throw new ShardSpecError(`--shards ${shards} disagrees with SLURM_ARRAY_TASK_COUNT ${count}`);
    return checked((id - min) / step, count, 'SLURM_ARRAY_TASK_ID');
  }
  if (env.AWS_BATCH_JOB_ARRAY_INDEX !== undefined) {
    return checked(integer('AWS_BATCH_JOB_ARRAY_INDEX', env.AWS_BATCH_JOB_ARRAY_INDEX), needCount('an AWS Batch array job'), 'AWS_BATCH_JOB_ARRAY_INDEX');
  }
  throw new ShardSpecError('--shard auto found no array-job index (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX): give --shard K/N');
}
