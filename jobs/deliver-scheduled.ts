/**
 * Bree job `deliver-scheduled`: delivers sendNotification calls whose sendAt is due (checks every second).
 * A thin shell run in a worker thread; the job itself is in src/scheduler/jobs.ts (docs/jobs.md).
 */
import { runJobWorker } from '../src/scheduler/worker.js';

await runJobWorker('deliver-scheduled');
