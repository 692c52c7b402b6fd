/**
 * Scenario `dashboard`: requests/s of Query.dashboard with the cache on and with it off
 * (CACHE_ENABLED=false), against graphql-yoga answering a trivial `{ __typename }` on the same
 * server, in one run; plus Redis commands per request (INFO commandstats deltas).
 *
 *   npm run bench -- dashboard [--seconds 5] [--concurrency 32] [--users 10000]
 *
 * Servers: two server processes started as `npm start` does (dist/) on the bench Redis, one per cache
 * setting, same key prefix. Load: a separate process (bench/http-load.ts) keeping `concurrency`
 * keep-alive POSTs in flight, so neither shares the server's event loop with the other.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createCache } from '../src/cache/cache.js';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { NotificationService } from '../src/notifications/service.js';
import { createRedisDeliveryStore } from '../src/store/redis/redis-delivery-store.js';
import { cacheKeys } from '../src/store/redis/keys.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import type { LoadResult, LoadSpec } from './http-load.js';
import { startServer, type ServerProcess } from './server-process.js';
import { commandCalls } from './redis-server.js';
import { mastersOf } from '../src/store/redis/client.js';
import { int, intOption, ms, perSecond, pool, section, type Scenario } from './scenario.js';

const TARGET_SPEEDUP = 10;
const TARGET_OF_TRIVIAL = 0.5;

const DASHBOARD = /* GraphQL */ `query Dashboard {
  dashboard {
    system { uptimeSeconds loadAverage memoryRssBytes connectedClients redisUsedMemoryBytes }
    notifications { sentToday activeUsers byType { type count } deduplicatedToday }
    cache { hits misses hitRate }
    generatedAt
  }
}`;
const TRIVIAL = '{ __typename }';


const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs bench/http-load.ts in its own process. */
function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/http-load.ts', JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/**
 * The resolver's work alone, in this process (no HTTP, no GraphQL): Dashboard.snapshot() with
 * every part, `concurrency` at a time, for `seconds`; returns snapshots/s.
 */
async function snapshotsPerSecond(dashboard: Dashboard, concurrency: number, seconds: number): Promise<number> {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await dashboard.snapshot();
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}


interface Row {
  label: string;
  result: LoadResult;
  rps: number;
  commandsPerRequest: number;
  /** server CPU per answered request, ms: steadier than requests/s on a busy machine */
  cpuPerRequestMs: number;
}

export const dashboardScenario: Scenario = {
  name: 'dashboard',
  summary: 'requests/s of Query.dashboard cached vs caching off vs { __typename }, Redis commands per request',
  options: {
    seconds: { type: 'int', default: 4, description: 'seconds per measurement' },
    rounds: { type: 'int', default: 3, description: 'rounds over all rows (each row reports its median round)' },
    concurrency: { type: 'int', default: 32, description: 'requests in flight (keep-alive connections)' },
    users: { type: 'int', default: 10_000, description: 'active users to seed (activeUsers)' },
  },

  async run({ redis: bench, options }) {
    const seconds = intOption(options, 'seconds', 4);
    const rounds = intOption(options, 'rounds', 3);
    const concurrency = intOption(options, 'concurrency', 32);
    const users = intOption(options, 'users', 10_000);
    const redis = await bench.connect();
    const keyPrefix = `${bench.prefix}ntf:`;

    // ---- seed: users and a day of traffic, so every counter has something to count
    const service = new NotificationService(createRedisStore({ redis, cap: 50, prefix: keyPrefix, channels: channelNames(keyPrefix) }));
    await pool(users, 500, (i) => service.upsertUser(`u${i}`, `User ${i}`, true));
    const types = ['task_assigned', 'comment', 'mention', 'review_requested', 'deploy_finished'];
    // 200 sends to 10 users each; sends i and i + 150 repeat (users, dedupKey): 50 x 10 deduplicated
    await pool(200, 20, (i) =>
      service.send({ userIds: Array.from({ length: 10 }, (_, j) => `u${((i % 150) * 10 + j) % users}`), type: types[i % types.length]!, title: `n${i}`, body: 'b', dedupKey: `d${i % 150}` }),
    );
    await service.broadcast({ type: 'system_announcement', title: 'hello', body: 'everyone', saveOffline: true });

    const cached = await startServer(bench, bench.prefix, { CACHE_ENABLED: 'true' });
    const uncached = await startServer(bench, bench.prefix, { CACHE_ENABLED: 'false' });
    const admin = await cached.token('bench-admin', ['admin']);
    try {
      const sample = await (
        await fetch(cached.http, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ query: DASHBOARD }) })
      ).json();
      const d = (sample as { data: { dashboard: { notifications: { sentToday: number; activeUsers: number; deduplicatedToday: number; byType: unknown[] } } } }).data.dashboard;
      section('setup', [
        ['servers', `2 x dist/src/main.js (NODE_ENV=production, LOG_LEVEL=warn): CACHE_ENABLED=true and CACHE_ENABLED=false, one Redis, key prefix ${keyPrefix}`],
        ['load', `bench/http-load.ts in its own process: ${concurrency} keep-alive connections, ${seconds} s per row and round, ${rounds} rounds (rows interleaved), median shown; 3 s warm-up per server`],
        ['seeded', `${int(users)} active users; today: sentToday ${int(d.notifications.sentToday)}, deduplicatedToday ${int(d.notifications.deduplicatedToday)}, ${d.notifications.byType.length} types`],
        ['dashboard query', 'every field of Dashboard (system, notifications, cache, generatedAt)'],
      ]);

      const spec = (url: string, query: string, token: string | null): LoadSpec => ({
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        body: JSON.stringify({ query }),
        concurrency,
        seconds,
      });
      const measure = async (label: string, server: ServerProcess, s: LoadSpec): Promise<Row> => {
        const before = await commandCalls(redis);
        const cpuBefore = server.cpuMs();
        const result = await load(s);
        const cpu = server.cpuMs() - cpuBefore;
        // minus the INFO per node that took `before`
        const commands = (await commandCalls(redis)) - before - mastersOf(redis).length;
        if (result.failed > 0) console.error(`  ${label}: ${result.failed} failed, first: ${result.failure}`);
        const n = Math.max(1, result.ok);
        return { label, result, rps: result.ok / result.seconds, commandsPerRequest: commands / n, cpuPerRequestMs: cpu / n };
      };
      const targets: [string, ServerProcess, LoadSpec][] = [
        ['{ __typename }, no token', cached, spec(cached.http, TRIVIAL, null)],
        ['{ __typename }, admin token', cached, spec(cached.http, TRIVIAL, admin)],
        ['dashboard, cached', cached, spec(cached.http, DASHBOARD, admin)],
        ['dashboard, caching off', uncached, spec(uncached.http, DASHBOARD, admin)],
      ];
      // Warm-up (JIT, connections, caches), uncounted.
      await load({ ...spec(cached.http, DASHBOARD, admin), seconds: 2 });
      await load({ ...spec(cached.http, TRIVIAL, null), seconds: 1 });
      await load({ ...spec(uncached.http, DASHBOARD, admin), seconds: 3 });
      const byRow: Row[][] = targets.map(() => []);
      for (let r = 0; r < rounds; r++) {
        for (const [i, [label, server, s]] of targets.entries()) byRow[i]!.push(await measure(label, server, s));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const rows = byRow.map((rs): Row => {
        const mid = [...rs].sort((a, b) => a.rps - b.rps)[Math.floor(rs.length / 2)]!;
        return { ...mid, cpuPerRequestMs: median(rs.map((r) => r.cpuPerRequestMs)) };
      });
      section(
        'requests/s per round',
        byRow.map((rs): [string, string] => [
          rs[0]!.label,
          `${rs.map((r) => perSecond(r.rps).padStart(9)).join(' ')}    server CPU/request ${rs.map((r) => ms(r.cpuPerRequestMs)).join(' ')}`,
        ]),
      );
      section(
        'results (median round)',
        rows.map((r): [string, string] => [
          r.label,
          `${perSecond(r.rps).padStart(9)}   p50 ${ms(r.result.p50Ms).padStart(8)}   p99 ${ms(r.result.p99Ms).padStart(8)}   server CPU/request ${r.cpuPerRequestMs.toFixed(3)} ms   Redis commands/request ${r.commandsPerRequest.toFixed(3).padStart(7)}   (${int(r.result.ok)} ok, ${r.result.failed} failed)`,
        ]),
      );
      const [trivial, trivialAuth, on, off] = rows as [Row, Row, Row, Row];

      // The same parts computed in this process, servers idle: what the cache saves per request.
      const store = createRedisStore({ redis, cap: 50, prefix: keyPrefix, channels: channelNames(keyPrefix) });
      const deliveries = createRedisDeliveryStore({ redis, prefix: keyPrefix });
      const resolver = (enabled: boolean) =>
        new Dashboard({ store, deliveries, cache: createCache({ l2: { redis, keys: cacheKeys(keyPrefix) }, enabled }), clock: Date.now, connectedClients: () => 0 });
      const resolverOn = await snapshotsPerSecond(resolver(true), concurrency, 2);
      const resolverOff = await snapshotsPerSecond(resolver(false), concurrency, 2);
      section(`resolver alone: Dashboard.snapshot() in the bench process, ${concurrency} at a time, 2 s each (no HTTP, no GraphQL)`, [
        ['cached', perSecond(resolverOn)],
        ['caching off', `${perSecond(resolverOff)}  (${int(resolverOn / resolverOff)}x fewer; mean latency ${ms((1000 * concurrency) / resolverOff)} at ${concurrency} in flight, 6 Redis commands each)`],
      ]);
      const speedup = on.rps / off.rps;
      const ofTrivial = on.rps / trivial.rps;
      const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
      section('summary (figures vs targets)', [
        ['cached vs caching off', `${speedup.toFixed(2)}x   target >= ${TARGET_SPEEDUP}x  ${mark(speedup >= TARGET_SPEEDUP)}`],
        ['cached vs { __typename } (no token)', `${(ofTrivial * 100).toFixed(0)}%   target >= ${TARGET_OF_TRIVIAL * 100}%  ${mark(ofTrivial >= TARGET_OF_TRIVIAL)}`],
        ['cached vs { __typename } (admin token)', `${((on.rps / trivialAuth.rps) * 100).toFixed(0)}%   (same auth work per request; no target)`],
        [
          'by server CPU per request (steadier)',
          `cached ${on.cpuPerRequestMs.toFixed(3)} ms, off ${off.cpuPerRequestMs.toFixed(3)} ms, trivial ${trivial.cpuPerRequestMs.toFixed(3)} ms: ` +
            `cached vs off ${(off.cpuPerRequestMs / on.cpuPerRequestMs).toFixed(2)}x, cached vs trivial ${((trivial.cpuPerRequestMs / on.cpuPerRequestMs) * 100).toFixed(0)}%`,
        ],
        ['Redis commands per request', `cached ${on.commandsPerRequest.toFixed(3)}, caching off ${off.commandsPerRequest.toFixed(3)}`],
        ['resolver alone, cached vs off', `${int(resolverOn / resolverOff)}x`],
      ]);
    } finally {
      await Promise.all([cached.stop(), uncached.stop()]);
    }
  },
};
