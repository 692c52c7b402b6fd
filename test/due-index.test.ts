import { describe, expect, it } from 'vitest';
import { DueIndex } from '../src/store/memory/due-index.js';

describe('DueIndex (the memory backend expiry index)', () => {
  it('pops exactly the users due, earliest first, each once, at their latest time', () => {
    const index = new DueIndex();
    const want = new Map<string, number>();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // 5 000 moves among 500 users, some removed: plenty of stale entries and a few rebuilds
    for (let i = 0; i < 5000; i++) {
      const id = `u${Math.floor(rand() * 500)}`;
      if (rand() < 0.1) {
        index.set(id, null);
        want.delete(id);
      } else {
        const t = Math.floor(rand() * 10_000);
        index.set(id, t);
        want.set(id, t);
      }
    }
    const popped: [string, number][] = [];
    for (const now of [-1, 2500, 5000, 10_000]) {
      for (let id; (id = index.popDue(now)) !== undefined; ) {
        expect(want.get(id)).toBeLessThanOrEqual(now);
        popped.push([id, want.get(id)!]);
      }
    }
    expect(popped.map(([id]) => id).sort()).toEqual([...want.keys()].sort());
    expect(popped.map(([, t]) => t)).toEqual(popped.map(([, t]) => t).sort((a, b) => a - b));
    expect(index.popDue(Infinity)).toBeUndefined();
  });
});
