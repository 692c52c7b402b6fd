/**
 * Scenario `reminder`: does the server keep serving while the work-end reminder goes out?
 * The p99 latency of `notifications(first: 20)` while the `work-end-reminder` job runs, against
 * the same p99 with no job running.
 *
 *   npm run bench -- reminder [--users 100000] [--runs 5] [--concurrency 16] [--baseline-seconds 10]
 *
 * Server: its own process, started as `npm start` does (dist/) on the bench Redis with the
 * scheduler on, so the job runs in a Bree worker thread with its own Redis connection, exactly
 * as deployed. Load: a separate process (bench/reminder-load.ts) keeping `concurrency`
 * keep-alive queries in flight, as users whose inbox the reminder reaches. The job is started
 * with the `runJob` mutation (the manual trigger); before each run the day's dedup mark is
 * removed so every run really broadcasts to all N users.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { NotificationService } from '../src/notifications/service.js';
import { keySpace } from '../src/store/redis/keys.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import type { ReminderLoadSpec, ReminderSamples } from './reminder-load.js';
import { int, intOption, ms, perSecond, pool, section, seconds, type Scenario } from './scenario.js';
import { startServer } from './server-process.js';

const CAP = 50;
const SEED_IN_FLIGHT = 2000;
const WARM_UP_MS = 3000;
/** quiet time around each run, so windows never touch and the server settles */
const GAP_MS = 1500;
const TARGET_RATIO = 2;
const QUERY = /* GraphQL */ `query Inbox { notifications(first: 20) { totalCount unreadCount edges { node { id type title createdAt read } } } }`;
const RUN_JOB = /* GraphQL */ `mutation { runJob(name: "work-end-reminder") { lastRunAt lastStatus } }`;

const userId = (i: number) => `u${i}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function stats(latencies: number[], spanMs: number) {
  const sorted = Float64Array.from(latencies).sort();
  return { n: sorted.length, perSecond: (sorted.length * 1000) / spanMs, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: sorted.at(-1) ?? NaN };
}

export const reminderScenario: Scenario = {
  name: 'reminder',
  summary: 'p99 of notifications(first: 20) while the work-end reminder job runs (worker thread) vs no job running',
  options: {
    users: { type: 'int', default: 100_000, description: 'active users the reminder goes to (N)' },
    runs: { type: 'int', default: 5, description: 'reminder runs measured (each a real broadcast to N users)' },
    concurrency: { type: 'int', default: 16, description: 'queries kept in flight by the load process' },
    'baseline-seconds': { type: 'int', default: 10, description: 'seconds of load with no job running' },
    'query-users': { type: 'int', default: 2000, description: 'users the load queries as (each with 20 own notifications)' },
  },

  async run({ redis: bench, options }) {
    const n = intOption(options, 'users', 100_000);
    const runs = intOption(options, 'runs', 5);
    const concurrency = intOption(options, 'concurrency', 16);
    const baselineMs = intOption(options, 'baseline-seconds', 10) * 1000;
    const queryUsers = Math.min(n, intOption(options, 'query-users', 2000));
    const redis = await bench.connect();
    const prefix = `${bench.prefix}ntf:`;
    const store = createRedisStore({ redis, cap: CAP, prefix, channels: channelNames(prefix) });
    const service = new NotificationService(store);

    // ---- 1. N active users; the ones the load queries as get a page of their own
    let t0 = performance.now();
    const seedNow = Date.now();
    await pool(n, SEED_IN_FLIGHT, (i) => store.upsertUser(userId(i), { displayName: `User ${i}` }, seedNow));
    const queried = Array.from({ length: queryUsers }, (_, i) => userId(Math.floor((i * n) / queryUsers)));
    for (let k = 0; k < 20; k++) {
      for (let i = 0; i < queried.length; i += 1000) {
        await service.send({ userIds: queried.slice(i, i + 1000), type: 'task_assigned', title: `Task ${k + 1}`, body: 'something to do' });
      }
    }
    const seedS = (performance.now() - t0) / 1000;
    const active = await store.countActiveUsers();

    // ---- 2. the server, as deployed: its own process, scheduler on (the reminder's own cron far away)
    const server = await startServer(bench, bench.prefix, { SCHEDULER_ENABLED: 'true', WORK_END_CRON: '0 0 29 2 *', LOG_LEVEL: 'warn' });
    const load = fork(fileURLToPath(new URL('./reminder-load.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    try {
      const admin = await server.token('bench-admin', ['admin']);
      const tokens = await Promise.all(queried.map((u) => server.token(u)));
      section(`1. setup`, [
        ['active users (N)', `${int(active)}  (seeded in ${seconds(seedS)}, incl. 20 own notifications for each of ${int(queryUsers)} query users)`],
        ['server', `dist/src/main.js in its own process (pid ${server.pid}), REDIS_URL, scheduler on; key prefix ${prefix}`],
        ['load', `separate process: ${concurrency} keep-alive connections, notifications(first: 20) as ${int(queryUsers)} users in turn`],
        ['job', 'work-end-reminder via runJob (Bree worker thread, own Redis connection), dedup mark cleared before each run'],
      ]);

      const samples = new Promise<ReminderSamples>((resolve) => load.on('message', (m: { samples: ReminderSamples }) => resolve(m.samples)));
      load.send({ start: { url: server.http, tokens, concurrency, body: JSON.stringify({ query: QUERY }) } satisfies ReminderLoadSpec });

      // ---- 3. warm-up, then a baseline with no job running
      await sleep(WARM_UP_MS);
      const baseline = { from: Date.now(), to: 0 };
      await sleep(baselineMs);
      baseline.to = Date.now();

      // ---- 4. the reminder, `runs` times
      const bdedup = keySpace(prefix).global.bdedup;
      const windows: { from: number; to: number; status: string | null }[] = [];
      for (let r = 0; r < runs; r++) {
        const marks = (await redis.zrange(bdedup, '0', '-1')).filter((k) => k.startsWith('work-end:'));
        if (marks.length) await redis.zrem(bdedup, ...marks);
        await sleep(GAP_MS);
        const from = Date.now();
        const res = await fetch(server.http, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
          body: JSON.stringify({ query: RUN_JOB }),
        });
        const body = (await res.json()) as { data?: { runJob: { lastStatus: string | null } }; errors?: unknown };
        windows.push({ from, to: Date.now(), status: body.data?.runJob.lastStatus ?? JSON.stringify(body.errors) });
      }
      await sleep(GAP_MS);
      load.send('stop');
      const s = await samples;

      // ---- 5. split the answers by what the server was doing when they were in flight
      const base: number[] = [];
      const during: number[] = [];
      for (let i = 0; i < s.startedAt.length; i++) {
        const start = s.startedAt[i]!;
        const end = start + s.latencyMs[i]!;
        if (start >= baseline.from && end <= baseline.to) base.push(s.latencyMs[i]!);
        else if (windows.some((w) => start < w.to && end > w.from)) during.push(s.latencyMs[i]!);
      }
      const jobMs = windows.reduce((a, w) => a + (w.to - w.from), 0);
      const b = stats(base, baseline.to - baseline.from);
      const d = stats(during, jobMs);
      const reminders = (await store.list(userId(n - 1), { first: CAP }, Date.now())).items.filter((x) => x.type === 'work_end_reminder').length;

      section(`2. no job running (${seconds(baselineMs / 1000)} after ${seconds(WARM_UP_MS / 1000)} warm-up)`, [
        ['answers', `${int(b.n)}  (${perSecond(b.perSecond)})`],
        ['p50 / p99 / max', `${ms(b.p50)} / ${ms(b.p99)} / ${ms(b.max)}`],
      ]);
      section(`3. while work-end-reminder runs (${runs} runs, each a saveOffline broadcast to ${int(active)} users)`, [
        ...windows.map((w, i): [string, string] => [`run ${i + 1}`, `${ms(w.to - w.from)} from runJob sent to answered (worker start, lock, broadcast, status)  lastStatus ${w.status}`]),
        ['answers in flight during a run', `${int(d.n)}  (${perSecond(d.perSecond)})`],
        ['p50 / p99 / max', `${ms(d.p50)} / ${ms(d.p99)} / ${ms(d.max)}`],
        ['reminders in a never-queried inbox', `${reminders} (user ${userId(n - 1)}; one per run)`],
        ['failed answers (whole run)', `${s.failed}${s.failure ? `  first: ${s.failure}` : ''}`],
      ]);
      const ratio = d.p99 / b.p99;
      section('summary (figures vs target)', [
        ['p99 no job', ms(b.p99)],
        ['p99 during reminder', ms(d.p99)],
        ['ratio', `${ratio.toFixed(2)}x  target <= ${TARGET_RATIO}x  ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}`],
      ]);
    } finally {
      if (load.exitCode === null) load.kill();
      await server.stop();
    }
  },
};
