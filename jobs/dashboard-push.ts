/**
 * Bree job `dashboard-push`: every 5 s, while anyone listens, publishes the dashboard.
 * A thin shell run in a worker thread; the job itself is in src/scheduler/jobs.ts (docs/jobs.md).
 */
import { runJobWorker } from '../src/scheduler/worker.js';

await runJobWorker('dashboard-push');
