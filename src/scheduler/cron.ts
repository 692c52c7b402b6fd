/**
 * Cron schedules in an IANA time zone, as pure functions of a time you pass in (no clock, no
 * timers), so tests can ask "what runs after 17:09:59 in Europe/Berlin" without waiting.
 *
 * Syntax: the five standard fields (minute hour day-of-month month day-of-week) with numbers,
 * `*`, ranges `a-b`, steps `* /n` and `a-b/n`, and lists; day-of-week 0-7 with 0 and 7 both
 * Sunday. Expressions are validated by cron-validate (what Bree validates with), then expanded
 * here. We do not evaluate them with @breejs/later (Bree's parser): it maps a day-of-week 7 to
 * Saturday (`0 9 * * 7` parses to d:[7], later's Saturday) and gives day-of-month AND
 * day-of-week where cron means OR. Here, as in Vixie cron: when both day fields are
 * restricted, a day matches if either does.
 *
 * Time zones: wall-clock times are matched in the zone (Intl). A wall time that does not exist
 * (spring forward, e.g. 02:30) fires at the first instant after the gap; one that happens twice
 * (fall back) fires once, at the first.
 */
import cronValidateModule from 'cron-validate';

/** Thrown for an expression or zone that can't be used; the message says why. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** A parsed cron expression. */
export interface Cron {
  expression: string;
  minutes: readonly number[];
  hours: readonly number[];
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday */
  weekdays: ReadonlySet<number>;
  /** Vixie rule: both day fields restricted -> a day matches if either matches */
  dayOr: boolean;
}

// cron-validate is CommonJS with `exports.default`: under ESM the default import is the module.
type CronValidate = (typeof import('cron-validate'))['default'];
const cronValidate: CronValidate =
  (cronValidateModule as unknown as { default?: CronValidate }).default ?? (cronValidateModule as unknown as CronValidate);

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

function expand(text: string, { name, min, max }: (typeof FIELDS)[number]): number[] {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new ScheduleError(`${name} field: "${item}" is not a number, range, step or *`);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    const from = m[1] === '*' ? min : Number(m[2]);
    // "a/n" means a, a+n, ... up to the field's end (Vixie); "a" alone is just a.
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    if (from < min || to > max || from > to || step < 1) throw new ScheduleError(`${name} field: "${item}" is outside ${min}-${max}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Parses and validates a five-field cron expression.
 * @throws {@link ScheduleError} naming the problem, e.g. `Number '61' of minutes field is bigger than upper limit '59'`.
 */
export function parseCron(expression: string): Cron {
  const text = expression.trim().replace(/\s+/g, ' ');
  const checked = cronValidate(text);
  if (!checked.isValid()) throw new ScheduleError(checked.getError().map((e) => e.replace(/\.? \(Input cron: .*\)$/, '')).join('; '));
  const parts = text.split(' ');
  if (parts.length !== 5) throw new ScheduleError(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const [mi, h, dom, mo, dow] = parts.map((p, i) => expand(p, FIELDS[i]!)) as [number[], number[], number[], number[], number[]];
  return {
    expression: text,
    minutes: mi,
    hours: h,
    days: new Set(dom),
    months: new Set(mo),
    weekdays: new Set(dow.map((d) => d % 7)),
    dayOr: !parts[2]!.startsWith('*') && !parts[4]!.startsWith('*'),
  };
}

// ---- time zones ---------------------------------------------------------------------------

const formats = new Map<string, Intl.DateTimeFormat>();
function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(tz, f);
  }
  return f;
}

/** The zone this process runs in (TZ, else the system's). */
export function serverTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * Checks an IANA zone name ("Europe/Berlin", "UTC") and returns its canonical spelling.
 * @throws {@link ScheduleError} for a name Intl doesn't know.
 */
export function checkTimezone(tz: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleError(`unknown time zone ${JSON.stringify(tz)} (expected an IANA name such as Europe/Berlin or UTC)`);
  }
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** What a clock on the wall in `tz` shows at instant `t`. */
export function wallClock(t: number, tz: string): WallClock {
  const p: Record<string, number> = {};
  for (const { type, value } of format(tz).formatToParts(t)) if (type !== 'literal') p[type] = Number(value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour!, minute: p.minute!, second: p.second! };
}

/** The zone's offset from UTC at instant `t`, in ms (whole seconds). */
function offsetAt(t: number, tz: string): number {
  const w = wallClock(t, tz);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
}

/**
 * The instant the wall clock in `tz` shows the given time: the earlier one when it shows it
 * twice, the first instant after the gap when it never does.
 */
export function zonedTime(year: number, month: number, day: number, hour: number, minute: number, tz: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets in force a little before and after: a transition sits between them, if any.
  const before = offsetAt(asUtc - 86_400_000, tz);
  const after = offsetAt(asUtc + 86_400_000, tz);
  const shows = (t: number) => {
    const w = wallClock(t, tz);
    return w.year === year && w.month === month && w.day === day && w.hour === hour && w.minute === minute;
  };
  const candidates = [asUtc - before, asUtc - after].filter(shows).sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;
  // In a gap (spring forward): the old offset lands just after it, at the same distance.
  return asUtc - before;
}

/** YYYY-MM-DD of instant `t` in `tz`. */
export function localDate(t: number, tz: string): string {
  const w = wallClock(t, tz);
  return `${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

// ---- occurrences --------------------------------------------------------------------------

/** How far ahead to look before deciding an expression never fires (e.g. "0 0 30 2 *"). */
const HORIZON_DAYS = 366 * 8;

function dayMatches(c: Cron, year: number, month: number, day: number): boolean {
  if (!c.months.has(month)) return false;
  const dom = c.days.has(day);
  const dow = c.weekdays.has(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  return c.dayOr ? dom || dow : dom && dow;
}

/**
 * The first instant strictly after `after` at which `cron` fires in `tz`; null if it never
 * does within eight years.
 */
export function nextOccurrence(cron: Cron, tz: string, after: number): number | null {
  const start = wallClock(after, tz);
  // Start a day early: around a transition the wall date of `after` and of its occurrence may differ.
  const first = Date.UTC(start.year, start.month - 1, start.day) - 86_400_000;
  // A wall time earlier than `after`'s by more than the offset changes around it can't be
  // after it: skip those without asking Intl (an every-minute cron would otherwise try a day's worth).
  const shift = Math.abs(offsetAt(after - 86_400_000, tz) - offsetAt(after + 2 * 86_400_000, tz));
  const wallAfter = Date.UTC(start.year, start.month - 1, start.day, start.hour, start.minute) - shift - 60_000;
  for (let i = 0; i <= HORIZON_DAYS; i++) {
    const d = new Date(first + i * 86_400_000);
    const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    if (!dayMatches(cron, y, m, day)) continue;
    // Wall times of a day in order map to instants in order (a repeated hour fires at its first).
    for (const h of cron.hours) {
      for (const mi of cron.minutes) {
        if (Date.UTC(y, m - 1, day, h, mi) < wallAfter) continue;
        const t = zonedTime(y, m, day, h, mi, tz);
        if (t > after) return t;
      }
    }
  }
  return null;
}

/** A schedule as the `jobs` query shows it and the scheduler runs it. */
export type Schedule =
  /** wall-clock occurrences in a zone */
  | { kind: 'cron'; cron: Cron; timezone: string }
  /** every `everyMs`, aligned to multiples of it since the epoch (so instances agree on slots) */
  | { kind: 'every'; everyMs: number };

/** The next time a schedule fires strictly after `after`. */
export function nextRun(schedule: Schedule, after: number): number | null {
  if (schedule.kind === 'cron') return nextOccurrence(schedule.cron, schedule.timezone, after);
  return (Math.floor(after / schedule.everyMs) + 1) * schedule.everyMs;
}

/** "10 17 * * *" or "every 5s": the `schedule` field of a Job. */
export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === 'cron') return schedule.cron.expression;
  const s = schedule.everyMs / 1000;
  return Number.isInteger(s) ? `every ${s}s` : `every ${schedule.everyMs}ms`;
}
