/** Seeded pseudo-random numbers for shuffling and per-step seeds (mulberry32). */
export class SeededRandom {
  private state_: number;

  constructor(seed: number) {
    // Fold the (up to 53-bit) seed into 32 bits.
    this.state_ = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
  }

  /** The generator's whole state (for checkpoints). */
  get state(): number {
    return this.state_;
  }

  static fromState(state: number): SeededRandom {
    const r = new SeededRandom(0);
    r.state_ = state >>> 0;
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state_ = (this.state_ + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, 2^32). */
  nextUint32(): number {
    return Math.floor(this.next() * 4294967296);
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i];
      out[i] = out[j];
      out[j] = tmp;
    }
    return out;
  }
}
