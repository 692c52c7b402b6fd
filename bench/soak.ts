/**
 * `npm run bench -- soak`: a steady soak. N WebSocket clients (each its own user, on the `inbox`
 * stream) stay connected for the run while 1 % of them reconnect every second (resuming with
 * `after` their last notification) and a steady rate of sends goes to random users over HTTP.
 *
 * Figures: the server's RSS at the start of the steady state (after a warm-up under the same
 * load, `--warmup`) and at its end (the promise: within 10 %), its open file descriptors before the clients come and after they leave (back to the
 * start), its event-loop delay p99 over the steady state (under 50 ms), measured inside the
 * server by a probe loaded with `node --import` (bench/loop-lag-probe.mjs; nothing in the
 * server), and whether every notification reached its user exactly once.
 *
 * Sizes and duration are options, so it can run short: `-- soak --connections 500 --seconds 20`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect, connectMany, pacedSends, percentile, type LoadSocket } from './ws-load.js';
import { int, intOption, ms, section, type Scenario } from './scenario.js';
import { closeHttpConnections, gql, startServer } from './server-process.js';

const INBOX = 'subscription($after: String){ inbox(after: $after) { notification { id } unreadCount replayComplete } }';
const PAGE = 'query{ notifications(first: 50) { edges { node { id } } } }';
const SEND = 'mutation($u:ID!, $t:String!){ sendNotification(input:{userIds:[$u], type:"task_assigned", title:$t, body:""}){ notifications { id } } }';
const PROBE = fileURLToPath(new URL('./loop-lag-probe.mjs', import.meta.url));

interface Lag {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
  memory?: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; liveAfterGc: number };
}

export const soakScenario: Scenario = {
  name: 'soak',
  summary: 'N clients for a while, 1 %/s reconnecting, steady sends: RSS drift, file descriptors, event-loop lag, exactly-once',
  options: {
    connections: { type: 'int', description: 'WebSocket clients (each its own user, on the inbox stream)', default: 10000 },
    seconds: { type: 'int', description: 'length of the steady state', default: 600 },
    'sends-per-sec': { type: 'int', description: 'sendNotification calls per second, each to a random user', default: 500 },
    'reconnects-per-sec': { type: 'int', description: 'clients that close and resume with after, per second (default: 1 % of connections)' },
    'sample-every': { type: 'int', description: 'seconds between progress lines', default: 30 },
    warmup: { type: 'int', description: 'seconds of load before the start figures are taken (heap and caches grow to their working size first)', default: 60 },
  },
  async run({ redis, options }) {
    const n = intOption(options, 'connections', 10000);
    const seconds = intOption(options, 'seconds', 600);
    const sendRate = intOption(options, 'sends-per-sec', 500);
    const reconnectRate = intOption(options, 'reconnects-per-sec', Math.max(1, Math.round(n / 100)));
    const sampleEvery = intOption(options, 'sample-every', 30);
    const warmupS = intOption(options, 'warmup', 60);
    const dir = mkdtempSync(join(tmpdir(), 'soak-'));
    const lagFile = join(dir, 'lag.json');
    const lagReset = join(dir, 'reset');
    const server = await startServer(
      redis,
      redis.prefix,
      // the default cap (50) holds what a user gets here (sends/s * s / users), so resumes are exact
      { LOOP_LAG_FILE: lagFile, LOOP_LAG_RESET: lagReset },
      { nodeArgs: ['--import', PROBE] },
    );
    const readLag = (): Lag => JSON.parse(readFileSync(lagFile, 'utf8')) as Lag;
    const resetLag = async () => {
      writeFileSync(lagReset, '');
      const t = performance.now();
      while (existsSync(lagReset) && performance.now() - t < 5000) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      const svc = await server.token('bench', ['service']);
      // Warm up (code paths, scripts), then the baseline with no client connected.
      const warm = await connectMany(20, server.ws, (i) => server.token(`warm${i}`));
      for (const s of warm) s.subscribe(INBOX, {}, () => {});
      for (let i = 0; i < 20; i++) await gql(server.http, svc, SEND, { u: `warm${i}`, t: 'warm' });
      for (const s of warm) s.close();
      await new Promise((r) => setTimeout(r, 2000));
      const fdsBefore = server.openFds();
      const rssBefore = server.rssBytes();

      // The clients: user soak<i> on socket i; what each received, to check exactly-once.
      const tokens = await Promise.all(Array.from({ length: n }, (_, i) => server.token(`soak${i}`)));
      const received: Map<string, number>[] = Array.from({ length: n }, () => new Map());
      const last: (string | null)[] = new Array(n).fill(null);
      let incomplete = 0;
      let streamErrors = 0;
      const attach = (i: number, sock: LoadSocket) => {
        // A client without a cursor loads page 1 once its stream is attached (docs/api.md).
        let loadPage = last[i] === null;
        sock.subscribe(INBOX, { after: last[i] }, (p) => {
          const ev = p?.data?.inbox;
          if (!ev) return void streamErrors++;
          if (loadPage) {
            loadPage = false;
            void sock.request(PAGE, {}).then((r) => {
              for (const e of r?.data?.notifications?.edges ?? []) {
                const id = e.node.id as string;
                if (!received[i]!.has(id)) received[i]!.set(id, 1);
                if (last[i] === null || id > last[i]!) last[i] = id;
              }
            });
          }
          if (ev.replayComplete === false) incomplete++;
          const id = ev.notification?.id as string | undefined;
          if (!id) return;
          received[i]!.set(id, (received[i]!.get(id) ?? 0) + 1);
          if (last[i] === null || id > last[i]!) last[i] = id;
        });
      };
      const t0 = performance.now();
      const sockets = await connectMany(n, server.ws, (i) => tokens[i]!, 200);
      sockets.forEach((s, i) => attach(i, s));
      const connectS = (performance.now() - t0) / 1000;
      // Let the attaches settle before the steady state starts.
      await new Promise((r) => setTimeout(r, 5000));

      // Steady state: paced sends, reconnects every second, a sample every few seconds.
      const sent = new Map<number, string[]>();
      const sendLatencies: number[] = [];
      let sendErrors = 0;
      const errorKinds = new Map<string, number>();
      let reconnects = 0;
      let reconnectErrors = 0;
      let stopping = false;
      const reconnecting = (async () => {
        let next = 0;
        while (!stopping) {
          const tick = performance.now();
          const batch = Array.from({ length: reconnectRate }, () => (next++ * 7919) % n);
          await Promise.all(
            batch.map(async (i) => {
              sockets[i]!.close();
              try {
                sockets[i] = await connect(server.ws, tokens[i]!);
                attach(i, sockets[i]!);
                reconnects++;
              } catch {
                reconnectErrors++;
              }
            }),
          );
          const wait = 1000 - (performance.now() - tick);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      })();
      // The start figures are taken after the warm-up, under the same load.
      let rssStart = 0;
      let fdsSteady = 0;
      // RSS every second of the steady state: a single reading lands anywhere on the heap's
      // collection cycle (it swings by a third here), so start and end are also compared as the
      // peak of their first and last minute, beside the live heap after full collections.
      const rssSamples: number[] = [];
      let rssSampler: NodeJS.Timeout | undefined;
      let liveStart = 0;
      const warmedUp = new Promise<void>((resolve) =>
        setTimeout(() => {
          void resetLag().then(() => {
            rssStart = server.rssBytes();
            liveStart = readLag().memory?.liveAfterGc ?? 0;
            rssSampler = setInterval(() => rssSamples.push(server.rssBytes()), 1000);
            fdsSteady = server.openFds();
            console.log(`  warm-up done: rss ${(rssStart / 2 ** 20).toFixed(1)} MB, fds ${fdsSteady}; the steady state starts`);
            resolve();
          });
        }, warmupS * 1000),
      );
      const rows: string[] = [];
      const sampler = setInterval(() => {
        const lag = readLag();
        const sorted = [...sendLatencies].sort((a, b) => a - b);
        rows.push(
          `  t=${int((performance.now() - steadyAt) / 1000 - warmupS).padStart(4)} s  rss ${(server.rssBytes() / 2 ** 20).toFixed(1)} MB  fds ${server.openFds()}  ` +
            `(heap ${lag.memory?.heapUsed}/${lag.memory?.heapTotal} MB, live after the last full GC ${lag.memory?.liveAfterGc} MB, external ${lag.memory?.external} MB, buffers ${lag.memory?.arrayBuffers} MB)  ` +
            `loop p99 ${ms(lag.p99)} max ${ms(lag.max)}  sends ${int(sendLatencies.length)} (p99 ${ms(percentile(sorted, 99))}, errors ${sendErrors})  reconnects ${int(reconnects)}`,
        );
        console.log(rows.at(-1));
      }, sampleEvery * 1000);
      const steadyAt = performance.now();
      const inFlight: Promise<unknown>[] = [];
      await pacedSends(sendRate, sendRate * (seconds + warmupS), (k) => {
        const u = (k * 104729) % n;
        const started = performance.now();
        const p = gql(server.http, svc, SEND, { u: `soak${u}`, t: `s${k}` }).then(
          (d: any) => {
            sendLatencies.push(performance.now() - started);
            const id = d.sendNotification.notifications[0]?.id as string | undefined;
            if (!id) return;
            const list = sent.get(u) ?? [];
            list.push(id);
            sent.set(u, list);
          },
          (err: Error) => {
            sendErrors++;
            const kind = /"code":"([A-Z_]+)"/.exec(err.message)?.[1] ?? err.message.slice(0, 60);
            errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
          },
        );
        inFlight.push(p);
        if (inFlight.length > 5000) inFlight.splice(0, 2500);
      });
      await Promise.all(inFlight);
      await warmedUp;
      stopping = true;
      await reconnecting;
      clearInterval(sampler);
      clearInterval(rssSampler);
      const steadyS = (performance.now() - steadyAt) / 1000 - warmupS;
      const lag = readLag();
      const rssEnd = server.rssBytes();
      const liveEnd = lag.memory?.liveAfterGc ?? 0;
      const window = Math.min(60, Math.floor(rssSamples.length / 2));
      const peakFirst = Math.max(...rssSamples.slice(0, window));
      const peakLast = Math.max(...rssSamples.slice(-window));
      // Deliveries still queued drain (until nothing is missing, or nothing arrived for 10 s),
      // then exactly-once is checked per user.
      const tally = () => {
        let missing = 0;
        let duplicated = 0;
        for (const [u, ids] of sent) {
          for (const id of ids) {
            const c = received[u]!.get(id) ?? 0;
            if (c === 0) missing++;
            else if (c > 1) duplicated++;
          }
        }
        return { missing, duplicated };
      };
      const drainAt = performance.now();
      let { missing, duplicated } = tally();
      for (let lastChange = performance.now(), prev = missing; missing > 0 && performance.now() - lastChange < 10_000; ) {
        await new Promise((r) => setTimeout(r, 500));
        ({ missing, duplicated } = tally());
        if (missing !== prev) [prev, lastChange] = [missing, performance.now()];
      }
      const drainS = (performance.now() - drainAt) / 1000;

      // The clients leave; descriptors go back to where they were.
      // The clients leave: their sockets and the senders' keep-alive connections.
      for (const s of sockets) s.close();
      closeHttpConnections();
      const leftAt = performance.now();
      let fdsAfter = server.openFds();
      while (fdsAfter > fdsBefore && performance.now() - leftAt < 30_000) {
        await new Promise((r) => setTimeout(r, 250));
        fdsAfter = server.openFds();
      }
      const sorted = [...sendLatencies].sort((a, b) => a - b);
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
      const pct = (from: number, to: number) => `${to >= from ? '+' : ''}${(((to - from) / from) * 100).toFixed(1)} %`;
      section('soak', [
        ['clients', `${int(n)} (connected in ${connectS.toFixed(1)} s), ${int(reconnectRate)} reconnecting per second with after`],
        ['steady state', `${steadyS.toFixed(0)} s after ${warmupS} s of warm-up, ${int(sendLatencies.length)} sends at ${int(sendRate)}/s (p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}), ${sendErrors} errors${errorKinds.size ? ` (${[...errorKinds].map(([k, c]) => `${k} ${c}`).join(', ')})` : ''}`],
        ['reconnects', `${int(reconnects)} (${reconnectErrors} failed), replayComplete false ${incomplete}, stream errors ${streamErrors}`],
        ['exactly once', `${missing} missing, ${duplicated} duplicated of ${int([...sent.values()].reduce((a, l) => a + l.length, 0))} notifications (after ${drainS.toFixed(1)} s of drain)`],
        ['RSS', `before clients ${mb(rssBefore)}; steady start ${mb(rssStart)}, end ${mb(rssEnd)} (${pct(rssStart, rssEnd)})`],
        ['RSS peaks', `first ${window} s of the steady state ${mb(peakFirst)}, last ${window} s ${mb(peakLast)} (${pct(peakFirst, peakLast)})`],
        ['live heap', `after full collections: ${liveStart} MB at the steady start, ${liveEnd} MB at the end (${pct(liveStart, liveEnd)})`],
        ['open fds', `before clients ${fdsBefore}, during ${fdsSteady}, after they left ${fdsAfter} (${((performance.now() - leftAt) / 1000).toFixed(1)} s later)`],
        ['event-loop delay', `p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}, mean ${ms(lag.mean)} over the steady state (in the server)`],
        ['server CPU', `${(server.cpuMs() / 1000).toFixed(1)} s`],
        ['machine load', `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) on ${os.cpus().length} cores`],
      ]);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
