/**
 * Bree job `work-end-reminder`: the daily work-end reminder: a saveOffline broadcast, once per user per local date.
 * A thin shell run in a worker thread; the job itself is in src/scheduler/jobs.ts (docs/jobs.md).
 */
import { runJobWorker } from '../src/scheduler/worker.js';

await runJobWorker('work-end-reminder');
