/**
 * `npm run bench -- hotpaths`: each row of issue 16's table, measured on the server as shipped
 * (metrics and rate limits on) and on the bare relay (bench/relay-server.ts) in the same run,
 * with the server/relay ratio. `--runs N` repeats everything N times on fresh processes and
 * prints each figure's median with its spread (min-max).
 *
 *  sends-http   per-user sends over HTTP: U users x K sends, `--in-flight` at once, each
 *               delivered to the user's WebSocket subscriber (sends/s to the last delivery,
 *               process CPU per send, deliveries included, Redis's CPU per send from INFO cpu,
 *               and the two together; each id checked delivered once)
 *  sends-ws     the same sends as mutations over 4 WebSockets (relay: its own send message)
 *  topic        S topic subscribers, publishes paced at `--rate` deliveries/s: CPU per delivery, p99
 *  idle         RSS 3 s and 60 s (--idle-settle) after start, before any connection (server: scheduler on, as shipped), and per idle
 *               subscriber `--idle` connections, read 3 s after the last is live, no forced GC
 *
 * `--baseline DIR` also measures DIR/dist (a build of an earlier commit) in the same runs.
 * `--only a,b` runs a subset. BENCH_PROFILE_DIR=DIR writes a CPU profile of the server over
 * each measured window (DIR/sends-http.cpuprofile, …; bench/cpu-profile.ts summarises one).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connectMany, pacedSends, percentile, trackTopic, warmUpTopic } from './ws-load.js';
import { intOption, int, section, type Scenario, UsageError } from './scenario.js';
import { gql, startServer, type ServerProcess } from './server-process.js';
import { pacedBareRelay, relaySendHttp, relaySender, relaySocket, startRelay, topicPayload, type RelayProcess } from './bare-relay.js';
import type { RedisClient } from '../src/store/redis/client.js';
import { redisCpuMs, redisReads } from './redis-server.js';

const NOTIF_SUB = 'subscription{ notificationReceived { id title createdAt } }';
const SEND = 'mutation($u:ID!,$t:String!){ sendNotification(input:{userIds:[$u], type:"task_assigned", title:$t, body:"bench"}){ notifications { id } } }';
const PUBLISH = 'mutation($p:JSON!){ publish(topic:"bench", payload:$p){ publishedAt } }';

const PARTS = ['sends-http', 'sends-ws', 'topic', 'idle'] as const;
type Part = (typeof PARTS)[number];

/** One side of a comparison: how to reach users and send to them. */
interface Subject {
  cpuMs(): number;
  rssBytes(): number;
  /** a socket receiving user `u`'s notifications; `onId` gets each delivered id */
  openUser(u: string, onId: (id: string) => void): Promise<{ close(): void }>;
  sendHttp(u: string, title: string): Promise<string>;
  /** senders over WebSocket */
  openSenders(n: number): Promise<{ send(u: string, title: string): Promise<string>; close(): void }>;
  /** profiles the process until the returned function is called, which saves it as DIR/<name>.cpuprofile */
  profile?(name: string): Promise<() => Promise<void>>;
}

const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;

async function profiled(subject: Subject, name: string): Promise<() => Promise<void>> {
  return subject.profile ? subject.profile(name) : async () => {};
}

function serverSubject(server: ServerProcess, svc: string): Subject {
  return {
    cpuMs: () => server.cpuMs(),
    rssBytes: () => server.rssBytes(),
    ...(PROFILE_DIR && {
      async profile(name: string) {
        const stop = await server.cpuProfile();
        return async () => {
          mkdirSync(PROFILE_DIR, { recursive: true });
          writeFileSync(`${PROFILE_DIR}/${name}.cpuprofile`, JSON.stringify(await stop()));
        };
      },
    }),
    async openUser(u, onId) {
      const [s] = await connectMany(1, server.ws, () => server.token(u));
      s!.subscribe(NOTIF_SUB, {}, (p) => onId(p.data.notificationReceived.id as string));
      return s!;
    },
    sendHttp: async (u, t) => (await gql(server.http, svc, SEND, { u, t })).sendNotification.notifications[0].id as string,
    async openSenders(n) {
      const senders = await connectMany(n, server.ws, () => svc);
      let rr = 0;
      return {
        async send(u, t) {
          const r = await senders[rr++ % n]!.request(SEND, { u, t });
          if (r.errors) throw new Error(JSON.stringify(r.errors));
          return r.data.sendNotification.notifications[0].id as string;
        },
        close: () => senders.forEach((s) => s.close()),
      };
    },
  };
}

function relaySubject(relay: RelayProcess): Subject {
  return {
    cpuMs: () => relay.cpuMs(),
    rssBytes: () => relay.rssBytes(),
    openUser: (u, onId) => relaySocket(relay.ws, `user=${encodeURIComponent(u)}`, (frame) => onId((JSON.parse(String(frame)) as any).payload.data.notificationReceived.id as string)),
    sendHttp: (u, t) => relaySendHttp(relay.sendUrl, u, t),
    async openSenders(n) {
      const senders = await Promise.all(Array.from({ length: n }, () => relaySender(relay.ws)));
      let rr = 0;
      return { send: (u, t) => senders[rr++ % n]!.send(u, t), close: () => senders.forEach((s) => s.close()) };
    },
  };
}

async function openInParallel<T>(n: number, parallel: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await open(i);
    }
  }));
  return out;
}

const until = async (done: () => boolean, timeoutMs: number) => {
  const t0 = performance.now();
  while (!done() && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
  return done();
};

interface SendFigures {
  perSec: number;
  cpuPerSendUs: number;
  /** Redis's own CPU per send (INFO cpu): the other process a send keeps busy on the same cores */
  redisCpuPerSendUs: number;
  /** Redis's socket reads per send (INFO stats): how well a send's commands share a syscall */
  redisReadsPerSend: number;
  /**
   * This process's CPU per send (the load driver: HTTP or WebSocket senders, and every user's
   * subscriber), which shares the cores with the subject and Redis
   */
  driverCpuPerSendUs: number;
  onceEach: boolean;
}

/**
 * U users subscribed, one warm-up send each (which also proves every subscription live), then
 * U x K sends with `inFlight` pending; sends/s counts to the last delivery.
 */
async function perUserSends(subject: Subject, redis: RedisClient, transport: 'http' | 'ws', U: number, K: number, inFlight: number, tag: string): Promise<SendFigures> {
  const seen = new Map<string, number>();
  let got = 0;
  let lastGot = 0;
  const users = await openInParallel(U, 200, (i) =>
    subject.openUser(`${tag}${i}`, (id) => {
      seen.set(id, (seen.get(id) ?? 0) + 1);
      got++;
      lastGot = performance.now();
    }),
  );
  const senders = transport === 'ws' ? await subject.openSenders(4) : null;
  const send = senders ? senders.send : subject.sendHttp;
  const run = async (titles: string[], profileAs?: string) => {
    const jobs: [string, string][] = [];
    for (const t of titles) for (let i = 0; i < U; i++) jobs.push([`${tag}${i}`, t]);
    seen.clear();
    got = 0;
    const stored: string[] = [];
    let j = 0;
    const saveProfile = profileAs ? await profiled(subject, profileAs) : null;
    const redisCpu0 = await redisCpuMs(redis);
    const reads0 = await redisReads(redis);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const cpu0 = subject.cpuMs();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (j < jobs.length) {
          const [u, title] = jobs[j++]!;
          stored.push(await send(u, title));
        }
      }),
    );
    await until(() => got >= jobs.length, 60_000);
    const cpu = subject.cpuMs() - cpu0;
    const driver = process.cpuUsage(self0);
    const redisCpu = (await redisCpuMs(redis)) - redisCpu0;
    const reads = (await redisReads(redis)) - reads0;
    await saveProfile?.();
    return {
      perSec: got / ((lastGot - t0) / 1000),
      cpuPerSendUs: (cpu * 1000) / jobs.length,
      redisCpuPerSendUs: (redisCpu * 1000) / jobs.length,
      redisReadsPerSend: reads / jobs.length,
      driverCpuPerSendUs: (driver.user + driver.system) / jobs.length,
      onceEach: got === jobs.length && stored.length === jobs.length && stored.every((id) => seen.get(id) === 1),
    };
  };
  try {
    const warm = await run(['warm']);
    if (!warm.onceEach) throw new Error(`warm-up: ${got} of ${U} delivered`);
    return await run(Array.from({ length: K }, (_, k) => `n${k}`), `sends-${transport}`);
  } finally {
    senders?.close();
    for (const u of users) u.close();
  }
}

/** The server's paced topic run, as the relay's (pacedBareRelay). */
async function pacedServerTopic(server: ServerProcess, subject: Subject, svc: string, S: number, rate: number, seconds: number) {
  const sockets = await connectMany(S, server.ws, (i) => server.token(`topic${i}`));
  const topic = trackTopic(sockets);
  const [publisher] = await connectMany(1, server.ws, () => svc);
  // A refused publish (the store timing out on a crowded host) is counted, not fatal: the
  // figures then show fewer deliveries than expected.
  let refused = 0;
  const publish = (i: number) =>
    void publisher!.request(PUBLISH, { p: topicPayload(i).payload }).then((r) => {
      if (r.errors) refused++;
    });
  // Warm-ups until every socket has one, then 20 more at the rate.
  await warmUpTopic(topic, S, publish);
  for (let w = 100; w < 120; w++) {
    publish(-w);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  const perSec = rate / S;
  const total = Math.round(perSec * seconds);
  const saveProfile = await profiled(subject, 'topic');
  const cpu0 = server.cpuMs();
  const start = await pacedSends(perSec, total, (k, now) => {
    topic.sentAt.set(k, now);
    publish(k);
  });
  await until(() => topic.delivered >= total * S, seconds * 1000 + 30_000 - (performance.now() - start));
  const cpuPerDeliveryUs = ((server.cpuMs() - cpu0) * 1000) / Math.max(1, topic.delivered);
  await saveProfile();
  for (const s of [...sockets, publisher!]) s.close();
  topic.latencies.sort((a, b) => a - b);
  return { p99: percentile(topic.latencies, 99), delivered: topic.delivered, expected: total * S, cpuPerDeliveryUs, refused };
}

/** RSS per idle subscriber, read 3 s after the last is live. */
async function idleMemory(subject: Subject, n: number, tag: string, probe: (u: string) => Promise<unknown>) {
  // A few connections and sends first, so first-use code and caches aren't billed per connection.
  const warm = await openInParallel(20, 20, (i) => subject.openUser(`${tag}w${i}`, () => {}));
  for (let i = 0; i < 20; i++) await probe(`${tag}w${i}`);
  for (const w of warm) w.close();
  await new Promise((r) => setTimeout(r, 2000));
  const before = subject.rssBytes();
  let received = 0;
  const sockets = await openInParallel(n, 500, (i) => subject.openUser(`${tag}${i}`, () => received++));
  // Live once a send to the last one arrives.
  const t0 = performance.now();
  while (received === 0 && performance.now() - t0 < 30_000) {
    await probe(`${tag}${n - 1}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const after = subject.rssBytes();
  for (const s of sockets) s.close();
  return { perSubscriber: (after - before) / n };
}

/** figure -> subject ('server', 'baseline', 'relay') -> values over the runs */
type Figures = Map<string, { unit: string; digits: number; values: Map<string, number[]> }>;

function record(figures: Figures, name: string, unit: string, digits: number, values: Record<string, number>) {
  let f = figures.get(name);
  if (!f) figures.set(name, (f = { unit, digits, values: new Map() }));
  for (const [subject, v] of Object.entries(values)) {
    if (!f.values.has(subject)) f.values.set(subject, []);
    f.values.get(subject)!.push(v);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function summarise(figures: Figures, runs: number) {
  const fmt = (xs: number[], d: number) => {
    const v = (x: number) => (d === 0 ? int(x) : x.toFixed(d));
    return xs.length > 1 ? `${v(median(xs))} (${v(Math.min(...xs))}-${v(Math.max(...xs))})` : v(xs[0]!);
  };
  const rows: [string, string][] = [];
  for (const [name, f] of figures) {
    const relay = f.values.get('relay')!;
    const cells = [...f.values].map(([subject, xs]) => `${subject} ${fmt(xs, f.digits)}`);
    for (const [subject, xs] of f.values) if (subject !== 'relay') cells.push(`${subject}/relay ${fmt(xs.map((x, i) => x / relay[i]!), 2)}`);
    rows.push([`${name}, ${f.unit}`, cells.join('   ')]);
  }
  section(`summary: ${runs > 1 ? `median (min-max) of ${runs} runs; ratios per run` : '1 run'}`, rows);
}

export const hotPathsScenario: Scenario = {
  name: 'hotpaths',
  summary: "issue 16's table: per-user sends (HTTP, WS), CPU per send and per topic delivery, paced p99, idle RSS; server vs bare relay",
  options: {
    runs: { type: 'int', description: 'repetitions (fresh processes each); medians and spread', default: 5 },
    only: { type: 'string', description: `comma-separated parts: ${PARTS.join(',')}` },
    users: { type: 'int', description: 'per-user subscribers', default: 2000 },
    'per-user': { type: 'int', description: 'sends per user', default: 5 },
    'in-flight': { type: 'int', description: 'sends pending at once', default: 32 },
    subscribers: { type: 'int', description: 'topic subscribers', default: 2000 },
    rate: { type: 'int', description: 'paced topic deliveries/s', default: 10000 },
    'paced-seconds': { type: 'int', description: 'length of the paced run', default: 5 },
    idle: { type: 'int', description: 'idle subscribers for RSS per subscriber', default: 10000 },
    'idle-settle': { type: 'int', description: 'seconds after start for the settled idle RSS reading (≥ 3)', default: 60 },
    baseline: { type: 'string', description: 'another checkout whose dist/ is measured too, in the same runs (before/after)' },
  },
  async run({ redis, options }) {
    const runs = intOption(options, 'runs', 5);
    const parts = new Set<Part>(typeof options.only === 'string' ? (options.only.split(',') as Part[]) : PARTS);
    for (const p of parts) if (!PARTS.includes(p)) throw new UsageError(`--only: unknown part "${p}" (${PARTS.join(', ')})`);
    const U = intOption(options, 'users', 2000);
    const K = intOption(options, 'per-user', 5);
    const inFlight = intOption(options, 'in-flight', 32);
    const S = intOption(options, 'subscribers', 2000);
    const rate = intOption(options, 'rate', 10000);
    const pacedSeconds = intOption(options, 'paced-seconds', 5);
    const idleN = intOption(options, 'idle', 10000);
    const settleS = Math.max(3, intOption(options, 'idle-settle', 60));
    const figures: Figures = new Map();
    const cpuProbe = await redis.connect();

    // The servers to measure: this checkout's, and with --baseline another checkout's dist/.
    const servers: { name: string; root?: string }[] = [{ name: 'server' }];
    if (typeof options.baseline === 'string') servers.push({ name: 'baseline', root: options.baseline });

    for (let run = 1; run <= runs; run++) {
      const rows: [string, string][] = [];
      const tag = `r${run}`;
      const startAll = async (env: Record<string, string>, inspect: boolean, p: string) => {
        const started: { name: string; subject: Subject; server?: ServerProcess; svc?: string; stop(): Promise<void> }[] = [];
        for (const { name, root } of servers) {
          const server = await startServer(redis, `${redis.prefix}${tag}${p}${name}:`, env, { inspect: inspect && name === 'server', root });
          const svc = await server.token('bench-sender', ['service']);
          started.push({ name, subject: serverSubject(server, svc), server, svc, stop: () => server.stop() });
        }
        const relay = await startRelay(redis, `${redis.prefix}${tag}${p}relay:`);
        started.push({ name: 'relay', subject: relaySubject(relay), stop: () => relay.stop() });
        // Measured one after another: the order turns with each run, so none is always first.
        for (let i = 1; i < run; i++) started.push(started.shift()!);
        return { started, relay };
      };
      if (parts.has('sends-http') || parts.has('sends-ws') || parts.has('topic')) {
        // Throughput: the servers as shipped but for the scheduler, whose worker threads would
        // add their own CPU to the process's.
        const { started, relay } = await startAll({}, PROFILE_DIR !== undefined, 't');
        try {
          for (const transport of ['http', 'ws'] as const) {
            if (!parts.has(`sends-${transport}`)) continue;
            const label = `per-user sends over ${transport === 'http' ? 'HTTP' : 'WebSocket'}`;
            const perSec: Record<string, number> = {};
            const cpu: Record<string, number> = {};
            const redisCpu: Record<string, number> = {};
            const bothCpu: Record<string, number> = {};
            const reads: Record<string, number> = {};
            const driverCpu: Record<string, number> = {};
            const line: string[] = [];
            for (const { name, subject } of started) {
              const f = await perUserSends(subject, cpuProbe, transport, U, K, inFlight, `${transport}u`);
              if (!f.onceEach) throw new Error(`${label} (${name}): not every send was delivered exactly once`);
              perSec[name] = f.perSec;
              cpu[name] = f.cpuPerSendUs;
              redisCpu[name] = f.redisCpuPerSendUs;
              bothCpu[name] = f.cpuPerSendUs + f.redisCpuPerSendUs;
              reads[name] = f.redisReadsPerSend;
              driverCpu[name] = f.driverCpuPerSendUs;
              line.push(`${name} ${int(f.perSec)}/s ${f.cpuPerSendUs.toFixed(1)} µs/send (Redis ${f.redisCpuPerSendUs.toFixed(1)})`);
            }
            record(figures, label, 'sends/s', 0, perSec);
            record(figures, `  CPU per send (${transport})`, 'µs', 1, cpu);
            record(figures, `  Redis CPU per send (${transport})`, 'µs', 1, redisCpu);
            // On a host whose cores the processes share, sends/s follows this sum.
            record(figures, `  server + Redis CPU per send (${transport})`, 'µs', 1, bothCpu);
            record(figures, `  Redis reads per send (${transport})`, '', 2, reads);
            record(figures, `  load driver CPU per send (${transport})`, 'µs', 1, driverCpu);
            rows.push([label, `${line.join('   ')}   (each delivered once)`]);
          }
          if (parts.has('topic')) {
            const cpu: Record<string, number> = {};
            const p99: Record<string, number> = {};
            const line: string[] = [];
            for (const { name, server, subject, svc } of started) {
              const f = server ? await pacedServerTopic(server, subject, svc!, S, rate, pacedSeconds) : await pacedBareRelay(relay, S, rate, pacedSeconds);
              cpu[name] = f.cpuPerDeliveryUs;
              p99[name] = f.p99;
              line.push(`${name} ${f.cpuPerDeliveryUs.toFixed(2)} µs p99 ${f.p99.toFixed(1)} ms (${int(f.delivered)}/${int(f.expected)})`);
            }
            record(figures, `CPU per topic delivery, paced ${int(rate)}/s`, 'µs', 2, cpu);
            record(figures, `paced ${int(rate)} deliveries/s, p99`, 'ms', 1, p99);
            rows.push([`topic paced ${int(rate)}/s`, line.join('   ')]);
          }
        } finally {
          for (const x of started) await x.stop();
        }
      }
      if (parts.has('idle')) {
        // As shipped: the scheduler on (its worker threads are part of the idle footprint).
        const { started } = await startAll({ SCHEDULER_ENABLED: 'true' }, false, 'm');
        try {
          const idle: Record<string, number> = {};
          const per: Record<string, number> = {};
          const line: string[] = [];
          // All read at the same age: 3 s after start (start-up garbage still held), and once
          // idle for a while (V8 gives it back on its own: what an idle server's graph shows).
          const settled: Record<string, number> = {};
          await new Promise((r) => setTimeout(r, 3000));
          for (const { name, subject } of started) idle[name] = subject.rssBytes() / 2 ** 20;
          await new Promise((r) => setTimeout(r, settleS * 1000 - 3000));
          for (const { name, subject } of started) settled[name] = subject.rssBytes() / 2 ** 20;
          for (const { name, subject } of started) {
            const f = await idleMemory(subject, idleN, 'idle', (u) => subject.sendHttp(u, 'probe'));
            per[name] = f.perSubscriber / 1024;
            line.push(`${name} ${idle[name]!.toFixed(1)} MB, ${per[name].toFixed(1)} KB/subscriber`);
          }
          record(figures, 'RSS idle, 3 s after start, before any connection', 'MB', 1, idle);
          record(figures, `RSS idle, ${settleS} s after start, before any connection`, 'MB', 1, settled);
          record(figures, `RSS per idle subscriber (${int(idleN)}, 3 s after)`, 'KB', 1, per);
          rows.push(['idle memory', line.join('   ')]);
        } finally {
          for (const x of started) await x.stop();
        }
      }
      section(`run ${run} of ${runs}`, rows);
    }
    summarise(figures, runs);
  },
};
