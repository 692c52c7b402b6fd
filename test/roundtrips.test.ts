/**
 * Redis round trips of the inbox query: notifications(first: 5|20|50) with recipient{displayName}
 * through the real app on the Redis store costs the same small number of round trips whatever the
 * page size (one list script + one user pipeline; no per-item or per-recipient calls).
 * The counter is bench/round-trips.ts (also used by `npm run bench -- broadcast`).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX_DISPLAY_NAME, queryInbox, seedInbox } from '../bench/inbox-query.js';
import { countRoundTrips, startRoundTripCounter } from '../bench/round-trips.js';
import { createApp, type App } from '../src/app.js';
import { createAuth, randomSecret, type Role } from '../src/server/auth.js';
import { redisBackend } from '../src/backend.js';
import { deleteByPrefix, newCluster, newRedis, uniquePrefix, withCluster, withRedis } from './helpers/redis.js';

const redis = withRedis();
/** the bus's SUBSCRIBE and SSUBSCRIBE connections (their traffic is not on `redis`, so not counted) */
const subscriber = newRedis();
const shardSubscriber = newRedis();
const prefix = uniquePrefix();
const USER = 'rt-user';

let app: App;
let token: string;
/** signs a token for the app (the service/admin checks below) */
let appToken: (sub: string, roles: Role[]) => Promise<string>;

beforeAll(async () => {
  const auth = createAuth(randomSecret());
  appToken = (sub, roles) => auth.sign({ sub, roles });
  app = createApp({ ...redisBackend({ redis, subscriber, shardSubscriber, cap: 50, prefix }), auth, logger: pino({ level: 'silent' }) });
  token = await seedInbox(app, auth, USER, { own: 50, broadcasts: 20 });
  // The first request of a user-role token may create the user: warm up, uncounted.
  const warm = await queryInbox(app, token, 20);
  expect(warm.errors).toBeUndefined();
});

afterAll(async () => {
  await app?.close(100);
  for (const s of [subscriber, shardSubscriber]) await s.quit().catch(() => s.disconnect());
  await deleteByPrefix(redis, prefix);
});

describe('round-trip counter', () => {
  it('counts a plain command as 1 and a whole pipeline as 1', async () => {
    const k = `${prefix}counter`;
    const { roundTrips, trips } = await countRoundTrips(redis, async () => {
      await redis.set(k, '1');
      await redis.pipeline().get(k).get(k).incr(k).exec();
      await redis.multi().get(k).del(k).exec();
    });
    expect(trips).toEqual(['set', 'pipeline[get x2, incr]', 'pipeline[multi, get, del, exec]']);
    expect(roundTrips).toBe(3);
  });

  it('counts plain commands sent in one turn as 1, and the next turn apart', async () => {
    const k = `${prefix}counter-turn`;
    const counter = startRoundTripCounter(redis);
    await Promise.all([redis.set(k, '1'), redis.get(k), redis.get(k)]);
    await redis.del(k);
    const commands = counter.commands;
    expect([counter.stop(), commands]).toEqual([2, 4]);
    expect(counter.trips).toEqual(['turn[set, get x2]', 'del']);
  });

  it('restores the client when stopped', async () => {
    const c = startRoundTripCounter(redis);
    await redis.ping();
    expect(c.stop()).toBe(1);
    await redis.ping();
    expect(c.count).toBe(1);
  });
});

describe('notifications(first) round trips on the Redis store', () => {
  it('is the same for first 5, 20 and 50, and at most 3', async () => {
    const counts: Record<number, number> = {};
    const detail: Record<number, string[]> = {};
    for (const first of [5, 20, 50]) {
      const { result, roundTrips, trips } = await countRoundTrips(redis, () => queryInbox(app, token, first));
      // A failed query would make few round trips too: check it really answered.
      expect(result.errors).toBeUndefined();
      const n = result.data!.notifications;
      expect(n.totalCount).toBe(50); // cap 50: 50 own + 20 broadcasts -> newest 50
      expect(n.edges).toHaveLength(first);
      for (const e of n.edges) expect(e.node.recipient.displayName).toBe(INBOX_DISPLAY_NAME);
      counts[first] = roundTrips;
      detail[first] = trips;
    }
    expect(counts[20], JSON.stringify(detail)).toBe(counts[5]);
    expect(counts[50], JSON.stringify(detail)).toBe(counts[5]);
    expect(counts[5], JSON.stringify(detail)).toBeLessThanOrEqual(3);
  });

  it('pages mix own notifications and broadcasts (both paths are exercised)', async () => {
    const r = await queryInbox(app, token, 50);
    const titles = r.data!.notifications.edges.map((e) => e.node.title);
    expect(titles.some((t) => t.startsWith('Own #'))).toBe(true);
    expect(titles.some((t) => t.startsWith('Broadcast #'))).toBe(true);
  });
});

describe('related objects load through per-request DataLoaders', () => {
  const gql = async (query: string, as: string) => {
    const res = await app.yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
  };

  it('n users by id with their unread counts: 2 round trips for 5 or 50 (one turn of commands each)', async () => {
    for (let i = 0; i < 50; i++) await app.service.upsertUser(`rt-u${i}`, `User ${i}`, true);
    const svc = await appToken('svc', ['service']);
    const counts: Record<number, { roundTrips: number; trips: string[] }> = {};
    for (const n of [5, 50]) {
      const query = `{ ${Array.from({ length: n }, (_, i) => `u${i}: user(id: "rt-u${i}") { id displayName unreadCount }`).join(' ')} }`;
      const { result, roundTrips, trips } = await countRoundTrips(redis, () => gql(query, svc));
      expect(result.errors).toBeUndefined();
      expect(Object.keys(result.data!)).toHaveLength(n);
      expect(result.data!.u4).toEqual({ id: 'rt-u4', displayName: 'User 4', unreadCount: 0 });
      counts[n] = { roundTrips, trips };
    }
    expect(counts[50]!.roundTrips, JSON.stringify(counts)).toBe(2);
    expect(counts[5]!.roundTrips, JSON.stringify(counts)).toBe(2);
    expect(counts[50]!.trips).toEqual(['turn[hgetall x50]', 'turn[evalsha unreadCount x50]']);
  });

  it('dashboard: a few round trips once per TTL, none while cached', async () => {
    const admin = await appToken('root', ['admin']);
    const q = '{ dashboard { system { connectedClients redisUsedMemoryBytes } notifications { sentToday byType { type count } } cache { hitRate } generatedAt } }';
    const cold = await countRoundTrips(redis, () => gql(q, admin));
    expect(cold.result.errors).toBeUndefined();
    expect(cold.roundTrips, cold.trips.join(' + ')).toBeLessThanOrEqual(12);
    const warm = await countRoundTrips(redis, () => gql(q, admin));
    expect(warm.result.data).toEqual(cold.result.data);
    expect(warm.trips).toEqual([]);
  });
});

describe('on the Redis Cluster (npm run bench -- broadcast --cluster counts the same way)', () => {
  const cluster = withCluster();
  const clusterPrefix = uniquePrefix();
  const subscribers = [newCluster(), newCluster({ sharded: true })];
  let clusterApp: App;
  let clusterToken: string;

  beforeAll(async () => {
    const auth = createAuth(randomSecret());
    clusterApp = createApp({
      ...redisBackend({ redis: cluster, subscriber: subscribers[0]!, shardSubscriber: subscribers[1]!, cap: 50, prefix: clusterPrefix }),
      auth,
      logger: pino({ level: 'silent' }),
    });
    clusterToken = await seedInbox(clusterApp, auth, USER, { own: 50, broadcasts: 20 });
    expect((await queryInbox(clusterApp, clusterToken, 20)).errors).toBeUndefined();
  });

  afterAll(async () => {
    await clusterApp?.close(100);
    for (const s of subscribers) await s.quit().catch(() => s.disconnect());
    await deleteByPrefix(cluster, clusterPrefix);
  });

  it('counts what the cluster client writes to a node: a command (auto-pipelined) as 1, a pipeline as 1', async () => {
    const k = `${clusterPrefix}counter`;
    const { roundTrips, trips } = await countRoundTrips(cluster, async () => {
      await cluster.set(k, '1');
      await cluster.pipeline().get(k).get(k).incr(k).exec();
    });
    expect(trips).toEqual(['pipeline[set]', 'pipeline[get x2, incr]']);
    expect(roundTrips).toBe(2);
  });

  it('an inbox page costs the same round trips as on one node, for first 5, 20 and 50', async () => {
    for (const first of [5, 20, 50]) {
      const single = await countRoundTrips(redis, () => queryInbox(app, token, first));
      const { result, roundTrips, trips } = await countRoundTrips(cluster, () => queryInbox(clusterApp, clusterToken, first));
      expect(result.errors).toBeUndefined();
      expect(result.data!.notifications.edges).toHaveLength(first);
      expect(roundTrips, `${trips.join(' + ')} vs ${single.trips.join(' + ')}`).toBe(single.roundTrips);
    }
  });
});
