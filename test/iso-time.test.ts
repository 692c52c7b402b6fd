import { describe, expect, it } from 'vitest';
import { isoTime } from '../src/schema/iso-time.js';

const reference = (v: unknown) => new Date(v as number).toISOString();

describe('isoTime (the DateTime scalar’s output)', () => {
  it('writes what toISOString writes, across seconds, days, leap days and the whole range', () => {
    const samples = [0, 1, 9, 10, 99, 100, 999, 1000, 59_999, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    // consecutive ms across second boundaries (the cached second changes and comes back)
    const now = Date.now();
    for (let ms = now - 2_500; ms < now + 2_500; ms += 7) samples.push(ms);
    for (let i = 0; i < 5_000; i++) samples.push(Math.floor(Math.random() * 253_402_300_800_000));
    for (const ms of [...samples, ...[...samples].reverse()]) expect(isoTime(ms), String(ms)).toBe(reference(ms));
  });

  it('leaves everything else to toISOString: before 1970, after 9999, fractions, dates and strings', () => {
    for (const v of [-1, -62_198_755_200_000, 253_402_300_800_000, 8.64e15, 1_700_000_000_000.5, new Date(1_700_000_000_123), '2026-11-24T17:10:00.000Z'])
      expect(isoTime(v)).toBe(reference(v));
    for (const v of [Number.NaN, 8.64e15 + 1, 'not a date']) expect(() => isoTime(v)).toThrow(RangeError);
  });
});
