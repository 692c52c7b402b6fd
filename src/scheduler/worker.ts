/**
 * The inside of a job's worker thread: jobs/NAME.ts only calls {@link runJobWorker}.
 *
 * One worker, one run: it opens its own Redis connection, runs the job there, posts the
 * result and 'done' (Bree then ends the thread). It never asks the main thread for anything.
 * Bree's 'cancel' (shutdown) is not answered: the run in hand finishes, bounded by the
 * scheduler's stop timeout.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { connectRedis } from '../store/redis/connect.js';
import { createRedisStore } from '../store/redis/redis-store.js';
import { channels as channelNames } from '../realtime/channels.js';
import { createRedisDeliveryStore } from '../store/redis/redis-delivery-store.js';
import { jobDefinitions, runOnce, type JobName } from './jobs.js';
import { jobOps, NO_DASHBOARD } from './job-ops.js';
import type { JobWorkerData, RunReport } from './protocol.js';

export async function runJobWorker(name: JobName): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error(`jobs/${name} runs in a worker thread started by the scheduler (src/scheduler)`);
  const data = workerData as JobWorkerData;
  niceThread(data.niceness);
  const clock = () => Date.now() + data.clockOffsetMs;
  const def = jobDefinitions(data.settings).find((d) => d.name === name);
  if (!def) throw new Error(`no job named ${name} in src/scheduler/jobs.ts`);

  const { target, cap, prefix, partitions, waitReplicas } = data.redis;
  const redis = connectRedis(target, { role: 'job', name: `job:${name}` });
  redis.on('error', () => {}); // commands fail with the error; the run records it
  try {
    const store = createRedisStore({ redis, cap, prefix, channels: channelNames(prefix, partitions), waitReplicas });
    const deliveries = createRedisDeliveryStore({ redis, prefix, partitions, waitReplicas });
    const ops = jobOps({ store, deliveries, clock, dashboard: NO_DASHBOARD });
    const result = await runOnce(def, ops, { slot: data.slot, token: data.token, clock, instance: data.instance });
    port.postMessage({ kind: 'result', ...result } satisfies RunReport);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  port.postMessage('done');
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
