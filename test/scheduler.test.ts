/**
 * The scheduler's time logic with a clock we move: cron expressions in time zones (DST
 * included), the reminder's local date, one run's claim/record/release (runOnce), and the
 * schedule's timers, fired by hand. Nothing here waits for 17:10.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { createMemoryDeliveryStore } from '../src/store/memory/memory-delivery-store.js';
import { createMemoryStore } from '../src/store/memory/memory-store.js';
import { ScheduleError, describeSchedule, localDate, nextOccurrence, nextRun, parseCron, zonedTime } from '../src/scheduler/cron.js';
import { failedStatus, jobDefinitions, runOnce, type JobOps } from '../src/scheduler/jobs.js';
import { createScheduler, type RunEvent, type Scheduler, type Timers } from '../src/scheduler/scheduler.js';
import { FailureLog } from '../src/scheduler/failure-log.js';
import type { BroadcastRecord } from '../src/notifications/types.js';
import { NotificationService } from '../src/notifications/service.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
/** The next `n` occurrences after `from`. */
function upcoming(expr: string, tz: string, from: string, n = 1): (string | null)[] {
  const cron = parseCron(expr);
  const out: (string | null)[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = nextOccurrence(cron, tz, t);
    out.push(iso(next));
    if (next === null) break;
    t = next;
  }
  return out;
}

describe('parseCron', () => {
  it('expands numbers, ranges, steps and lists; 0 and 7 are both Sunday', () => {
    const c = parseCron('*/15 9-17/4 1,15 */6 7');
    expect(c.minutes).toEqual([0, 15, 30, 45]);
    expect(c.hours).toEqual([9, 13, 17]);
    expect([...c.days]).toEqual([1, 15]);
    expect([...c.months]).toEqual([1, 7]);
    expect([...c.weekdays]).toEqual([0]);
    expect(parseCron('0 9 * * 5-7').weekdays).toEqual(new Set([5, 6, 0]));
    expect(parseCron('5/20 * * * *').minutes).toEqual([5, 25, 45]);
    expect(parseCron('  10   17 * * * ').expression).toBe('10 17 * * *');
  });

  it.each([
    ['61 17 * * *', "Number '61' of minutes field is bigger than upper limit '59'"],
    ['10 24 * * *', "Number '24' of hours field is bigger than upper limit '23'"],
    ['* * * *', 'Expected 5 values, but got 4'],
    ['@daily', 'Expected 5 values, but got 1'],
    ['0 9 * * MON', "Element 'MON' of daysOfWeek field is invalid"],
    ['*/0 * * * *', "Second step element '0' of '*/0' cannot be zero"],
    ['0 0 0 * *', 'day-of-month field: "0" is outside 1-31'],
  ])('rejects %j: %s', (expr, message) => {
    expect.assertions(2);
    try {
      parseCron(expr);
    } catch (err) {
      expect(err).toBeInstanceOf(ScheduleError);
      expect((err as Error).message).toContain(message);
    }
  });
});

describe('nextOccurrence', () => {
  it('fires 10 17 * * * at 17:10 local time, today before it and tomorrow from it on', () => {
    // 2026-11-24 is winter time in Berlin (UTC+1)
    expect(upcoming('10 17 * * *', 'Europe/Berlin', '2026-11-24T16:09:59.999Z')).toEqual(['2026-11-24T16:10:00.000Z']);
    expect(upcoming('10 17 * * *', 'Europe/Berlin', '2026-11-24T16:10:00.000Z')).toEqual(['2026-11-25T16:10:00.000Z']);
    // summer time (UTC+2)
    expect(upcoming('10 17 * * *', 'Europe/Berlin', '2026-07-01T00:00:00Z')).toEqual(['2026-07-01T15:10:00.000Z']);
    expect(upcoming('10 17 * * *', 'America/New_York', '2026-11-24T12:00:00Z', 2)).toEqual(['2026-11-24T22:10:00.000Z', '2026-11-25T22:10:00.000Z']);
    expect(upcoming('10 17 * * *', 'Asia/Kolkata', '2026-11-24T00:00:00Z')).toEqual(['2026-11-24T11:40:00.000Z']);
    expect(upcoming('10 17 * * *', 'UTC', '2026-11-24T00:00:00Z')).toEqual(['2026-11-24T17:10:00.000Z']);
  });

  it('keeps 17:10 local across DST changes in both directions', () => {
    // Berlin: summer time starts 2026-03-29, ends 2026-10-25
    expect(upcoming('10 17 * * *', 'Europe/Berlin', '2026-03-27T20:00:00Z', 3)).toEqual([
      '2026-03-28T16:10:00.000Z',
      '2026-03-29T15:10:00.000Z',
      '2026-03-30T15:10:00.000Z',
    ]);
    expect(upcoming('10 17 * * *', 'Europe/Berlin', '2026-10-23T20:00:00Z', 3)).toEqual([
      '2026-10-24T15:10:00.000Z',
      '2026-10-25T16:10:00.000Z',
      '2026-10-26T16:10:00.000Z',
    ]);
  });

  it('fires a time skipped by spring forward just after the gap, and a repeated one once', () => {
    expect(upcoming('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2)).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(upcoming('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(zonedTime(2026, 3, 29, 2, 30, 'Europe/Berlin')).toBe(at('2026-03-29T01:30:00Z'));
  });

  it('treats day-of-month and day-of-week as either-or when both are set, as cron does', () => {
    // the 1st, or any Monday: 2026-11-30 is a Monday, 2026-12-01 the 1st
    expect(upcoming('0 9 1 * 1', 'UTC', '2026-11-24T12:00:00Z', 2)).toEqual(['2026-11-30T09:00:00.000Z', '2026-12-01T09:00:00.000Z']);
    expect(upcoming('0 9 * * 1-5', 'UTC', '2026-11-27T12:00:00Z')).toEqual(['2026-11-30T09:00:00.000Z']);
    expect(upcoming('0 9 * * 7', 'UTC', '2026-11-24T00:00:00Z')).toEqual(['2026-11-29T09:00:00.000Z']);
  });

  it('finds rare dates and gives up on impossible ones', () => {
    expect(upcoming('0 0 29 2 *', 'UTC', '2026-11-24T00:00:00Z')).toEqual(['2028-02-29T00:00:00.000Z']);
    expect(upcoming('0 0 30 2 *', 'UTC', '2026-11-24T00:00:00Z')).toEqual([null]);
  });

  it('steps minute by minute for * * * * *', () => {
    expect(upcoming('* * * * *', 'Asia/Kathmandu', '2026-11-24T23:59:30Z', 3)).toEqual([
      '2026-11-25T00:00:00.000Z',
      '2026-11-25T00:01:00.000Z',
      '2026-11-25T00:02:00.000Z',
    ]);
  });
});

describe('schedules and local dates', () => {
  it('aligns fixed periods to multiples of the period, so instances agree on slots', () => {
    expect(nextRun({ kind: 'every', everyMs: 5000 }, 1_000_001)).toBe(1_005_000);
    expect(nextRun({ kind: 'every', everyMs: 5000 }, 1_005_000)).toBe(1_010_000);
    expect(describeSchedule({ kind: 'every', everyMs: 5000 })).toBe('every 5s');
    expect(describeSchedule({ kind: 'cron', cron: parseCron('10 17 * * *'), timezone: 'UTC' })).toBe('10 17 * * *');
  });

  it('gives the date on the wall in the zone', () => {
    const t = at('2026-11-24T23:30:00Z');
    expect(localDate(t, 'UTC')).toBe('2026-11-24');
    expect(localDate(t, 'Europe/Berlin')).toBe('2026-11-25');
    expect(localDate(t, 'America/Los_Angeles')).toBe('2026-11-24');
  });
});

// ---------------------------------------------------------------------------------------------

/** JobOps that record what a job asked for. */
function fakeOps(over: Partial<JobOps> = {}) {
  const calls: string[] = [];
  const record = (b: Partial<BroadcastRecord> = {}): BroadcastRecord => ({ id: 'b1', type: 'work_end_reminder', title: 't', createdAt: 0, saveOffline: true, recipients: 3, deduplicated: 0, muted: 0, ...b });
  const ops: JobOps = {
    beginRun: async (name, c) => (calls.push(`begin ${name} ${c.slot} ${c.token}`), 'started'),
    endRun: async (name, e) => void calls.push(`end ${name} ${e.status} ${e.startedAt}`),
    workEndReminder: async (date) => (calls.push(`reminder ${date}`), record()),
    deliverDue: async () => ({ sends: 0, stored: 0 }),
    nextScheduledAt: async () => null,
    pruneExpired: async () => 0,
    pruneDeliveries: async () => 0,
    dashboardTopicListeners: async () => 0,
    refreshDashboard: async (ev) => void calls.push(`refresh ${JSON.stringify(ev)}`),
    ...over,
  };
  return { ops, calls };
}

describe('runOnce', () => {
  const defs = jobDefinitions({ workEndCron: '10 17 * * *', timezone: 'Europe/Berlin' });
  const reminder = defs.find((d) => d.name === 'work-end-reminder')!;
  const dashboard = defs.find((d) => d.name === 'dashboard-push')!;

  it('claims the run, sends the reminder of the occurrence’s local date, records ok, releases', async () => {
    const { ops, calls } = fakeOps();
    const slot = at('2026-11-24T23:10:00Z'); // 00:10 on the 25th in Berlin
    const r = await runOnce(reminder, ops, { slot, token: 'tok', clock: () => slot + 5, instance: 'i1' });
    expect(r).toMatchObject({ outcome: 'ran', status: 'ok' });
    expect(calls).toEqual([`begin work-end-reminder ${slot} tok`, 'reminder 2026-11-25', `end work-end-reminder ok ${slot + 5}`]);
  });

  it('uses today’s local date for a manual run', async () => {
    const { ops, calls } = fakeOps();
    await runOnce(reminder, ops, { slot: null, token: 't', clock: () => at('2026-11-24T16:00:00Z'), instance: 'i1' });
    expect(calls[1]).toBe('reminder 2026-11-24');
  });

  it('does nothing when another instance runs it or already ran the occurrence', async () => {
    for (const claim of ['busy', 'done'] as const) {
      const { ops, calls } = fakeOps({ beginRun: async () => claim });
      expect(await runOnce(reminder, ops, { slot: 1, token: 't', clock: () => 2, instance: 'i1' })).toEqual({ outcome: claim, status: null, summary: null, error: null });
      expect(calls).toEqual([]);
    }
  });

  it('records a throwing job as "failed: <reason>" and still releases its lock', async () => {
    const { ops, calls } = fakeOps({
      workEndReminder: async () => {
        throw new Error('WRONGTYPE Operation against a key\nholding the wrong kind of value');
      },
    });
    const r = await runOnce(reminder, ops, { slot: null, token: 't', clock: () => 7, instance: 'i1' });
    expect(r.status).toBe('failed: WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(r.error).toContain('WRONGTYPE');
    expect(calls.at(-1)).toBe('end work-end-reminder failed: WRONGTYPE Operation against a key holding the wrong kind of value 7');
  });

  it('reports a backend it cannot even lock as failed', async () => {
    const { ops } = fakeOps({
      beginRun: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    expect((await runOnce(reminder, ops, { slot: null, token: 't', clock: () => 0, instance: 'i1' })).status).toBe('failed: connect ECONNREFUSED');
    expect(failedStatus('x'.repeat(1000))).toHaveLength('failed: '.length + 300);
  });

  it('pushes the dashboard by a refresh on the bus; asks for the topic snapshot only while someone subscribes to it', async () => {
    const idle = fakeOps();
    expect((await runOnce(dashboard, idle.ops, { slot: 5000, token: 't', clock: () => 5001, instance: 'i1' })).summary).toBe('refresh published (dashboard topic: no listeners)');
    expect(idle.calls).toContain('refresh {"kind":"refresh","at":5000,"by":"i1","topic":false}');
    const busy = fakeOps({ dashboardTopicListeners: async () => 2 });
    expect((await runOnce(dashboard, busy.ops, { slot: 5000, token: 't', clock: () => 5001, instance: 'i1' })).summary).toBe('refresh published (dashboard topic: 2 listening)');
    expect(busy.calls).toContain('refresh {"kind":"refresh","at":5000,"by":"i1","topic":true}');
  });
});

// ---------------------------------------------------------------------------------------------

/** Timers that only record; the test fires them after moving the clock. */
function fakeTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let seq = 0;
  const timers: Timers = {
    set: (fn, ms) => (pending.set(++seq, { fn, ms }), seq),
    clear: (h) => void pending.delete(h as number),
  };
  return {
    timers,
    /** the delays armed so far and not fired or cleared */
    delays: () => [...pending.values()].map((p) => p.ms),
    fireAll() {
      const due = [...pending.entries()];
      pending.clear();
      for (const [, p] of due) p.fn();
    },
    /** fires the timers armed with this delay */
    fire(ms: number) {
      const due = [...pending.entries()].filter(([, p]) => p.ms === ms);
      for (const [id, p] of due) (pending.delete(id), p.fn());
    },
  };
}

describe('the schedule, with a clock and timers the test moves', () => {
  const schedulers: Scheduler[] = [];
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop(2000)));
  });

  it('arms the reminder for 17:10 in its zone, fires that occurrence once across two instances, re-arms for tomorrow', async () => {
    const store = createMemoryStore({ cap: 50 });
    let now = at('2026-11-24T16:09:50Z'); // 17:09:50 in Berlin
    await store.upsertUser('offline-user', {}, now);
    const make = () => {
      const t = fakeTimers();
      const s = createScheduler({
        store,
        deliveries: createMemoryDeliveryStore(),
        backend: { kind: 'memory' },
        logger: pino({ level: 'silent' }),
        clock: () => now,
        timers: t.timers,
        timezone: 'Europe/Berlin',
        only: ['work-end-reminder'],
      });
      schedulers.push(s);
      return { s, t };
    };
    const a = make();
    const b = make();
    const events: RunEvent[] = [];
    const done = new Promise<void>((resolve) => {
      for (const { s } of [a, b]) s.onRun((e) => (events.push(e), events.length === 2 && resolve()));
    });
    await a.s.start();
    await b.s.start();
    expect(a.t.delays()).toEqual([10_000]);
    expect(b.t.delays()).toEqual([10_000]);

    now = at('2026-11-24T16:10:00Z');
    a.t.fireAll();
    b.t.fireAll();
    // each re-armed for the next day at once, whatever the runs do
    expect(a.t.delays()).toEqual([24 * 3600_000]);
    await done;
    expect(events.map((e) => e.slot)).toEqual([now, now]);
    // the first to claim the slot runs it; the other finds it taken (the slot is recorded as the run starts)
    expect(events.map((e) => e.outcome).sort()).toEqual(['done', 'ran']);
    expect(events.find((e) => e.outcome === 'ran')!.summary).toContain('work_end_reminder 2026-11-24');
    const page = await store.list('offline-user', { first: 10 }, now + 1000);
    expect(page.items.map((n) => [n.type, n.data, n.expiresAt - n.createdAt])).toEqual([['work_end_reminder', { date: '2026-11-24' }, 12 * 3600_000]]);
    const [job] = await a.s.list();
    expect(job).toMatchObject({ name: 'work-end-reminder', timezone: 'Europe/Berlin', lastStatus: 'ok', nextRunAt: at('2026-11-25T16:10:00Z') });
  });

  it('catches up an occurrence missed minutes before it started, not older ones; skips a timer that fires far too late', async () => {
    const store = createMemoryStore({ cap: 50 });
    let now = at('2026-11-24T16:12:00Z'); // 17:12 in Berlin: 17:10 passed while no instance ran
    const t = fakeTimers();
    const s = createScheduler({ store, deliveries: createMemoryDeliveryStore(), backend: { kind: 'memory' }, logger: pino({ level: 'silent' }), clock: () => now, timers: t.timers, timezone: 'Europe/Berlin', only: ['work-end-reminder'] });
    schedulers.push(s);
    const ran = new Promise<RunEvent>((resolve) => s.onRun(resolve));
    await s.start();
    // a fired job's run has started by the time start() returns (the memory backend runs it in process)
    expect(s.running()).toEqual(['work-end-reminder']);
    const e = await ran;
    expect([e.slot, e.outcome, e.status]).toEqual([at('2026-11-24T16:10:00Z'), 'ran', 'ok']);
    expect(t.delays()).toEqual([24 * 3600_000 - 2 * 60_000]);
    // the machine sleeps through the next 17:10 and wakes at 17:30: that one is not made up
    const events: RunEvent[] = [];
    s.onRun((x) => events.push(x));
    now = at('2026-11-25T16:30:00Z');
    t.fireAll();
    expect(t.delays()).toEqual([24 * 3600_000 - 20 * 60_000]);
    // a fired occurrence would be running now (see above): none is, and none ran
    expect(s.running()).toEqual([]);
    expect(events).toEqual([]);
  });

  it('does not catch up an occurrence older than a few minutes', async () => {
    const store = createMemoryStore({ cap: 50 });
    const now = at('2026-11-24T16:20:00Z'); // 17:20 in Berlin
    const t = fakeTimers();
    const s = createScheduler({ store, deliveries: createMemoryDeliveryStore(), backend: { kind: 'memory' }, logger: pino({ level: 'silent' }), clock: () => now, timers: t.timers, timezone: 'Europe/Berlin', only: ['work-end-reminder'] });
    schedulers.push(s);
    const events: RunEvent[] = [];
    s.onRun((x) => events.push(x));
    await s.start();
    // a fired occurrence would be running as start() returns (see the test above): none is
    expect(s.running()).toEqual([]);
    expect(events).toEqual([]);
    expect(t.delays()).toEqual([24 * 3600_000 - 10 * 60_000]);
  });

  it('keeps the next occurrence armed after a failed run', async () => {
    const store = createMemoryStore({ cap: 50 });
    store.broadcast = async () => {
      throw new Error('store is on fire');
    };
    let now = at('2026-11-24T16:09:59Z');
    const t = fakeTimers();
    const s = createScheduler({ store, deliveries: createMemoryDeliveryStore(), backend: { kind: 'memory' }, logger: pino({ level: 'silent' }), clock: () => now, timers: t.timers, timezone: 'Europe/Berlin', only: ['work-end-reminder'] });
    schedulers.push(s);
    const ran = new Promise<RunEvent>((resolve) => s.onRun(resolve));
    await s.start();
    now = at('2026-11-24T16:10:00Z');
    t.fireAll();
    expect((await ran).status).toBe('failed: store is on fire');
    expect(t.delays()).toEqual([24 * 3600_000]);
    const [job] = await s.list();
    expect(job!.lastStatus).toBe('failed: store is on fire');
    // the run's clock is ours
    expect(job!.lastRunAt).toBeGreaterThanOrEqual(now);
    expect(job!.lastRunAt).toBeLessThan(now + 20_000);
  });
});

describe('deliver-scheduled between its ticks', () => {
  it('wakes at the earliest sendAt when that comes before the next tick, and delivers then', async () => {
    const store = createMemoryStore({ cap: 50 });
    let now = at('2026-11-24T12:00:00.000Z');
    const t = fakeTimers();
    const s = createScheduler({ store, deliveries: createMemoryDeliveryStore(), backend: { kind: 'memory' }, logger: pino({ level: 'silent' }), clock: () => now, timers: t.timers, only: ['deliver-scheduled'] });
    try {
      await s.start();
      expect(t.delays()).toEqual([1000]);
      const sent = await new NotificationService(store, () => now).send({ userIds: ['una'], type: 'task_due_soon', title: 'due', body: '', sendAt: new Date(now + 1300) });
      expect(sent.scheduledId).not.toBeNull();
      // the tick at 12:00:01 finds nothing due, then asks for the earliest sendAt
      now += 1000;
      const tick = new Promise<RunEvent>((resolve) => s.onRun(resolve));
      t.fire(1000);
      expect((await tick).summary).toBe('delivered 0 scheduled sends (0 notifications stored)');
      await vi.waitFor(() => expect(t.delays().sort((a, b) => a - b)).toEqual([300, 1000]));
      now += 300;
      const extra = new Promise<RunEvent>((resolve) => s.onRun(resolve));
      t.fire(300);
      const e = await extra;
      expect([e.slot, e.summary]).toEqual([null, 'delivered 1 scheduled sends (1 notifications stored)']);
      expect((await store.list('una', { first: 5 }, now)).items.map((n) => [n.title, n.createdAt])).toEqual([['due', now]]);
    } finally {
      await s.stop(2000);
    }
  });
});

describe('FailureLog', () => {
  it('reports a failure, leaves repeats of it out for a minute, then reports it with the count; a new failure at once', () => {
    let now = 0;
    const log = new FailureLog(() => now, 60_000);
    expect(log.failed('deliver-scheduled', 'failed: redis down')).toEqual({ unlogged: 0 });
    for (let i = 1; i < 60; i++) {
      now = i * 1000;
      expect(log.failed('deliver-scheduled', 'failed: redis down')).toBeNull();
    }
    now = 60_000;
    expect(log.failed('deliver-scheduled', 'failed: redis down')).toEqual({ unlogged: 59 });
    now = 61_000;
    expect(log.failed('deliver-scheduled', 'failed: redis down')).toBeNull();
    expect(log.failed('deliver-scheduled', 'failed: timed out')).toEqual({ unlogged: 1 });
    // each job on its own
    expect(log.failed('prune-expired', 'failed: redis down')).toEqual({ unlogged: 0 });
  });

  it('tells of the recovery once: how many runs failed and since when', () => {
    let now = 1000;
    const log = new FailureLog(() => now, 60_000);
    expect(log.succeeded('deliver-scheduled')).toBeNull();
    log.failed('deliver-scheduled', 'failed: redis down');
    now = 2000;
    log.failed('deliver-scheduled', 'failed: redis down');
    now = 5000;
    expect(log.succeeded('deliver-scheduled')).toEqual({ failures: 2, sinceMs: 4000 });
    expect(log.succeeded('deliver-scheduled')).toBeNull();
    expect(log.failed('deliver-scheduled', 'failed: redis down')).toEqual({ unlogged: 0 });
  });

  it('is what the scheduler logs by: a repeated failure once, then the recovery', { timeout: 30_000 }, async () => {
    const store = createMemoryStore({ cap: 50 });
    const broadcast = store.broadcast.bind(store);
    let fail = true;
    store.broadcast = async (...args) => {
      if (fail) throw new Error('store is on fire');
      return broadcast(...args);
    };
    const lines: { level: number; msg: string; unlogged?: number; failures?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const now = at('2026-11-24T12:00:00Z');
    const s = createScheduler({ store, deliveries: createMemoryDeliveryStore(), backend: { kind: 'memory' }, logger, clock: () => now, timers: fakeTimers().timers, timezone: 'Europe/Berlin', only: ['work-end-reminder'] });
    await s.start();
    try {
      for (let i = 0; i < 3; i++) expect((await s.run('work-end-reminder')).lastStatus).toBe('failed: store is on fire');
      fail = false;
      expect((await s.run('work-end-reminder')).lastStatus).toBe('ok');
    } finally {
      await s.stop(2000);
    }
    const about = lines.filter((l) => l.msg.startsWith('job work-end-reminder'));
    expect(about.map((l) => [l.level, l.msg])).toEqual([
      [50, 'job work-end-reminder failed: store is on fire'],
      [30, 'job work-end-reminder ok again after 3 failed runs'],
    ]);
  });
});
