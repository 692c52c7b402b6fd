/**
 * The memory backend's twin of `P{p:N}:due`: each user at its next expiry, and the users due at a
 * given time in time order, without visiting anyone else. A binary min-heap with lazy deletion:
 * moving a user leaves its old entry behind, skipped when popped (its time no longer matches),
 * and the heap is rebuilt when stale entries outnumber live ones.
 */
export class DueIndex {
  private readonly at = new Map<string, number>();
  private heap: { t: number; id: string }[] = [];

  /** Puts `userId` at `t`, or removes it (null). */
  set(userId: string, t: number | null): void {
    if (t === null) {
      this.at.delete(userId);
      return;
    }
    if (this.at.get(userId) === t) return;
    this.at.set(userId, t);
    this.push({ t, id: userId });
    if (this.heap.length > 2 * this.at.size + 1024) this.rebuild();
  }

  /** Takes out and returns the earliest user due at or before `now`, or undefined. */
  popDue(now: number): string | undefined {
    while (this.heap.length > 0 && this.heap[0]!.t <= now) {
      const { t, id } = this.pop();
      if (this.at.get(id) !== t) continue; // moved since: a stale entry
      this.at.delete(id);
      return id;
    }
    return undefined;
  }

  private rebuild() {
    this.heap = [];
    for (const [id, t] of this.at) this.push({ t, id });
  }

  private push(e: { t: number; id: string }) {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.t <= e.t) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): { t: number; id: string } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.t < h[l]!.t ? r : l;
        if (h[c]!.t >= last.t) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
