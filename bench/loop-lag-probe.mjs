// Loaded into the server process under test with `node --import` (bench/soak.ts): measures the
// event loop's delay there with monitorEventLoopDelay and writes it to LOOP_LAG_FILE every
// second, as JSON {p50, p99, max, mean} in ms since the last reset. Touching LOOP_LAG_RESET
// (a file) resets the histogram. Nothing of this is part of the server.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.LOOP_LAG_FILE;
const reset = process.env.LOOP_LAG_RESET;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  setInterval(() => {
    if (reset && existsSync(reset)) {
      rmSync(reset, { force: true });
      h.reset();
    }
    writeFileSync(out, JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), samples: h.count }));
  }, 1000).unref();
}
