/**
 * What the partitioned Redis layout promises beyond the Store contract (docs/redis-layout.md,
 * "Redis Cluster"): a command sent again changes nothing, a partition whose sequence is ahead of a
 * broadcast's id still orders it right, and ids never go backwards after Redis is wiped.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { channels as channelNames } from '../src/realtime/channels.js';
import { decodeSeq } from '../src/store/ids.js';
import { DEFAULT_PARTITIONS, partitionOf } from '../src/store/partition.js';
import { keySpace } from '../src/store/redis/keys.js';
import { createRedisDeliveryStore } from '../src/store/redis/redis-delivery-store.js';
import { ReplicaAckError } from '../src/store/redis/context.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { isBackendUnavailable } from '../src/store/unavailable.js';
import { SCRIPTS, scriptSource, type ScriptName } from '../src/store/redis/scripts.js';
import type { SendOutcome } from '../src/store/store.js';
import { T0, newBroadcast, newItem, storedOf } from './helpers/store-backends.js';
import { deleteByPrefix, newRedis, uniquePrefix, withCluster } from './helpers/redis.js';
import { startRedisServer } from './helpers/redis-server.js';
import { until } from './helpers/server-under-test.js';
import { countRoundTrips } from '../bench/round-trips.js';

const connections: Redis[] = [];
/** The test cluster answers CLUSTER KEYSLOT: the slot Redis itself gives a key. */
const cluster = withCluster();
const clusterKeySlot = (key: string) => cluster.cluster('KEYSLOT', key) as Promise<number>;
const prefixes: string[] = [];
afterEach(async () => {
  const [first] = connections;
  for (const p of prefixes.splice(0)) if (first) await deleteByPrefix(first, p);
  await Promise.all(connections.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
});

/** A store on its own connection and prefix. */
function make() {
  const redis = newRedis();
  connections.push(redis);
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const store = createRedisStore({ redis, cap: 50, prefix, channels: channelNames(prefix) });
  return { redis, prefix, store, keys: keySpace(prefix) };
}

/**
 * The script calls `run` makes on `redis`, as sent (command name, then its arguments), so a test
 * can send them again: what ioredis does after a reply was lost. Pipelined commands pass through
 * sendCommand too.
 */
async function scriptCalls(redis: Redis, run: () => Promise<unknown>): Promise<string[][]> {
  const calls: string[][] = [];
  const conn = redis as unknown as { sendCommand(command: { name: string; args: unknown[] }, ...rest: unknown[]): unknown };
  const send = conn.sendCommand;
  conn.sendCommand = function (command, ...rest) {
    if (/^eval(sha)?$/i.test(command.name)) calls.push([command.name, ...command.args.map(String)]);
    return send.call(this, command, ...rest);
  };
  try {
    await run();
  } finally {
    delete (conn as { sendCommand?: unknown }).sendCommand; // the prototype's again
  }
  return calls;
}

const seqOf = (id: string) => decodeSeq(id)!;
/** A user id in partition n (of the default count). */
const userIn = (n: number, tag = 'u') => Array.from({ length: 2000 }, (_, i) => `${tag}${i}`).find((u) => partitionOf(u, DEFAULT_PARTITIONS) === n)!;

describe('Redis partitions', () => {
  it('a send whose command is sent again (a resend after a lost reply) gets the first reply and changes nothing', async () => {
    const { store, redis, keys } = make();
    let first: unknown;
    const [call] = await scriptCalls(redis, async () => (first = await store.send(['ann'], newItem(T0), T0)));
    const { id } = storedOf((first as SendOutcome[])[0]);
    const reply = await redis.call(...(call as [string, ...string[]]));
    expect(reply).toEqual(['ok', id]);
    const page = await store.list('ann', { first: 10 }, T0 + 1);
    expect(page.items.map((n) => n.id)).toEqual([id]);
    expect(page.unreadCount).toBe(1);
    const day = new Date(T0).toISOString().slice(0, 10);
    expect(await redis.hget(keys.partitionOf('ann').day(day), 'sent')).toBe('1');
  });

  it('a user listed twice in one request is two sends: the resend guard is per position, not per user', async () => {
    const { store } = make();
    const both = await store.send(['bob', 'bob'], newItem(T0 + 2), T0 + 2);
    expect(new Set(both.map((o) => storedOf(o).id)).size).toBe(2);
    expect((await store.list('bob', { first: 10 }, T0 + 3)).totalCount).toBe(2);
  });

  it('a broadcast whose commands are sent again is stored once in every partition and counted once', async () => {
    const { store, redis, keys } = make();
    const users = [userIn(0), userIn(1), userIn(2)];
    for (const u of users) await store.ensureUser(u, T0);
    let b: Awaited<ReturnType<typeof store.broadcast>> | undefined;
    const calls = await scriptCalls(redis, async () => (b = await store.broadcast(newBroadcast(T0 + 1, { dedupKey: 'once', window: 60_000 }), T0 + 1)));
    expect(calls.map((c) => c[0]!.toLowerCase())).toEqual(Array(1 + keys.partitions).fill('evalsha'));
    expect(b).toMatchObject({ recipients: 3, deduplicated: 0 });
    // The begin step would find its own dedup mark, the parts their own entries: each answers as before.
    const again = [];
    for (const call of calls) again.push(await redis.call(...(call as [string, ...string[]])));
    expect(again[0]).toEqual([b!.id, expect.any(String), '0']);
    expect(again.slice(1).reduce((n: number, r) => n + (r as number[])[0]!, 0)).toBe(3);
    for (let n = 0; n < keys.partitions; n++) expect(await redis.zcard(keys.partition(n).blog)).toBe(1);
    for (const u of users) expect((await store.list(u, { first: 10 }, T0 + 2)).items.map((n) => n.id)).toEqual([b!.id]);
    const day = new Date(T0).toISOString().slice(0, 10);
    const sent = await Promise.all(users.map((u) => redis.hget(keys.partitionOf(u).day(day), 'sent')));
    expect(sent).toEqual(['1', '1', '1']);
  });

  it("a partition whose sequence is past a broadcast's id stores it under an id of its own, after everything it issued", async () => {
    const { store, redis, keys } = make();
    const ahead = userIn(3);
    const other = userIn(4);
    const mine = storedOf((await store.send([ahead], newItem(T0), T0))[0]);
    await store.ensureUser(other, T0);
    // As if partition 3 had issued ids far ahead of the clock (a burst above its share of a millisecond).
    const far = seqOf(mine.id) + 1024 * 60_000;
    await redis.set(keys.partition(3).seq, String(far));
    const b = await store.broadcast(newBroadcast(T0 + 1), T0 + 1);
    const [item] = (await store.list(ahead, { first: 1 }, T0 + 2)).items;
    expect(seqOf(item!.id)).toBeGreaterThan(far);
    expect(item!.broadcastId).toBe(b.id);
    const [plain] = (await store.list(other, { first: 1 }, T0 + 2)).items;
    expect([plain!.id, plain!.broadcastId]).toEqual([b.id, b.id]);
    // and the partition's next id goes on above it
    const next = storedOf((await store.send([ahead], newItem(T0 + 3), T0 + 3))[0]);
    expect(seqOf(next.id)).toBeGreaterThan(seqOf(item!.id));
  });

  it('after Redis is wiped, every new id is above every id issued before, and old cursors resume incomplete', async () => {
    const { store, prefix, redis } = make();
    const users = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const before = (await store.send(users, newItem(T0), T0)).map((o) => storedOf(o).id);
    const b = await store.broadcast(newBroadcast(T0 + 1), T0 + 1);
    const highest = Math.max(...[...before, b.id].map(seqOf));
    expect(await deleteByPrefix(redis, prefix)).toBeGreaterThan(0);
    const after = (await store.send(users, newItem(T0 + 2), T0 + 2)).map((o) => storedOf(o).id);
    const b2 = await store.broadcast(newBroadcast(T0 + 3), T0 + 3);
    for (const id of [...after, b2.id]) expect(seqOf(id)).toBeGreaterThan(highest);
    const snap = await store.inboxSnapshot(users[0]!, before[0]!, 'tok', T0 + 4);
    expect(snap.complete).toBe(false);
    expect(snap.items.map((n) => n.id)).toEqual([after[0], b2.id]);
  });

  it('every script call, of every script, touches the keys of one Redis Cluster slot', async () => {
    const { store, redis, prefix } = make();
    const outbox = createRedisDeliveryStore({ redis, prefix });
    const users = Array.from({ length: 40 }, (_, i) => `s${i}`);
    const workload = async (T0: number) => {
      await store.ensureUser('s0', T0);
      await store.upsertUser('s1', { displayName: 'S' }, T0);
      await store.updatePreferences('s2', { mutedTypes: ['promo'], channels: [{ type: '*', channels: ['WEBHOOK'] }] }, T0);
      await outbox.setAddress('s2', { channel: 'WEBHOOK', address: 'https://example.test/h', secret: 'x'.repeat(32), updatedAt: T0 });
      const sent = (await store.send(users, { ...newItem(T0, { ttl: 1000 }), channels: ['WEBHOOK'] }, T0)).map((o) => storedOf(o).id);
      await store.send(['s3'], { ...newItem(T0), channels: ['WEBHOOK'], escalateAfterMs: 60_000 }, T0);
      const b = await store.broadcast(newBroadcast(T0 + 1), T0 + 1);
      await store.list('s0', { first: 5 }, T0 + 2);
      await store.since('s0', sent[0]!, T0 + 2);
      await store.inboxSnapshot('s0', sent[0]!, 'tok', T0 + 2);
      await store.get('s0', [sent[0]!], T0 + 2);
      await store.markRead('s0', [sent[0]!], T0 + 2);
      await store.markUnread('s0', [sent[0]!], T0 + 2);
      await store.markAllRead('s1', T0 + 2);
      await store.delete('s1', [b.id], T0 + 2);
      await store.unreadCounts(users, T0 + 2);
      await store.sweepExpired(T0 + 5000, 100);
      await store.pruneExpired(T0 + 5000);
      await store.epoch();
      const id = await store.schedule({ userIds: ['s4'], content: { type: 't', title: 'x', body: '', data: null, priority: 'NORMAL' }, ttlMs: 1000, dedupWindowMs: 0, sendAt: T0 }, T0);
      await store.claimScheduled(T0 + 1, 10, 1000);
      await store.completeScheduled(id);
      await store.beginJobRun('slot-check', { token: 'tok', ttlMs: 1000, slot: null }, T0);
      await store.endJobRun('slot-check', { token: 'tok', startedAt: T0, status: 'ok' });
      const [entry] = await outbox.take(['WEBHOOK'], 'me', 10, 0);
      await outbox.finish(entry!, { kind: 'failed', error: 'no' }, T0 + 3);
      await outbox.retry(entry!.deliveryId, T0 + 4);
      await outbox.promoteDue(T0 + 120_000, 100);
      await outbox.prune(T0 + 100 * 24 * 3600_000);
    };
    const calls = await scriptCalls(redis, () => workload(T0));
    // EVALSHA <sha> <number of keys> <keys…>
    const slotsOf = async (call: string[]) => new Set(await Promise.all(call.slice(3, 3 + Number(call[2])).map((k) => clusterKeySlot(k))));
    const shaToName = new Map((Object.keys(SCRIPTS) as ScriptName[]).map((n) => [createHash('sha1').update(scriptSource(n)).digest('hex'), n]));
    const seen = new Set<string>();
    for (const call of calls) {
      const script = shaToName.get(call[1]!) ?? `${call[0]} ${call[1]}`;
      seen.add(script);
      expect({ script, keys: call.slice(3, 3 + Number(call[2])), slots: (await slotsOf(call)).size }).toMatchObject({ slots: 1 });
    }
    expect([...seen].sort()).toEqual(Object.keys(SCRIPTS).sort());
  });

  it('a write whose WAIT is cut off by a closed connection fails retryably (its fate unknown), not as an internal error', async () => {
    const primary = await startRedisServer();
    const redis = new Redis(primary.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      const prefix = uniquePrefix();
      const store = createRedisStore({ redis, cap: 50, prefix, channels: channelNames(prefix), waitReplicas: 1 });
      // No replica: WAIT holds the reply for up to a second, long enough to close the server under it.
      const sent = store.send(['ann'], newItem(T0), T0).then(() => null, (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      await primary.kill();
      const err = await sent;
      expect(err).toMatchObject({ message: 'Command aborted due to connection close' });
      expect(isBackendUnavailable(err)).toBe(true);
    } finally {
      redis.disconnect();
      await primary.stop().catch(() => {});
    }
  });

  it('with waitReplicas, a write is acknowledged only once a replica has it: without one it fails, retryably', async () => {
    const primary = await startRedisServer();
    const cleanup: (() => Promise<unknown>)[] = [() => primary.stop()];
    try {
      const redis = new Redis(primary.url, { maxRetriesPerRequest: 1 });
      cleanup.unshift(() => redis.quit());
      const prefix = uniquePrefix();
      const store = createRedisStore({ redis, cap: 50, prefix, channels: channelNames(prefix), waitReplicas: 1 });
      const err = await store.send(['ann'], newItem(T0), T0).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicaAckError);
      expect(isBackendUnavailable(err)).toBe(true);

      const replica = await startRedisServer(undefined, { args: ['--replicaof', '127.0.0.1', String(new URL(primary.url).port)] });
      cleanup.unshift(() => replica.stop());
      const copy = new Redis(replica.url);
      cleanup.unshift(() => copy.quit());
      await until(async () => /master_link_status:up/.test(await copy.info('replication')), 'the replica in sync');
      const [out] = await store.send(['bob'], newItem(T0 + 1), T0 + 1);
      const b = await store.broadcast(newBroadcast(T0 + 2), T0 + 2);
      await store.markRead('bob', [b.id], T0 + 3);
      // acknowledged: the replica holds it already (WAIT returned after it did)
      expect(await copy.zscore(keySpace(prefix).user('bob').inbox, storedOf(out).id)).not.toBeNull();
      expect(await copy.zscore(keySpace(prefix).user('bob').inbox, b.id)).not.toBeNull();
    } finally {
      for (const c of cleanup) await c().catch(() => {});
    }
  });

  it('sends to many users travel in one round trip on one node', async () => {
    const { store, redis } = make();
    await redis.ping();
    const users = Array.from({ length: 64 }, (_, i) => `r${i}`);
    const { result, trips } = await countRoundTrips(redis, () => store.send(users, newItem(T0), T0));
    expect(result.every((o) => o.status === 'stored')).toBe(true);
    expect(trips).toEqual(['turn[evalsha sendNotification x64]']);
  });
});
