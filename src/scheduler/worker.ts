/**
 * The inside of a job's worker thread: jobs/NAME.ts only calls {@link runJobWorker}.
 *
 * On Redis the worker opens its own connection and does the work here, so the main thread
 * keeps serving; only the dashboard push asks the main thread (the dashboard is computed
 * there, from its caches). On the memory backend every operation goes to the main thread,
 * where the state is. Bree's protocol: 'done' when finished, 'cancel' in, 'cancelled' out.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { createRedisStore } from '../store/redis/redis-store.js';
import { channels as channelNames } from '../realtime/channels.js';
import { createRedisDeliveryStore } from '../store/redis/redis-delivery-store.js';
import { jobDefinitions, runOnce, type JobName, type JobOps } from './jobs.js';
import { localJobOps, redisDashboardListeners } from './local-ops.js';
import { isRunNow, remoteJobOps, type JobWorkerData, type RunReport } from './protocol.js';
import { nextRun } from './cron.js';

/** Shortest pause between two runs of a loop, so a failing backend can't make it spin. */
const MIN_LOOP_GAP_MS = 100;

export async function runJobWorker(name: JobName): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error(`jobs/${name} runs in a worker thread started by the scheduler (src/scheduler)`);
  const data = workerData as JobWorkerData;
  niceThread(data.niceness);
  const clock = () => Date.now() + data.clockOffsetMs;
  const def = jobDefinitions(data.settings).find((d) => d.name === name);
  if (!def) throw new Error(`no job named ${name} in src/scheduler/jobs.ts`);

  // Bree's cancel, and manual runs for a running loop.
  let cancelled = false;
  let wake: () => void = () => {};
  const manual: number[] = [];
  port.on('message', (m: unknown) => {
    if (m === 'cancel') cancelled = true;
    else if (isRunNow(m)) manual.push(m.runId);
    else return;
    wake();
  });

  const remote = remoteJobOps(port);
  let ops: JobOps = remote;
  let close = async () => {};
  if (data.backend.kind === 'redis') {
    const redis = new Redis(data.backend.url, { maxRetriesPerRequest: 3, connectionName: `notifications:job:${name}` });
    redis.on('error', () => {}); // commands fail with the error; the run records it
    const store = createRedisStore({ redis, cap: data.backend.cap, prefix: data.backend.prefix, channels: channelNames(data.backend.prefix) });
    const channels = data.dashboardChannels;
    // Who listens is asked here; the dashboard itself is computed where its caches are.
    const listeners = async () => (channels ? redisDashboardListeners(redis, channels) : { updated: 0, topic: 0 });
    const deliveries = createRedisDeliveryStore({ redis, prefix: data.backend.prefix });
    ops = localJobOps({ store, deliveries, clock, dashboard: { listeners, publish: (to) => remote.publishDashboard(to) } });
    close = async () => {
      await redis.quit().catch(() => redis.disconnect());
    };
  }

  const report = (runId: number | null, slot: number | null, r: Awaited<ReturnType<typeof runOnce>>) =>
    port.postMessage({ kind: 'result', runId, slot, ...r } satisfies RunReport);
  const run = async (slot: number | null, runId: number | null) => report(runId, slot, await runOnce(def, ops, { slot, token: data.run.token, clock }));

  try {
    if (data.run.mode === 'once' || !def.loop) {
      await run(data.run.slot, data.run.runId);
    } else {
      const until = clock() + data.run.lifetimeMs;
      let last = 0;
      while (!cancelled && clock() < until) {
        const now = clock();
        const tick = nextRun(def.schedule, now) ?? now + 60_000;
        let at = tick;
        let slot: number | null = tick;
        const extra = def.loop.wakeAt ? await def.loop.wakeAt(ops).catch(() => null) : null;
        if (extra !== null && extra < tick) {
          at = Math.max(extra, last + MIN_LOOP_GAP_MS);
          slot = null;
        }
        if (manual.length === 0) await sleep(Math.max(0, at - clock()), (w) => (wake = w));
        if (cancelled) break;
        last = clock();
        if (manual.length > 0) {
          for (const runId of manual.splice(0)) await run(null, runId);
        } else if (clock() >= at - 5) {
          await run(slot, null);
        }
      }
      // A manual run that arrived as we stopped is still answered.
      for (const runId of manual.splice(0)) await run(null, runId);
    }
  } finally {
    await close();
  }
  port.postMessage(cancelled ? 'cancelled' : 'done');
  // Nothing may keep this thread alive now: Bree terminates it on 'done', but on 'cancelled' it
  // only does if that is the first message after its 'cancel' (a relayed call may come first).
  port.removeAllListeners('message');
}

/**
 * Lowers this thread's CPU priority (Linux keeps a nice value per thread; /proc/thread-self
 * names it), so a job never competes on equal terms with the main thread's requests.
 * ts-worker.mjs does the same before loading anything; this covers compiled (.js) job files.
 */
function niceThread(niceness: number) {
  if (!niceness) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (getPriority(tid) < niceness) setPriority(tid, niceness);
  } catch {
    // not Linux, or not allowed: normal priority
  }
}

/** Waits `ms`, or less when `onWake`'s function is called. */
function sleep(ms: number, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      onWake(() => {});
      resolve();
    }
    onWake(done);
  });
}
