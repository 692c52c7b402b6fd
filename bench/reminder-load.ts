/**
 * Load generator of the `reminder` scenario, forked as its own process (bench/reminder.ts) so
 * it never shares the server's event loop or the bench's.
 *
 * `concurrency` keep-alive connections, each POSTing `notifications(first: 20)` as soon as the
 * previous answer arrived, with the users' tokens taken in turn. Every answer is kept as
 * (start, latency) on the epoch clock, so the parent can split them by what the server was
 * doing at the time. Messages: parent -> {start: LoadSpec}, 'stop'; child -> {samples}.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ReminderLoadSpec {
  url: string;
  tokens: string[];
  concurrency: number;
  body: string;
}

export interface ReminderSamples {
  /** epoch ms each request was sent */
  startedAt: number[];
  latencyMs: number[];
  failed: number;
  failure: string | null;
}

function run(spec: ReminderLoadSpec, stopped: () => boolean): Promise<ReminderSamples> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const body = Buffer.from(spec.body);
  const out: ReminderSamples = { startedAt: [], latencyMs: [], failed: 0, failure: null };
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const token = spec.tokens[next++ % spec.tokens.length]!;
      const sentAt = Date.now();
      const t0 = performance.now();
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': String(body.length), authorization: `Bearer ${token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode === 200 && !text.includes('"errors"')) {
              out.startedAt.push(sentAt);
              out.latencyMs.push(performance.now() - t0);
            } else {
              out.failed++;
              out.failure ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        out.failed++;
        out.failure ??= err.message;
        resolve();
      });
      req.end(body);
    });
  return Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (!stopped()) await one();
    }),
  ).then(() => {
    agent.destroy();
    return out;
  });
}

if (process.send) {
  let stop = false;
  let result: Promise<ReminderSamples> | null = null;
  process.on('message', (m: unknown) => {
    if (m === 'stop') {
      stop = true;
      void result?.then((samples) => process.send!({ samples }, () => process.exit(0)));
    } else if (typeof m === 'object' && m !== null && 'start' in m) {
      result = run((m as { start: ReminderLoadSpec }).start, () => stop);
    }
  });
}
