/**
 * Scenario `broadcast`: what one saveOffline broadcast to N active users costs, against the
 * per-user loop the original system used, what returning users cost (settle on touch), and how
 * many Redis round trips an inbox query makes.
 *
 *   npm run bench -- broadcast [--cluster] [--users 100000] [--naive-users 10000 | --naive-full]
 *
 * On a Redis Cluster (`--cluster`), used_memory is summed over the masters, and round trips are
 * counted on the cluster client: one per write to a node (commands auto-pipelined together
 * count once).
 */
import { performance } from 'node:perf_hooks';
import type { RedisClient } from '../src/store/redis/client.js';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { redisBackend } from '../src/backend.js';
import { NotificationService } from '../src/notifications/service.js';
import { createAuth, randomSecret } from '../src/server/auth.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import { describeInbox, queryInbox, seedInbox } from './inbox-query.js';
import { usedMemory } from './redis-server.js';
import { countRoundTrips } from './round-trips.js';
import { bytes, int, intOption, ms, perSecond, pool, section, seconds, type Scenario } from './scenario.js';

/** config.ts default INBOX_CAP. */
const CAP = 50;
const SEED_IN_FLIGHT = 2000;
const TOUCHED_USERS = 1000;
const NAIVE_DEFAULT_USERS = 10_000;
const PAGE_SIZES = [5, 20, 50] as const;
/** system_announcement's default TTL (src/notifications/policies.ts), for the naive copies. */
const TTL_SECONDS = 7 * 24 * 3600;

const TARGET_SECONDS_100K = 1;
const TARGET_BYTES_PER_RECIPIENT = 200;
const TARGET_BYTES_RETURNING = 150;
const TARGET_SPEEDUP = 100;
const TARGET_ROUND_TRIPS = 3;

/** A body of exactly 1024 characters. */
const BODY = 'Scheduled maintenance tonight from 22:00 to 23:30 UTC: the service stays readable, writes are queued and applied afterwards. '
  .repeat(10)
  .slice(0, 1024);

const userId = (i: number) => `u${i}`;

export const broadcastScenario: Scenario = {
  name: 'broadcast',
  summary: 'one saveOffline broadcast to N active users vs the naive per-user loop, memory per recipient, inbox query round trips',
  options: {
    users: { type: 'int', default: 100_000, description: 'active users to seed (N)' },
    'naive-users': { type: 'int', description: `users the naive loop really runs on, extrapolated to N (default min(N, ${int(NAIVE_DEFAULT_USERS)}))` },
    'naive-full': { type: 'boolean', description: 'run the naive loop on all N users (no extrapolation)' },
  },

  async run({ redis: bench, options }) {
    const n = intOption(options, 'users', 100_000);
    const naiveN = options['naive-full'] ? n : Math.min(n, intOption(options, 'naive-users', NAIVE_DEFAULT_USERS));
    const redis = await bench.connect();
    const storePrefix = `${bench.prefix}ntf:`;
    const naivePrefix = `${bench.prefix}naive:`;
    const store = createRedisStore({ redis, cap: CAP, prefix: storePrefix, channels: channelNames(storePrefix) });
    const service = new NotificationService(store);

    // ---- 1. seed N active users through the store API
    let t0 = performance.now();
    const seedNow = Date.now();
    await pool(n, SEED_IN_FLIGHT, (i) => store.upsertUser(userId(i), { displayName: `User ${i}` }, seedNow));
    const seedS = (performance.now() - t0) / 1000;
    const active = await store.countActiveUsers();
    section(`1. seeding: ${int(n)} users via store.upsertUser, ${int(SEED_IN_FLIGHT)} in flight`, [
      ['time', seconds(seedS)],
      ['rate', perSecond(n / seedS)],
      ['active users (countActiveUsers)', int(active)],
      ['key prefix', storePrefix],
    ]);

    // ---- 2. ONE saveOffline broadcast through the real service
    // Warm-up: the same broadcast under another prefix that has no users (it writes ~1.5 KB
    // there). Without it, the time and used_memory below would include one-time server costs
    // that do not depend on the audience: compiling and caching the Lua script (~100-230 KB of
    // used_memory on a fresh server) and first-use allocations of the saveOffline path (~25 KB
    // more, also seen with 0 users). A later broadcast adds ~1.5 KB whatever N is.
    await new NotificationService(createRedisStore({ redis, cap: CAP, prefix: `${bench.prefix}warm:`, channels: channelNames(`${bench.prefix}warm:`) })).broadcast({
      type: 'system_announcement',
      title: 'warm-up',
      body: BODY,
      saveOffline: true,
    });
    const memBefore = await usedMemory(redis);
    t0 = performance.now();
    const record = await service.broadcast({ type: 'system_announcement', title: 'Maintenance tonight', body: BODY, saveOffline: true });
    const oursS = (performance.now() - t0) / 1000;
    const memAfter = await usedMemory(redis);
    const oursBytes = (memAfter - memBefore) / record.recipients;
    section('2. ours: ONE service.broadcast({ saveOffline: true, ~1 KB body })', [
      ['users (active)', int(active)],
      ['recipients (returned)', `${int(record.recipients)}${record.recipients === n ? '  (= N)' : `  (!= N = ${int(n)})`}`],
      ['time', `${seconds(oursS)}  (${ms(oursS * 1000)})`],
      ['users/s', perSecond(record.recipients / oursS)],
      ['used_memory before -> after', `${int(memBefore)} -> ${int(memAfter)} B  (+${int(memAfter - memBefore)} B)`],
      ['Redis bytes per recipient', bytes(oursBytes)],
      ['broadcast id', `${record.id}  (after a warm-up broadcast to 0 users under ${bench.prefix}warm:)`],
    ]);

    // ---- 3. the naive loop: one awaited MULTI round trip per user, a ~1 KB JSON copy each
    const copy = (uid: string) =>
      JSON.stringify({
        id: record.id,
        userId: uid,
        type: 'system_announcement',
      title: 'Maintenance tonight',
        body: BODY,
        data: null,
        priority: 'NORMAL',
        createdAt: record.createdAt,
        expiresAt: record.createdAt + TTL_SECONDS * 1000,
        readAt: null,
      });
    const naiveMemBefore = await usedMemory(redis);
    t0 = performance.now();
    for (let i = 0; i < naiveN; i++) {
      const id = userId(i);
      // the user's keys share a hash tag, so the MULTI runs on a Redis Cluster too
      const listKey = `${naivePrefix}{${id}}:inbox`;
      await redis
        .multi()
        .setex(`${naivePrefix}{${id}}:n:${record.id}`, TTL_SECONDS, copy(id))
        .lpush(listKey, record.id)
        .ltrim(listKey, 0, CAP - 1)
        .expire(listKey, TTL_SECONDS)
        .exec();
    }
    const naiveMeasuredS = (performance.now() - t0) / 1000;
    const naiveMemAfter = await usedMemory(redis);
    const naiveBytes = (naiveMemAfter - naiveMemBefore) / naiveN;
    const extrapolated = naiveN < n;
    const naiveS = (naiveMeasuredS * n) / naiveN;
    const speedup = naiveS / oursS;
    section(`3. naive: per user one awaited MULTI{SETEX ~${int(copy(userId(0)).length)} B JSON, LPUSH, LTRIM 0 ${CAP - 1}, EXPIRE} (keys ${naivePrefix}*)`, [
      ['users actually run', `${int(naiveN)}${extrapolated ? `  (of N = ${int(n)})` : '  (all N)'}`],
      ['time measured', `${seconds(naiveMeasuredS)}  (${perSecond(naiveN / naiveMeasuredS)}, ${ms((naiveMeasuredS * 1000) / naiveN)} per user)`],
      [`time for N = ${int(n)}`, extrapolated ? `${seconds(naiveS)}  EXTRAPOLATED linearly from ${int(naiveN)} users (--naive-full runs all)` : `${seconds(naiveS)}  (measured)`],
      ['Redis bytes per user', `${bytes(naiveBytes)}  (+${int(naiveMemAfter - naiveMemBefore)} B for ${int(naiveN)} users)`],
      [`Redis bytes for N${extrapolated ? ' (extrapolated)' : ''}`, `${int(naiveBytes * n)} B  vs ours ${int(memAfter - memBefore)} B`],
      ['speed ratio naive/ours', `${int(speedup)}x${extrapolated ? '  (naive side extrapolated)' : ''}`],
    ]);

    // ---- 4. users coming back: settle on touch materialises the broadcast into each inbox
    const touched = Math.min(n, TOUCHED_USERS);
    const touchMemBefore = await usedMemory(redis);
    const touchNow = Date.now();
    let holding = 0;
    t0 = performance.now();
    await pool(touched, 50, async (i) => {
      const page = await store.list(userId(i), { first: 20 }, touchNow);
      if (page.items.some((it) => it.broadcastId === record.id)) holding++;
    });
    const touchS = (performance.now() - t0) / 1000;
    const touchMemAfter = await usedMemory(redis);
    const touchBytes = (touchMemAfter - touchMemBefore) / touched;
    section(`4. ${int(touched)} users come back: store.list(id, { first: 20 }) each (settle on touch)`, [
      ['inboxes now holding the broadcast', `${int(holding)} / ${int(touched)}`],
      ['time', `${seconds(touchS)}  (${perSecond(touched / touchS)}, 50 in flight)`],
      ['used_memory before -> after', `${int(touchMemBefore)} -> ${int(touchMemAfter)} B  (+${int(touchMemAfter - touchMemBefore)} B)`],
      ['Redis bytes per touched user', bytes(touchBytes)],
      ['if all N came back (linear)', `${int(touchBytes * n)} B  (naive: ${int(naiveBytes * n)} B at send time)`],
    ]);

    // ---- 5. returning users who already have an inbox: what a broadcast costs each of them once
    // they all came back and read it (settled into their existing keys, then marked read)
    const sendBatch = 1000;
    const ownNow = Date.now();
    for (let from = 0; from < n; from += sendBatch) {
      const ids = Array.from({ length: Math.min(sendBatch, n - from) }, (_, k) => userId(from + k));
      await service.send({ userIds: ids, type: 'task_assigned', title: 'Your own item', body: 'An item of their own, so the inbox exists' });
    }
    await pool(n, SEED_IN_FLIGHT, (i) => store.list(userId(i), { first: 1 }, ownNow)); // everyone settled up to now
    const readMemBefore = await usedMemory(redis);
    t0 = performance.now();
    const second = await service.broadcast({ type: 'system_announcement', title: 'Second maintenance', body: BODY, saveOffline: true });
    const secondS = (performance.now() - t0) / 1000;
    const readMemSent = await usedMemory(redis);
    const readNow = Date.now();
    t0 = performance.now();
    let readCount = 0;
    await pool(n, SEED_IN_FLIGHT, async (i) => {
      const marked = await store.markRead(userId(i), [second.id], readNow);
      readCount += marked.length;
    });
    const readS = (performance.now() - t0) / 1000;
    const readMemAfter = await usedMemory(redis);
    const returningBytes = (readMemAfter - readMemBefore) / n;
    section(`5. all ${int(n)} users already hold an inbox (one own item each); a broadcast, then every one of them reads it`, [
      ['broadcast time', `${seconds(secondS)}  (${int(second.recipients)} recipients)`],
      ['used_memory right after the broadcast', `+${int(readMemSent - readMemBefore)} B  (${bytes((readMemSent - readMemBefore) / n)} per recipient)`],
      ['markRead(user, [broadcast id]) each', `${seconds(readS)}  (${perSecond(n / readS)}, ${int(SEED_IN_FLIGHT)} in flight; ${int(readCount)} marked)`],
      ['used_memory after every recipient read it', `+${int(readMemAfter - readMemBefore)} B`],
      ['Redis bytes per returning recipient', bytes(returningBytes)],
    ]);

    // ---- 6. round trips of one inbox query through the real app (own prefix: 1 user)
    const rt = await roundTrips(redis, await bench.connect('subscriber'), await bench.connect('shard-subscriber'), `${bench.prefix}rt:`);
    section(`6. Redis round trips of notifications(first: N) { totalCount unreadCount edges { node { id title recipient { displayName } } } }`, [
      ['fixture', 'one user, 50 own notifications (service.send) + 20 saveOffline broadcasts, interleaved; inbox cap 50'],
      ['warm-up (uncounted)', rt.warmUp],
      ...rt.rows.flatMap(({ first, roundTrips, trips, page }): [string, string][] => [
        [`first: ${first}`, `${roundTrips} round trip${roundTrips === 1 ? '' : 's'}: ${trips.join(' + ')}`],
        ['', page],
      ]),
    ]);

    // ---- summary
    const counts = rt.rows.map((r) => r.roundTrips);
    const constant = counts.every((c) => c === counts[0]);
    const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
    section('summary (figures vs targets)', [
      [`broadcast to ${int(n)} users`, `${seconds(oursS).padEnd(12)} target <= ${TARGET_SECONDS_100K} s for 100,000 users  ${n === 100_000 ? mark(oursS <= TARGET_SECONDS_100K) : '(N != 100,000)'}`],
      ['Redis bytes per recipient', `${bytes(oursBytes).padEnd(12)} target <= ${TARGET_BYTES_PER_RECIPIENT} B  ${mark(oursBytes <= TARGET_BYTES_PER_RECIPIENT)}`],
      ['  after a user comes back', `${bytes(touchBytes).padEnd(12)} (settle on touch, per touched user with no inbox before; no target)`],
      ['  after it was read, inbox existed', `${bytes(returningBytes).padEnd(12)} target <= ${TARGET_BYTES_RETURNING} B per returning recipient  ${mark(returningBytes <= TARGET_BYTES_RETURNING && readCount === n)}`],
      ['speed vs naive loop', `${`${int(speedup)}x`.padEnd(12)} target >= ${TARGET_SPEEDUP}x  ${mark(speedup >= TARGET_SPEEDUP)}${extrapolated ? `  (naive extrapolated from ${int(naiveN)} users)` : ''}`],
      ['inbox query round trips', `${counts.join(' / ').padEnd(12)} target <= ${TARGET_ROUND_TRIPS}, constant for first 5/20/50  ${mark(constant && Math.max(...counts) <= TARGET_ROUND_TRIPS)}`],
      ['recipients = N', `${int(record.recipients)} = ${int(n)}  ${mark(record.recipients === n)}`],
    ]);
  },
};

async function roundTrips(redis: RedisClient, subscriber: RedisClient, shardSubscriber: RedisClient, prefix: string) {
  // Wired like main.ts: store + pub/sub bus on Redis (the bus subscribes on its own connection,
  // so its traffic never reaches the counted command connection).
  const backend = redisBackend({ redis, subscriber, shardSubscriber, cap: CAP, prefix });
  const auth = createAuth(randomSecret());
  const app = createApp({ ...backend, auth, logger: pino({ level: 'silent' }) });
  try {
    const token = await seedInbox(app, auth, 'rt-user');
    // The first request of a user-role token may create the user (ensureUser): not counted.
    const warmUp = describeInbox(await queryInbox(app, token, 20));
    const rows = [];
    for (const first of PAGE_SIZES) {
      const { result, roundTrips, trips } = await countRoundTrips(redis, () => queryInbox(app, token, first));
      rows.push({ first, roundTrips, trips, page: describeInbox(result) });
    }
    return { warmUp, rows };
  } finally {
    await app.close(100);
  }
}
