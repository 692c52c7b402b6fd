// Entry of every TypeScript job's worker thread (scheduler.ts createWorker). Node 20 refuses
// to start a Worker on a .ts file even with `--import tsx` (ERR_UNKNOWN_FILE_EXTENSION,
// nodejs/node#47747), so the worker starts here, registers tsx's ESM loader for this thread,
// then imports the job file. Same under `npm start`, vitest and a deployment (tsx is a
// runtime dependency); see docs/jobs.md.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';

// First of all, yield the CPU to the main thread: starting a worker (loader, modules) is the
// costliest part of most runs, and on a small machine it would compete with the requests the
// main thread serves. Linux keeps a nice value per thread, inherited by threads started from
// this one (tsx's loader thread); elsewhere this is skipped (src/scheduler/worker.ts niceThread).
try {
  if (workerData.niceness) setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.niceness);
} catch {
  // not Linux, or not allowed: run at normal priority
}

const { register } = await import('tsx/esm/api');
register();
await import(workerData.tsJobUrl);
