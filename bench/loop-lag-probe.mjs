// Loaded into the server process under test with `node --import` (bench/soak.ts): measures the
// event loop's delay there with monitorEventLoopDelay and writes it to LOOP_LAG_FILE every
// second, as JSON {p50, p99, max, mean} in ms since the last reset, with the process's memory
// by kind (MB), so RSS growth can be told apart: JS heap, external, array buffers, the rest
// native. Touching LOOP_LAG_RESET (a file) resets the histogram; touching HEAP_SNAPSHOT (a file
// path) writes a heap snapshot beside it. Nothing of this is part of the server.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';

const out = process.env.LOOP_LAG_FILE;
const reset = process.env.LOOP_LAG_RESET;
if (out) {
  // The live heap: what is left right after a full (mark-compact) collection. RSS follows the
  // heap's committed size, which swings with the collection cycle; this does not.
  let liveAfterGc = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) liveAfterGc = process.memoryUsage().heapUsed;
    }
  }).observe({ entryTypes: ['gc'] });
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  setInterval(() => {
    if (reset && existsSync(reset)) {
      rmSync(reset, { force: true });
      h.reset();
    }
    const snap = process.env.HEAP_SNAPSHOT;
    if (snap && existsSync(snap)) {
      rmSync(snap, { force: true });
      writeHeapSnapshot(`${snap}.${Date.now()}.heapsnapshot`);
    }
    const m = process.memoryUsage();
    const mb = (b) => Math.round(b / 2 ** 20);
    const memory = { rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), liveAfterGc: mb(liveAfterGc) };
    writeFileSync(out, JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), samples: h.count, memory }));
  }, 1000).unref();
}
