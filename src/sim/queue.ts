// A binary min-heap of events ordered by (time, sequence): ties resolve in insertion order, which
// keeps the simulation deterministic. The order is total (sequence numbers are unique), so taking
// one item out (`remove`) never changes the order in which the others come out.

export interface Scheduled<T> {
  readonly time: number;
  /** Unique, in insertion order: a stable id for the item while it waits. */
  readonly seq: number;
  readonly item: T;
}

export class EventQueue<T> {
  private heap: Scheduled<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `item` at `time`; returns its sequence number. */
  push(time: number, item: T): number {
    const node = { time, seq: this.seq++, item };
    this.heap.push(node);
    this.siftUp(this.heap.length - 1);
    return node.seq;
  }

  pop(): Scheduled<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  peek(): Scheduled<T> | undefined {
    return this.heap[0];
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** The waiting item with sequence number `seq`, if any. */
  find(seq: number): Scheduled<T> | undefined {
    return this.heap.find((s) => s.seq === seq);
  }

  /** Takes the item with sequence number `seq` out of the queue (undefined when not waiting). */
  remove(seq: number): Scheduled<T> | undefined {
    const h = this.heap;
    const i = h.findIndex((s) => s.seq === seq);
    if (i < 0) return undefined;
    const removed = h[i]!;
    const last = h.pop()!;
    if (i < h.length) {
      h[i] = last;
      this.siftDown(this.siftUp(i));
    }
    return removed;
  }

  /** Every waiting item, in the order `pop` would return them (a copy). */
  items(): Scheduled<T>[] {
    return [...this.heap].sort((a, b) => (before(a, b) ? -1 : 1));
  }

  private siftUp(start: number): number {
    const h = this.heap;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
    return i;
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
