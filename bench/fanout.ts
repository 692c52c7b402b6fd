/**
 * `npm run bench -- fanout`: real-time delivery through the server process.
 *
 * 1. topic fan-out: S WebSocket subscribers of one topic, M `publish` mutations as fast as
 *    they go (deliveries/s), then paced at a target deliveries/s (publish -> receipt p50/p99),
 *    and the same paced run through a bare ws relay for the host's floor;
 * 2. per-user: U users each subscribed to notificationReceived, K `sendNotification` calls
 *    per user (sends/s, each delivered exactly once).
 * The load (sockets, HTTP calls, clocks) runs in this process; the server in its own.
 */
import { performance } from 'node:perf_hooks';
import { connectMany, pacedSends, percentile, trackTopic, warmUpTopic } from './ws-load.js';
import { intOption, int, ms, perSecond, section, seconds, type Scenario } from './scenario.js';
import { gql, startServer } from './server-process.js';
import { pacedBareRelay, startRelay } from './bare-relay.js';

const PUBLISH = 'mutation($p:JSON!){ publish(topic:"bench", payload:$p){ publishedAt } }';
const NOTIF_SUB = 'subscription{ notificationReceived { id title createdAt } }';
const SEND = 'mutation($u:ID!,$t:String!){ sendNotification(input:{userIds:[$u], type:"task_assigned", title:$t, body:"bench"}){ notifications { id } } }';

export const fanoutScenario: Scenario = {
  name: 'fanout',
  summary: 'topic fan-out (deliveries/s, paced p99) and per-user sends/s over WebSocket',
  options: {
    subscribers: { type: 'int', description: 'topic subscribers', default: 2000 },
    messages: { type: 'int', description: 'topic messages in the burst', default: 200 },
    rate: { type: 'int', description: 'paced deliveries/s', default: 10000 },
    'paced-seconds': { type: 'int', description: 'length of the paced run', default: 10 },
    users: { type: 'int', description: 'per-user subscribers', default: 2000 },
    'per-user': { type: 'int', description: 'notifications per user', default: 5 },
  },
  async run({ redis, options }) {
    const S = intOption(options, 'subscribers', 2000);
    const M = intOption(options, 'messages', 200);
    const rate = intOption(options, 'rate', 10000);
    const pacedSeconds = intOption(options, 'paced-seconds', 10);
    const U = intOption(options, 'users', 2000);
    const K = intOption(options, 'per-user', 5);
    const server = await startServer(redis, redis.prefix);
    try {
      const svc = await server.token('bench-publisher', ['service']);

      // ---- topic fan-out
      let t0 = performance.now();
      const sockets = await connectMany(S, server.ws, (i) => server.token(`sub${i}`));
      const connectS = (performance.now() - t0) / 1000;
      // Timed from message M on: the burst's messages are counted, the paced ones timed.
      const topic = trackTopic(sockets, M);
      // The publisher is a service holding one WebSocket, as a backend emitting events would.
      const [publisher] = await connectMany(1, server.ws, () => svc);
      const publish = async (p: unknown) => {
        const r = await publisher!.request(PUBLISH, { p });
        if (r.errors) throw new Error(JSON.stringify(r.errors));
      };
      await warmUpTopic(topic, S, (i) => publish({ i }));

      t0 = performance.now();
      const burstCpu0 = server.cpuMs();
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < M) {
            const i = next++;
            topic.sentAt.set(i, performance.now());
            await publish({ i });
          }
        }),
      );
      const expected = S * M;
      while (topic.delivered < expected && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 5));
      const burstS = (topic.lastDelivery - t0) / 1000;
      const burstDelivered = topic.delivered;
      const cpuPerDelivery = (server.cpuMs() - burstCpu0) / burstDelivered;
      section(`1. topic fan-out burst: ${int(S)} WebSocket subscribers x ${int(M)} messages`, [
        ['connect + auth', `${seconds(connectS)} for ${int(S)} sockets`],
        ['delivered / expected', `${int(burstDelivered)} / ${int(expected)}`],
        ['time (first publish -> last receipt)', seconds(burstS)],
        ['deliveries/s', perSecond(burstDelivered / burstS)],
        ['server CPU per delivery', `${(cpuPerDelivery * 1000).toFixed(2)} µs`],
      ]);

      // Paced: messages/s so that messages x subscribers = the target rate.
      const perSec = rate / S;
      const total = Math.round(perSec * pacedSeconds);
      topic.delivered = 0;
      const start = await pacedSends(perSec, total, (k, now) => {
        topic.sentAt.set(M + k, now);
        void publish({ i: M + k });
      });
      while (topic.delivered < total * S && performance.now() - start < pacedSeconds * 1000 + 30_000) await new Promise((r) => setTimeout(r, 5));
      const latencies = topic.latencies.sort((a, b) => a - b);
      section(`2. topic fan-out paced at ${int(rate)} deliveries/s for ${pacedSeconds} s (${perSec.toFixed(1)} messages/s)`, [
        ['delivered / expected', `${int(topic.delivered)} / ${int(total * S)}`],
        ['publish -> receipt p50', ms(percentile(latencies, 50))],
        ['publish -> receipt p99', ms(percentile(latencies, 99))],
        ['publish -> receipt max', ms(latencies.at(-1) ?? NaN)],
      ]);
      for (const s of sockets) s.close();
      publisher!.close();

      // The host's floor, right after, under the same conditions.
      const relay = await startRelay(redis, redis.prefix);
      const bare = await pacedBareRelay(relay, S, rate, pacedSeconds).finally(() => relay.stop());
      section(`2b. the same paced run through the bare relay (ws + one Redis PUBLISH per message, no GraphQL; bench/relay-server.ts)`, [
        ['delivered / expected', `${int(bare.delivered)} / ${int(bare.expected)}`],
        ['publish -> receipt p50', ms(bare.p50)],
        ['publish -> receipt p99', ms(bare.p99)],
      ]);

      // ---- per-user sends
      const users = await connectMany(U, server.ws, (i) => server.token(`pu${i}`));
      const seen = new Map<string, number>();
      let got = 0;
      let lastGot = 0;
      users.forEach((s) =>
        s.subscribe(NOTIF_SUB, {}, (p) => {
          const id = p.data.notificationReceived.id as string;
          seen.set(id, (seen.get(id) ?? 0) + 1);
          got++;
          lastGot = performance.now();
        }),
      );
      await new Promise((r) => setTimeout(r, 1000));
      // Two transports for the same sends: HTTP POSTs, then mutations over WebSocket (a
      // service keeps one connection open; it skips the HTTP layer per call).
      const runSends = async (label: string, k0: number, send: (u: string, title: string) => Promise<string>) => {
        const jobs: [string, string][] = [];
        for (let k = k0; k < k0 + K; k++) for (let i = 0; i < U; i++) jobs.push([`pu${i}`, `n${k}`]);
        seen.clear();
        got = 0;
        const t0 = performance.now();
        const cpu0 = server.cpuMs();
        let j = 0;
        const stored: string[] = [];
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (j < jobs.length) {
              const [u, title] = jobs[j++]!;
              stored.push(await send(u, title));
            }
          }),
        );
        const sendsDone = performance.now();
        while (got < jobs.length && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
        const cpuPerSend = (server.cpuMs() - cpu0) / jobs.length;
        const onceEach = stored.every((id) => seen.get(id) === 1) && got === jobs.length;
        const perSec = got / ((lastGot - t0) / 1000);
        section(`3${label === 'HTTP' ? 'a' : 'b'}. per-user over ${label}: ${int(U)} users x ${K} notifications through sendNotification (64 in flight)`, [
          ['sends acknowledged', int(stored.length)],
          ['sends/s (acknowledged)', perSecond(stored.length / ((sendsDone - t0) / 1000))],
          ['delivered / expected', `${int(got)} / ${int(jobs.length)}`],
          ['each delivered exactly once', onceEach ? 'yes' : 'NO'],
          ['sends/s (first send -> last delivery)', perSecond(perSec)],
          ['server CPU per send (delivery included)', `${cpuPerSend.toFixed(3)} ms`],
        ]);
        return { perSec, onceEach };
      };
      const http = await runSends('HTTP', 0, async (u, title) => (await gql(server.http, svc, SEND, { u, t: title })).sendNotification.notifications[0].id);
      const senders = await connectMany(4, server.ws, () => svc);
      let rr = 0;
      const ws = await runSends('WebSocket', K, async (u, title) => {
        const r = await senders[rr++ % senders.length]!.request(SEND, { u, t: title });
        if (r.errors) throw new Error(JSON.stringify(r.errors));
        return r.data.sendNotification.notifications[0].id;
      });
      for (const s of senders) s.close();
      for (const s of users) s.close();

      section('summary (targets)', [
        ['topic fan-out deliveries/s', `${perSecond(burstDelivered / burstS)}  target >= 45,000/s, delivered = expected: ${burstDelivered === expected}`],
        ['paced p99', `${ms(percentile(latencies, 99))}  target <= 60 ms at ${int(rate)}/s`],
        ['paced p99, bare ws relay', `${ms(bare.p99)}  same host, same run (the issue quotes 53 ms)`],
        ['per-user sends/s over HTTP', `${perSecond(http.perSec)}  each once: ${http.onceEach}`],
        ['per-user sends/s over WebSocket', `${perSecond(ws.perSec)}  target >= 3,000/s, each once: ${ws.onceEach}`],
      ]);
    } finally {
      await server.stop();
    }
  },
};
