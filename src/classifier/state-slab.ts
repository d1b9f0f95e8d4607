/**
 * Where a model's streams keep their carried states: pages of `ROWS_PER_PAGE` rows of `width`
 * floats, one row (a slot) per open stream. The addon reads a batch's rows straight from the
 * pages when a stream call is made and writes the new states back into them as it settles
 * (native/binding/state_pages.h), so JavaScript copies no state. Pages are only ever added,
 * never moved or resized, so a call in flight always writes into the page it read from.
 */

/** Rows per page: 1 MiB of LSTM(128) states (256 floats each). */
const ROWS_PER_PAGE = 1024;

export class StateSlab {
  readonly pages: Float32Array[] = [];
  readonly #free: number[] = [];
  #next = 0;
  /** Streams dropped without close(): their slots come back when they are collected. */
  readonly #collected = new FinalizationRegistry<number>((slot) => this.release(slot));

  constructor(readonly width: number) {}

  /** A zeroed slot for `owner`, freed when `release`d (or when the owner is collected). */
  acquire(owner: object): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#next++;
      if (slot >= this.pages.length * ROWS_PER_PAGE) this.pages.push(new Float32Array(ROWS_PER_PAGE * this.width));
    } else {
      this.row(slot).fill(0);
    }
    this.#collected.register(owner, slot, owner);
    return slot;
  }

  release(slot: number, owner?: object): void {
    if (owner) this.#collected.unregister(owner);
    this.#free.push(slot);
  }

  /** The slot's row (a view: reads and writes go to the page). */
  row(slot: number): Float32Array {
    const page = this.pages[Math.floor(slot / ROWS_PER_PAGE)];
    const at = (slot % ROWS_PER_PAGE) * this.width;
    return page.subarray(at, at + this.width);
  }
}
