/**
 * `new Date(ms).toISOString()`, with the text up to the second reused while calls stay in the
 * same second: a fan-out serialises many timestamps of the same second, and toISOString with its
 * Date was about 1 % of a delivered send's CPU. Anything but a whole ms in years 1970-9999 goes
 * to toISOString itself (its other forms and its RangeError).
 */
const LAST_MS = 253_402_300_800_000; // 10000-01-01T00:00:00.000Z
let cachedSecond = -1;
let cachedPrefix = '';

export function isoTime(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= LAST_MS) return new Date(value as number).toISOString();
  const ms = value % 1000;
  const second = value - ms;
  if (second !== cachedSecond) {
    // "YYYY-MM-DDTHH:MM:SS." of this second
    cachedPrefix = new Date(second).toISOString().slice(0, 20);
    cachedSecond = second;
  }
  return cachedPrefix + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z';
}
