/**
 * `npm run bench -- connections`: N idle, authenticated WebSocket subscribers on one server
 * process (each its own user, subscribed to notificationReceived): time to connect them all
 * and the server's RSS per connection. The sockets live in this process.
 *
 * RSS is read twice: 3 s after the last subscription went live, when the heap still holds the
 * garbage of 10 000 handshakes (V8 collects its old generation only once it grows or the
 * process goes quiet); then once V8's memory reducer has collected the idle heap by itself
 * (waited for, up to --idle-wait s); and after a full collection asked for over the inspector:
 * what the idle connections themselves cost.
 */
import { performance } from 'node:perf_hooks';
import { connectMany } from './ws-load.js';
import { bytes, int, intOption, section, seconds, type Scenario } from './scenario.js';
import { gql, startServer } from './server-process.js';

const SUB = 'subscription{ notificationReceived { id title } }';
const SEND = 'mutation($u:ID!){ sendNotification(input:{userIds:[$u], type:"task_assigned", title:"ping", body:""}){ notifications { id } } }';

export const connectionsScenario: Scenario = {
  name: 'connections',
  summary: 'idle authenticated WebSocket subscribers: connect time and server RSS per connection',
  options: {
    connections: { type: 'int', description: 'subscribers to open', default: 10000 },
    'idle-wait': { type: 'int', description: 'seconds to wait for V8 to collect the idle heap by itself', default: 60 },
  },
  async run({ redis, options }) {
    const n = intOption(options, 'connections', 10000);
    const idleWaitS = intOption(options, 'idle-wait', 60);
    const server = await startServer(redis, redis.prefix, {}, { inspect: true });
    try {
      // Warm the code paths (parse/validate caches, first Redis scripts) before the baseline.
      const warm = await connectMany(50, server.ws, (i) => server.token(`warm${i}`));
      for (const s of warm) s.subscribe(SUB, {}, () => {});
      await new Promise((r) => setTimeout(r, 1000));
      for (const s of warm) s.close();
      await server.collectGarbage();
      await new Promise((r) => setTimeout(r, 2000));
      const before = server.rssBytes();

      const tokens = await Promise.all(Array.from({ length: n }, (_, i) => server.token(`idle${i}`)));
      const t0 = performance.now();
      const sockets = await connectMany(n, server.ws, (i) => tokens[i]!, 500);
      let received = 0;
      for (const s of sockets) s.subscribe(SUB, {}, () => received++);
      const connected = (performance.now() - t0) / 1000;
      // Subscriptions are live once a send to one of them arrives; probe the last one.
      const svc = await server.token('bench', ['service']);
      const probeStart = performance.now();
      while (received === 0 && performance.now() - probeStart < 30_000) {
        await gql(server.http, svc, SEND, { u: `idle${n - 1}` });
        await new Promise((r) => setTimeout(r, 200));
      }
      const allLive = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 3000));
      const after = server.rssBytes();
      // Left alone, V8 collects an idle heap by itself (its memory reducer); wait for that drop
      // (a quarter of the growth) before asking for a collection, to show both agree.
      const idleStart = performance.now();
      let settledAfter: number | null = null;
      let idle = after;
      while (performance.now() - idleStart < idleWaitS * 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        idle = server.rssBytes();
        if (after - idle > (after - before) / 4) {
          settledAfter = (performance.now() - idleStart) / 1000 + 3;
          break;
        }
      }
      await server.collectGarbage();
      await new Promise((r) => setTimeout(r, 2000));
      const collected = server.rssBytes();

      section(`${int(n)} idle authenticated subscribers on one instance`, [
        ['sockets connected + acknowledged', seconds(connected)],
        ['subscriptions live (probe delivered)', `${seconds(allLive)}  (target: all connected within 20 s)`],
        ['server RSS before (after a full GC)', bytes(before)],
        ['server RSS with the subscribers, 3 s after', bytes(after)],
        ['  per connection, handshake garbage included', bytes((after - before) / n)],
        [
          '  per connection, once V8 collected by itself',
          settledAfter === null ? `no collection within ${idleWaitS + 3} s idle` : `${bytes((idle - before) / n)}  (${Math.round(settledAfter)} s after the last connection)`,
        ],
        ['server RSS with the subscribers, after a full GC', bytes(collected)],
        ['  per connection, after a full GC', `${bytes((collected - before) / n)}  (target <= 20 KB; typical stack 31 KB, bare ws 13 KB)`],
      ]);
      for (const s of sockets) s.close();
    } finally {
      await server.stop();
    }
  },
};
