/**
 * Scheduled work end to end, on both backends: `jobs` and `runJob` through GraphQL, the
 * reminder once per user per day across runs and instances, `sendAt` delivered on time (and on
 * Redis exactly once across a restart), failures recorded without taking the server down, and
 * a bounded stop. On Redis the reminder and pruning run in real worker threads (each start
 * costs about a second); the frequent jobs, and every job on the memory backend, run in process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DashboardUpdatedSubscription, JobsQuery, MeQuery, NotificationsQuery, RunJobMutation, SendNotificationMutation, TopicSubscription, UpsertUserMutation } from '../src/client/operations.js';
import { nextOccurrence, parseCron } from '../src/scheduler/cron.js';
import { schedulerKeys } from '../src/store/redis/keys.js';
import type { RunEvent, Scheduler } from '../src/scheduler/scheduler.js';
import { ADMIN, BACKENDS, SERVICE, asUser, codes, useTestApp, type TestApp } from './helpers/app.js';
import { subscribe, wsClient } from './helpers/ws.js';

const HOUR = 3600_000;

/** Resolves with the first run event that matches. */
function nextRun(s: Scheduler, match: (e: RunEvent) => boolean, timeoutMs = 15_000): Promise<RunEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error('no matching job run'))), timeoutMs);
    const off = s.onRun((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pino logger whose entries the test can read. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const users = (t: TestApp, ids: string[]) => Promise.all(ids.map((id) => t.run(UpsertUserMutation, { id }, SERVICE)));
const inbox = async (t: TestApp, user: string) => (await t.run(NotificationsQuery, { first: 50 }, asUser(user))).data!.notifications.edges.map((e) => e.node);

describe.each(BACKENDS)('jobs (%s)', (backend) => {
  describe('runJob and jobs', () => {
    const t = useTestApp(backend, { clock: 'real', scheduler: { timezone: 'Europe/Berlin', workEndCron: '10 17 * * 1-5' } });

    it('lists every job with its schedule, zone and next run; admin only', async () => {
      const res = await t().run(JobsQuery, {}, ADMIN);
      const jobs = res.data!.jobs;
      expect(jobs.map((j) => [j.name, j.schedule, j.timezone])).toEqual([
        ['work-end-reminder', '10 17 * * 1-5', 'Europe/Berlin'],
        ['deliver-scheduled', 'every 1s', null],
        ['prune-expired', '*/10 * * * *', 'Europe/Berlin'],
        ['dashboard-push', 'every 5s', null],
      ]);
      for (const j of jobs) expect(Date.parse(j.nextRunAt!)).toBeGreaterThan(Date.now() - 1000);
      expect(new Date(jobs[0]!.nextRunAt!).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' })).toBe('17:10');
      expect(codes(await t().run(JobsQuery, {}, asUser('u')))).toEqual(['FORBIDDEN']);
      expect(codes(await t().run(JobsQuery, {}, SERVICE))).toEqual(['FORBIDDEN']);
      expect(codes(await t().run(RunJobMutation, { name: 'prune-expired' }, SERVICE))).toEqual(['FORBIDDEN']);
      expect(codes(await t().run(RunJobMutation, { name: 'no-such-job' }, ADMIN))).toEqual(['NOT_FOUND']);
    });

    it('the reminder reaches every active user, online or not, once per day: a second run or instance adds nothing', async () => {
      await users(t(), ['ann', 'ben', 'cem']);
      const first = (await t().run(RunJobMutation, { name: 'work-end-reminder' }, ADMIN)).data!.runJob;
      expect(first).toMatchObject({ name: 'work-end-reminder', lastStatus: 'ok' });
      expect(Date.parse(first.lastRunAt!)).toBeGreaterThan(Date.now() - 60_000);
      // by hand again, and from another instance
      expect((await t(0).run(RunJobMutation, { name: 'work-end-reminder' }, ADMIN)).data!.runJob.lastStatus).toBe('ok');
      expect((await t(1).run(RunJobMutation, { name: 'work-end-reminder' }, ADMIN)).data!.runJob.lastStatus).toBe('ok');
      for (const u of ['ann', 'ben', 'cem']) {
        const items = await inbox(t(), u);
        expect(items.map((n) => [n.type, n.title])).toEqual([['work_end_reminder', 'Time to wrap up']]);
        // TTL 12 h (the work_end_reminder policy)
        expect(Date.parse(items[0]!.expiresAt) - Date.parse(items[0]!.createdAt)).toBe(12 * HOUR);
      }
      // both instances see the same status
      const [a, b] = await Promise.all([t(0).run(JobsQuery, {}, ADMIN), t(1).run(JobsQuery, {}, ADMIN)]);
      expect(a.data!.jobs[0]).toEqual(b.data!.jobs[0]);
    });

    it('sendNotification with a future sendAt: scheduledId now, nothing stored; bad input fails at once', async () => {
      const sendAt = new Date(Date.now() + HOUR).toISOString();
      const r = await t().run(SendNotificationMutation, { input: { userIds: ['fay'], type: 'task_assigned', title: 'later', body: 'b', sendAt } }, SERVICE);
      expect(r.data!.sendNotification).toMatchObject({ notifications: [], deduplicated: [], muted: [] });
      expect(r.data!.sendNotification.scheduledId).toMatch(/^[0-9a-z]{11}$/);
      expect(await t().store.nextScheduledAt()).toBe(Date.parse(sendAt));
      // validated now, not at delivery
      const bad = await t().run(SendNotificationMutation, { input: { userIds: ['fay'], type: 'task_assigned', template: 'nope', sendAt } }, SERVICE);
      expect(codes(bad)).toEqual(['NOT_FOUND']);
      const far = new Date(Date.now() + 400 * 24 * HOUR).toISOString();
      expect(codes(await t().run(SendNotificationMutation, { input: { userIds: ['fay'], type: 'x', title: 't', body: '', sendAt: far } }, SERVICE))).toEqual(['BAD_USER_INPUT']);
      // a sendAt that is now (or past) delivers now
      const now = await t().run(SendNotificationMutation, { input: { userIds: ['fay'], type: 'x', title: 'now', body: '', sendAt: new Date().toISOString() } }, SERVICE);
      expect(now.data!.sendNotification.scheduledId).toBeNull();
      expect(now.data!.sendNotification.notifications).toHaveLength(1);
    });
  });

  describe('two instances, one 17:10', () => {
    // Both instances' schedulers run on this clock and these timers: the test moves the clock
    // to the next 17:10 in Berlin and fires every armed timer, as 17:10 would.
    const next1710 = nextOccurrence(parseCron('10 17 * * *'), 'Europe/Berlin', Date.now());
    let fake = next1710! - 5000;
    const armed: (() => void)[] = [];
    const timers = { set: (fn: () => void) => armed.push(fn), clear: () => {} };
    const t = useTestApp(backend, { clock: 'real', scheduler: { timezone: 'Europe/Berlin', only: ['work-end-reminder'], clock: () => fake, timers } });

    it('fire the reminder once: one instance runs the occurrence, the other finds it taken', async () => {
      await users(t(), ['dora', 'emil']);
      const [a, b] = [t(0).scheduler!, t(1).scheduler!];
      await a.start();
      await b.start();
      expect(armed).toHaveLength(2);
      const events = Promise.all([nextRun(a, () => true), nextRun(b, () => true)]);
      fake = next1710!;
      for (const fire of armed.splice(0)) fire();
      const outcomes = await events;
      expect(outcomes.map((e) => e.slot)).toEqual([next1710, next1710]);
      expect(outcomes.map((e) => e.outcome).sort()).toEqual(['done', 'ran']);
      const date = new Date(next1710!).toLocaleDateString('sv-SE', { timeZone: 'Europe/Berlin' });
      for (const u of ['dora', 'emil']) {
        const items = await inbox(t(), u);
        expect(items.map((n) => [n.type, n.data])).toEqual([['work_end_reminder', { date }]]);
      }
      // each re-armed for the day after
      expect(armed).toHaveLength(2);
    });
  });

  describe('deliver-scheduled', () => {
    const t = useTestApp(backend, { clock: 'real', scheduler: { only: ['deliver-scheduled'] } });

    it('delivers a send within a second of its sendAt', async () => {
      const s = t().scheduler!;
      const warm = nextRun(s, (e) => e.job === 'deliver-scheduled');
      await s.start();
      await warm; // it ticks
      if (backend === 'redis') {
        // frequent and cheap: it runs on the main thread, with no worker or connection of its own
        const { newRedis } = await import('./helpers/redis.js');
        const r = newRedis();
        expect(String(await r.client('LIST'))).not.toContain('name=notifications:job:');
        await r.quit();
      }
      const sendAt = Date.now() + 1500;
      const r = await t().run(SendNotificationMutation, { input: { userIds: ['gus', 'hal'], type: 'task_due_soon', title: 'due', body: '', sendAt: new Date(sendAt).toISOString() } }, SERVICE);
      expect(r.data!.sendNotification.scheduledId).not.toBeNull();
      expect(await inbox(t(), 'gus')).toEqual([]);
      await nextRun(s, (e) => e.summary?.startsWith('delivered 1 ') ?? false, 5000);
      for (const u of ['gus', 'hal']) {
        const [n] = await inbox(t(), u);
        const late = Date.parse(n!.createdAt) - sendAt;
        expect(late).toBeGreaterThanOrEqual(0);
        expect(late).toBeLessThan(1000);
        // TTL counts from delivery
        expect(Date.parse(n!.expiresAt) - Date.parse(n!.createdAt)).toBe(2 * 24 * HOUR);
      }
      expect(await t().store.nextScheduledAt()).toBeNull();
    });

    // Redis-only: registered for that backend alone.
  if (backend === 'redis') it('loses nothing across a restart and delivers the overdue send once, with two instances up', async () => {
      // instance 0 takes the send, and "goes down" before it is due (its scheduler never starts)
      const sendAt = Date.now() + 1200;
      await t(0).run(SendNotificationMutation, { input: { userIds: ['ida', 'jan'], type: 'task_assigned', title: 'overdue', body: '', sendAt: new Date(sendAt).toISOString() } }, SERVICE);
      await new Promise((r) => setTimeout(r, sendAt - Date.now() + 300));
      // two fresh instances come up after sendAt
      const [a, b] = [t(1).scheduler!, t(2).scheduler!];
      const delivered = nextRun(a, (e) => /^delivered [1-9]/.test(e.summary ?? '')).catch(() => null);
      const deliveredB = nextRun(b, (e) => /^delivered [1-9]/.test(e.summary ?? '')).catch(() => null);
      await Promise.all([a.start(), b.start()]);
      await Promise.race([delivered, deliveredB]);
      await until(async () => (await t(1).store.nextScheduledAt()) === null);
      // each instance ticks twice more: neither delivers it again
      const ticks = (s: Scheduler) => nextRun(s, (e) => e.job === 'deliver-scheduled' && e.slot !== null).then(() => nextRun(s, (e) => e.job === 'deliver-scheduled' && e.slot !== null));
      await Promise.all([ticks(a), ticks(b)]);
      for (const u of ['ida', 'jan']) expect((await inbox(t(1), u)).map((n) => n.title)).toEqual(['overdue']);
    });
  });

  describe('failures', () => {
    const log = captureLogger();
    const t = useTestApp(backend, { clock: 'real', scheduler: { logger: log.logger } });

    it('a job that throws records "failed: <reason>", logs it, the server keeps serving, and the next run is ok', async () => {
      await users(t(), ['kim']);
      // Break what the reminder writes: memory in this thread; on Redis the worker's own
      // connection meets a key of the wrong type.
      const restore = await breakBroadcasts(t(), backend);
      const failed = (await t().run(RunJobMutation, { name: 'work-end-reminder' }, ADMIN)).data!.runJob;
      expect(failed.lastStatus).toMatch(backend === 'redis' ? /^failed: .*WRONGTYPE/ : /^failed: broadcasts are broken$/);
      expect(log.lines.some((l) => l.level === 50 && l.job === 'work-end-reminder' && String(l.msg).includes('failed'))).toBe(true);
      // still serving
      expect((await t().run(MeQuery, {}, asUser('kim'))).data!.me.id).toBe('kim');
      await restore();
      expect((await t().run(RunJobMutation, { name: 'work-end-reminder' }, ADMIN)).data!.runJob.lastStatus).toBe('ok');
      expect((await inbox(t(), 'kim')).map((n) => n.type)).toEqual(['work_end_reminder']);
    });
  });

  // Redis-only: the memory backend starts no workers (its jobs run in process; see below).
  if (backend === 'redis') describe('worker crashes and shutdown', () => {
    // Worker job files that misbehave: one throws as it loads; one takes its lock on its own
    // connection, as a real job does, then never finishes (and ignores 'cancel').
    const dir = mkdtempSync(join(tmpdir(), 'jobs-'));
    const here = (spec: string) => pathToFileURL(createRequire(import.meta.url).resolve(spec)).href;
    const redisStore = pathToFileURL(fileURLToPath(new URL('../src/store/redis/redis-store.ts', import.meta.url))).href;
    const channelsModule = pathToFileURL(fileURLToPath(new URL('../src/realtime/channels.ts', import.meta.url))).href;
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n'); // the .ts file is ESM, as in the repository
    writeFileSync(join(dir, 'work-end-reminder.mjs'), `throw new Error('kaboom at load');\n`);
    writeFileSync(
      join(dir, 'prune-expired.ts'),
      `import { workerData } from 'node:worker_threads';
import { Redis } from '${here('ioredis')}';
import { createRedisStore } from '${redisStore}';
import { channels } from '${channelsModule}';
const { redis: r, job, token } = workerData;
const redis = new Redis(r.target.url);
await createRedisStore({ redis, cap: r.cap, prefix: r.prefix, channels: channels(r.prefix, r.partitions) }).beginJobRun(job.name, { token, ttlMs: 600000, slot: null }, Date.now());
setInterval(() => {}, 1000);
`,
    );
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const t = useTestApp(backend, { clock: 'real', scheduler: { jobsDir: dir } });

    it('a worker that dies is recorded as failed; the server keeps serving', async () => {
      const job = (await t().run(RunJobMutation, { name: 'work-end-reminder' }, ADMIN)).data!.runJob;
      expect(job.lastStatus).toBe('failed: kaboom at load');
      expect((await t().run(MeQuery, {}, asUser('lou'))).data!.me.id).toBe('lou');
    });

    it('stop() waits a bounded time for running workers, then terminates them and frees their locks', async () => {
      const s = t().scheduler!;
      const { newRedis } = await import('./helpers/redis.js');
      const r = newRedis();
      const lock = schedulerKeys(t().prefix).job('prune-expired').lock;
      const running = t().run(RunJobMutation, { name: 'prune-expired' }, ADMIN);
      // Observe the worker's own claim (read only: a probe that took the lock would make it 'busy').
      await until(async () => (await r.get(lock)) !== null);
      expect(s.running()).toEqual(['prune-expired']);
      const started = Date.now();
      await s.stop(300);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(s.running()).toEqual([]);
      expect((await running).data!.runJob.lastStatus).toBe('failed: interrupted by shutdown');
      expect(await r.get(lock)).toBeNull();
      expect(await t().store.beginJobRun('prune-expired', { token: 'after', ttlMs: 1000, slot: null }, Date.now())).toBe('started');
      await r.quit();
    });
  });

  describe('runs in process and shutdown', () => {
    const t = useTestApp(backend, { clock: 'real', scheduler: {} });

    it('stop() waits a bounded time for a run on the main thread, then records it interrupted and frees its lock', async () => {
      const s = t().scheduler!;
      // deliver-scheduled runs in process on both backends: make its delivery hang
      let inside: () => void = () => {};
      const entered = new Promise<void>((resolve) => (inside = resolve));
      t().store.claimScheduled = () => (inside(), new Promise(() => {}));
      const running = t().run(RunJobMutation, { name: 'deliver-scheduled' }, ADMIN);
      await entered;
      expect(s.running()).toEqual(['deliver-scheduled']);
      expect(await t().store.beginJobRun('deliver-scheduled', { token: 'probe', ttlMs: 1, slot: null }, Date.now())).toBe('busy');
      const started = Date.now();
      await s.stop(300);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(s.running()).toEqual([]);
      expect((await running).data!.runJob.lastStatus).toBe('failed: interrupted by shutdown');
      expect(await t().store.beginJobRun('deliver-scheduled', { token: 'after', ttlMs: 1000, slot: null }, Date.now())).toBe('started');
    });
  });

  describe('dashboard-push', () => {
    const t = useTestApp(backend, { clock: 'real', scheduler: {} });

    it('publishes the dashboard on the dashboard topic only while someone listens', async () => {
      const s = t().scheduler!;
      const idle = nextRun(s, (e) => e.job === 'dashboard-push');
      expect((await s.run('dashboard-push')).lastStatus).toBe('ok');
      expect((await idle).summary).toBe('refresh published (dashboard topic: no listeners)');

      const { ws } = await t().listen();
      const feed = subscribe(wsClient(ws, await t().token('root', ['admin'])).client, TopicSubscription, { names: ['dashboard'] });
      await until(async () => (await s.run('dashboard-push'), true) && feed.results.length > 0, 20_000);
      const [ev] = await feed.waitFor(1);
      expect(ev!.data!.topic.topic).toBe('dashboard');
      expect(ev!.data!.topic.payload).toMatchObject({ notifications: { activeUsers: expect.any(Number) }, generatedAt: expect.any(Number) });
    });

    it('drives dashboardUpdated on every instance: a run on one pushes to the listeners of another', async () => {
      const { ws } = await t(1).listen();
      const feed = subscribe(wsClient(ws, await t(1).token('root', ['admin'])).client, DashboardUpdatedSubscription, {});
      await feed.waitFor(1); // the dashboard as it is
      expect((await t(0).scheduler!.run('dashboard-push')).lastStatus).toBe('ok');
      const [, pushed] = await feed.waitFor(2);
      expect(pushed!.data!.dashboardUpdated.generatedAt).toEqual(expect.any(String));
    });
  });
});

/** Makes the next broadcasts fail; returns how to undo it. */
async function breakBroadcasts(t: TestApp, backend: string): Promise<() => Promise<void>> {
  if (backend === 'memory') {
    const original = t.store.broadcast;
    t.store.broadcast = async () => {
      throw new Error('broadcasts are broken');
    };
    return async () => {
      t.store.broadcast = original;
    };
  }
  const { newRedis } = await import('./helpers/redis.js');
  const redis = newRedis();
  const key = `${t.prefix}{g}:bdedup`;
  await redis.set(key, 'not a sorted set');
  return async () => {
    await redis.del(key);
    await redis.quit();
  };
}
