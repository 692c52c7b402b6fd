/**
 * `npm run bench -- deliveries`: the delivery outbox through the server process.
 *
 * 1. throughput: N webhook deliveries (U users, each with an address on one of R local
 *    receivers, sent in batches of users) -> deliveries/s, send -> receipt p50/p99, Redis
 *    commands per delivery (INFO commandstats), the server's RSS before and after;
 * 2. isolation: the paced topic fan-out p99 (S subscribers at a fixed rate), alone and while
 *    webhook deliveries run at a steady rate beside it.
 * Receivers and load run in this process; the server in its own.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { connectMany, pacedSends, percentile, trackTopic, warmUpTopic } from './ws-load.js';
import { bytes, intOption, int, ms, perSecond, pool, section, seconds, type Scenario } from './scenario.js';
import { gql, startServer, type ServerProcess } from './server-process.js';
import { commandCalls } from './redis-server.js';
import { mastersOf } from '../src/store/redis/client.js';

const SET_ADDRESS = 'mutation($u:ID!,$a:String!){ setChannelAddress(userId:$u, input:{channel:WEBHOOK, address:$a}){ webhookSecret } }';
const PREFS = 'mutation{ updatePreferences(input:{channels:[{type:"*", channels:[WEBHOOK]}]}){ mutedTypes } }';
const SEND = 'mutation($u:[ID!]!,$t:String!){ sendNotification(input:{userIds:$u, type:"task_assigned", title:$t, body:"bench", channels:[WEBHOOK]}){ notifications { id } } }';
const PUBLISH = 'mutation($p:JSON!){ publish(topic:"bench", payload:$p){ publishedAt } }';

interface Receivers {
  urls: string[];
  received: number;
  /** webhook-id -> absolute receipt time (ms, performance.timeOrigin + now) of its first arrival */
  firstAt: Map<string, number>;
  duplicates: number;
  close(): Promise<void>;
}

/** Absolute time in ms, comparable across threads. */
const now = () => performance.timeOrigin + performance.now();

/**
 * R plain receivers answering 204 (no signature check: the bench measures the sender), in a
 * worker thread of their own, so they share neither the server's nor the measuring loop's CPU
 * time slice.
 */
async function startReceivers(r: number): Promise<Receivers> {
  const worker = new Worker(RECEIVER_THREAD, { eval: true, workerData: { r } });
  const out: Receivers = { urls: [], received: 0, firstAt: new Map(), duplicates: 0, close: async () => {} };
  out.urls = await new Promise<string[]>((resolve) => worker.once('message', resolve));
  worker.on('message', (batch: [string, number][]) => {
    for (const [id, at] of batch) {
      out.received++;
      if (out.firstAt.has(id)) out.duplicates++;
      else out.firstAt.set(id, at);
    }
  });
  out.close = async () => {
    await worker.terminate();
  };
  return out;
}

const RECEIVER_THREAD = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
let batch = [];
setInterval(() => { if (batch.length) { parentPort.postMessage(batch); batch = []; } }, 20);
(async () => {
  const urls = [];
  for (let i = 0; i < workerData.r; i++) {
    const s = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        batch.push([String(req.headers['webhook-id']), performance.timeOrigin + performance.now()]);
        res.writeHead(204).end();
      });
    });
    s.keepAliveTimeout = 60000;
    await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
    urls.push('http://127.0.0.1:' + s.address().port + '/hook');
  }
  parentPort.postMessage(urls);
})();
`;


async function optInUsers(server: ServerProcess, svc: string, users: number, receivers: Receivers): Promise<void> {
  await pool(users, 32, async (i) => {
    await gql(server.http, svc, SET_ADDRESS, { u: `dl${i}`, a: receivers.urls[i % receivers.urls.length] });
    await gql(server.http, await server.token(`dl${i}`), PREFS);
  });
}

export const deliveriesScenario: Scenario = {
  name: 'deliveries',
  summary: 'webhook deliveries through the outbox (deliveries/s, send -> receipt p99) and the fan-out p99 beside them',
  options: {
    deliveries: { type: 'int', description: 'webhook deliveries in the throughput run', default: 10000 },
    users: { type: 'int', description: 'recipients (each with a webhook address)', default: 1000 },
    receivers: { type: 'int', description: 'receiver servers (hosts) the addresses spread over', default: 8 },
    batch: { type: 'int', description: 'users per sendNotification', default: 100 },
    subscribers: { type: 'int', description: 'topic subscribers in the isolation run', default: 1000 },
    rate: { type: 'int', description: 'paced topic deliveries/s in the isolation run', default: 5000 },
    'delivery-rate': { type: 'int', description: 'webhook deliveries/s beside the paced run', default: 500 },
    'paced-seconds': { type: 'int', description: 'length of each paced run', default: 8 },
    concurrency: { type: 'int', description: "the server's DELIVERY_CONCURRENCY (default: the server's default)" },
  },
  async run({ redis, options }) {
    const N = intOption(options, 'deliveries', 10000);
    const U = intOption(options, 'users', 1000);
    const R = intOption(options, 'receivers', 8);
    const B = Math.min(intOption(options, 'batch', 100), U);
    const S = intOption(options, 'subscribers', 1000);
    const rate = intOption(options, 'rate', 5000);
    const deliveryRate = intOption(options, 'delivery-rate', 500);
    const pacedSeconds = intOption(options, 'paced-seconds', 8);
    const receivers = await startReceivers(R);
    const concurrency: Record<string, string> = options.concurrency === undefined ? {} : { DELIVERY_CONCURRENCY: String(options.concurrency) };
    const server = await startServer(redis, redis.prefix, { WEBHOOK_ALLOW_PRIVATE: 'true', ...concurrency });
    const client = await redis.connect();
    try {
      const svc = await server.token('bench-sender', ['service']);
      await optInUsers(server, svc, U, receivers);

      // ---- 1. throughput
      const rssBefore = server.rssBytes();
      const cpuBefore = server.cpuMs();
      const callsBefore = await commandCalls(client);
      const sentAt = new Map<string, number>();
      const calls = Math.ceil(N / B);
      const t0 = now();
      await pool(calls, 8, async (c) => {
        const users = Array.from({ length: Math.min(B, N - c * B) }, (_, k) => `dl${(c * B + k) % U}`);
        const at = now();
        const r = await gql<{ sendNotification: { notifications: { id: string }[] } }>(server.http, svc, SEND, { u: users, t: `n${c}` });
        for (const n of r.sendNotification.notifications) sentAt.set(`${n.id}-w`, at);
      });
      const sendsDone = now();
      while (receivers.firstAt.size < N && now() - t0 < 300_000) await new Promise((r) => setTimeout(r, 20));
      const lastReceipt = Math.max(...receivers.firstAt.values());
      const callsAfter = await commandCalls(client);
      const latencies = [...receivers.firstAt].map(([id, at]) => at - (sentAt.get(id) ?? at)).sort((a, b) => a - b);
      const wall = (lastReceipt - t0) / 1000;
      section(`1. ${int(N)} webhook deliveries to ${int(U)} users over ${R} local receivers (sends of ${B} users each)`, [
        ['received (first) / expected', `${int(receivers.firstAt.size)} / ${int(N)} (duplicates ${receivers.duplicates})`],
        ['sends done after', seconds((sendsDone - t0) / 1000)],
        ['first send -> last receipt', seconds(wall)],
        ['deliveries/s', perSecond(receivers.firstAt.size / wall)],
        ['send -> receipt p50', ms(percentile(latencies, 50))],
        ['send -> receipt p99', ms(percentile(latencies, 99))],
        ['Redis commands per delivery (sends included)', ((callsAfter - callsBefore - mastersOf(client).length) / N).toFixed(2)],
        ['server CPU per delivery (sends included)', `${((1000 * (server.cpuMs() - cpuBefore)) / N).toFixed(0)} µs`],
        ['server RSS before -> after', `${bytes(rssBefore)} -> ${bytes(server.rssBytes())}`],
      ]);

      // ---- 2. isolation: paced fan-out alone, then beside steady deliveries
      const sockets = await connectMany(S, server.ws, (i) => server.token(`fan${i}`));
      const [publisher] = await connectMany(1, server.ws, () => svc);
      const publish = (p: unknown) => void publisher!.request(PUBLISH, { p });
      let run = 0;
      const topic = trackTopic(sockets);
      await warmUpTopic(topic, S, (i) => publish({ i }));
      const perSec = rate / S;
      const paced = async () => {
        topic.latencies = [];
        const base = (run++) * 1_000_000;
        const total = Math.round(perSec * pacedSeconds);
        await pacedSends(perSec, total, (k, now) => {
          topic.sentAt.set(base + k, now);
          publish({ i: base + k });
        });
        await new Promise((r) => setTimeout(r, 1000));
        return [...topic.latencies].sort((a, b) => a - b);
      };
      const alone = await paced();
      const before = receivers.firstAt.size;
      let stop = false;
      const steady = (async () => {
        let c = 0;
        const perCall = 10;
        await pacedSends(deliveryRate / perCall, Math.round((deliveryRate / perCall) * (pacedSeconds + 1)), () => {
          if (stop) return;
          const users = Array.from({ length: perCall }, (_, k) => `dl${(c * perCall + k) % U}`);
          c++;
          void gql(server.http, svc, SEND, { u: users, t: `s${c}` });
        });
      })();
      const beside = await paced();
      stop = true;
      await steady;
      section(`2. paced topic fan-out at ${int(rate)} deliveries/s to ${int(S)} subscribers, ${pacedSeconds} s`, [
        ['p50 / p99 alone', `${ms(percentile(alone, 50))} / ${ms(percentile(alone, 99))}`],
        [`p50 / p99 beside ${int(deliveryRate)} webhook deliveries/s`, `${ms(percentile(beside, 50))} / ${ms(percentile(beside, 99))}`],
        ['p99 beside / alone', (percentile(beside, 99) / percentile(alone, 99)).toFixed(2)],
        ['webhook deliveries during the run', int(receivers.firstAt.size - before)],
      ]);
      for (const s of sockets) s.close();
      publisher!.close();
    } finally {
      await client.quit();
      await server.stop();
      await receivers.close();
    }
  },
};
