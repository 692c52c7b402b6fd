/**
 * HTTP load generator, run as its own process (so it does not share the server's event loop):
 *
 *   node --import tsx bench/http-load.ts '<json LoadSpec>'   -> prints one JSON LoadResult line
 *
 * `concurrency` keep-alive connections, each sending the same POST as soon as the previous
 * answer arrived, for `seconds`. A response counts as ok when it is HTTP 200 without
 * `"errors"` in the body. Also usable in-process through {@link runLoad}.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  concurrency: number;
  seconds: number;
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** first failed body, for the report */
  failure: string | null;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const body = Buffer.from(spec.body);
  const headers = { ...spec.headers, 'content-type': 'application/json', 'content-length': String(body.length) };
  let latencies = new Float64Array(1 << 16);
  let ok = 0;
  let failed = 0;
  let failure: string | null = null;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode === 200 && !text.includes('"errors"')) {
            if (ok === latencies.length) {
              const bigger = new Float64Array(latencies.length * 2);
              bigger.set(latencies);
              latencies = bigger;
            }
            latencies[ok++] = performance.now() - t0;
          } else {
            failed++;
            failure ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
          }
          resolve();
        });
      });
      req.on('error', (err) => {
        failed++;
        failure ??= err.message;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now();
  const end = start + spec.seconds * 1000;
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = latencies.subarray(0, ok).sort();
  const pct = (p: number) => (ok === 0 ? NaN : sorted[Math.min(ok - 1, Math.floor(ok * p))]!);
  return { ok, failed, failure, seconds, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
