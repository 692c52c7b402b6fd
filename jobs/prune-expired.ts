/**
 * Bree job `prune-expired`: drops what has expired for users who never come back, so memory returns to baseline.
 * A thin shell run in a worker thread; the job itself is in src/scheduler/jobs.ts (docs/jobs.md).
 */
import { runJobWorker } from '../src/scheduler/worker.js';

await runJobWorker('prune-expired');
