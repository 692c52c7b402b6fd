/**
 * The DeliveryStore contract (src/store/delivery-store.ts) on both backends, with the routing
 * that Store.send applies when it stores: the same table-driven suite for the memory outbox and
 * the Redis one (streams + Lua). Time is a parameter; nothing sleeps.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { SKIP, deliveryId, type ExternalChannel } from '../src/store/deliveries.js';
import type { NotificationContent } from '../src/notifications/types.js';
import { DELIVERY_RETENTION_MS, type DeliveryStore } from '../src/store/delivery-store.js';
import { createMemoryDeliveryStore } from '../src/store/memory/memory-delivery-store.js';
import { createMemoryStore } from '../src/store/memory/memory-store.js';
import { createRedisDeliveryStore } from '../src/store/redis/redis-delivery-store.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import type { ClaimedSend, Store } from '../src/store/store.js';
import { NotificationService } from '../src/notifications/service.js';
import type { Cluster, Redis } from 'ioredis';
import { deleteByPrefix, uniquePrefix, withCluster, withRedis } from './helpers/redis.js';

/** A scheduled send's delivery, the domain rule (NotificationService.deliverScheduled) over this store. */
const deliverScheduled = (store: Store, send: ClaimedSend, now: number) => new NotificationService(store).deliverScheduled(send, now);

const T0 = Date.now();
const HOUR = 3600_000;
const redis = withRedis();
const cluster = withCluster();
const prefixes: [Redis | Cluster, string][] = [];
afterEach(async () => {
  for (const [on, p] of prefixes.splice(0)) await deleteByPrefix(on, p);
});

/** The Redis outbox on one node or on the test cluster (one partition's outbox per slot there). */
const onRedis = (conn: Redis | Cluster) => () => {
  const prefix = uniquePrefix();
  prefixes.push([conn, prefix]);
  return { store: createRedisStore({ redis: conn, cap: 50, prefix, channels: channelNames(prefix) }), outbox: createRedisDeliveryStore({ redis: conn, prefix }) };
};

const setups: Record<string, () => { store: Store; outbox: DeliveryStore }> = {
  memory: () => {
    const outbox = createMemoryDeliveryStore();
    return { store: createMemoryStore({ cap: 50, outbox }), outbox };
  },
  redis: onRedis(redis),
  cluster: onRedis(cluster),
};

const content = (over: Partial<NotificationContent> = {}): NotificationContent => ({
  type: 'task_assigned',
  title: 'Review PR',
  body: 'please',
  data: { pr: 7 },
  priority: 'HIGH',
  createdAt: T0,
  expiresAt: T0 + 24 * HOUR,
  ...over,
});

async function sendTo(store: Store, userId: string, channels: ExternalChannel[], now = T0, over: Partial<Parameters<Store['send']>[1]> = {}) {
  const [o] = await store.send([userId], { content: content({ createdAt: now, expiresAt: now + 24 * HOUR }), dedupWindowMs: HOUR, channels, ...over }, now);
  if (o?.status !== 'stored') throw new Error(`not stored: ${o?.status}`);
  return o.notification.id;
}

async function optIn(store: Store, outbox: DeliveryStore, userId: string, channels: ExternalChannel[], type = '*') {
  await store.ensureUser(userId, T0);
  await store.updatePreferences(userId, { channels: [{ type, channels }] }, T0);
  for (const channel of channels) {
    await outbox.setAddress(userId, { channel, address: channel === 'TELEGRAM' ? '12345' : `addr-${channel}`, secret: channel === 'WEBHOOK' ? 'whsec_x' : null, updatedAt: T0 });
  }
}

for (const [name, make] of Object.entries(setups)) {
  describe(`delivery store contract: ${name}`, () => {
    it('keeps one address per channel, replaced on set, gone on remove', async () => {
      const { outbox } = make();
      await outbox.setAddress('ann', { channel: 'WEBHOOK', address: 'https://a.example/1', secret: 's1', updatedAt: T0 });
      await outbox.setAddress('ann', { channel: 'WEBHOOK', address: 'https://a.example/2', secret: 's2', updatedAt: T0 + 1 });
      await outbox.setAddress('ann', { channel: 'TELEGRAM', address: '42', secret: null, updatedAt: T0 });
      expect(await outbox.addresses('ann')).toEqual([
        { channel: 'WEBHOOK', address: 'https://a.example/2', secret: 's2', updatedAt: T0 + 1 },
        { channel: 'TELEGRAM', address: '42', secret: null, updatedAt: T0 },
      ]);
      expect(await outbox.removeAddress('ann', 'WEBHOOK')).toBe(true);
      expect(await outbox.removeAddress('ann', 'WEBHOOK')).toBe(false);
      expect((await outbox.addresses('ann')).map((a) => a.channel)).toEqual(['TELEGRAM']);
      expect(await outbox.addresses('bob')).toEqual([]);
    });

    it('routes a send: its channels ∩ preferences for the type ∩ addresses, the rest SKIPPED with the reason', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK', 'TELEGRAM']);
      // WECOM wanted through "*" but no address; TELEGRAM not wanted for this type (own entry overrides "*").
      await store.updatePreferences('ann', { channels: [{ type: '*', channels: ['WEBHOOK', 'WECOM'] }, { type: 'task_assigned', channels: ['WEBHOOK', 'WECOM'] }] }, T0);
      const id = await sendTo(store, 'ann', ['WEBHOOK', 'TELEGRAM', 'WECOM']);
      const [w, t, c] = await outbox.get((['WEBHOOK', 'TELEGRAM', 'WECOM'] as const).map((ch) => deliveryId(id, ch)));
      expect(w).toMatchObject({ id: `${id}-w`, notificationId: id, userId: 'ann', channel: 'WEBHOOK', status: 'PENDING', attempts: 0, lastError: null, createdAt: T0, nextAttemptAt: null, escalate: false });
      expect(t).toMatchObject({ status: 'SKIPPED', lastError: SKIP.optedOut });
      expect(c).toMatchObject({ status: 'SKIPPED', lastError: SKIP.noAddress });
      // The rendered content travels with the delivery.
      expect(w!.content).toContain('"title":"Review PR"');
      expect(await outbox.countByStatus()).toEqual({ PENDING: 1, RETRYING: 0, DELIVERED: 0, FAILED: 0, SKIPPED: 2 });
    });

    it('queues nothing for a muted type, a deduplicated send or a send without channels', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK']);
      await store.updatePreferences('ann', { mutedTypes: ['task_assigned'] }, T0);
      const muted = await store.send(['ann'], { content: content(), dedupWindowMs: HOUR, channels: ['WEBHOOK'] }, T0);
      expect(muted[0]!.status).toBe('muted');
      await store.updatePreferences('ann', { mutedTypes: [] }, T0);
      await sendTo(store, 'ann', [], T0);
      await sendTo(store, 'ann', ['WEBHOOK'], T0, { dedupKey: 'k' });
      const again = await store.send(['ann'], { content: content(), dedupKey: 'k', dedupWindowMs: HOUR, channels: ['WEBHOOK'] }, T0 + 1);
      expect(again[0]!.status).toBe('deduplicated');
      expect((await outbox.countByStatus()).PENDING).toBe(1);
      expect((await outbox.log({ first: 10 })).totalCount).toBe(1);
    });

    it('a scheduled send is routed when it is delivered, with the preferences of that moment', async () => {
      const { store, outbox } = make();
      await store.ensureUser('ann', T0);
      await outbox.setAddress('ann', { channel: 'WEBHOOK', address: 'https://a.example/h', secret: 'whsec_x', updatedAt: T0 });
      const id = await store.schedule({ userIds: ['ann'], content: { type: 'task_assigned', title: 't', body: '', data: null, priority: 'NORMAL' }, ttlMs: HOUR, dedupWindowMs: HOUR, sendAt: T0 + HOUR, channels: ['WEBHOOK'] }, T0);
      // Opted in only after scheduling: routing reads the preferences at delivery.
      await store.updatePreferences('ann', { channels: [{ type: '*', channels: ['WEBHOOK'] }] }, T0);
      const [claimed] = await store.claimScheduled(T0 + HOUR, 10, 60_000);
      expect(claimed!.id).toBe(id);
      const [o] = await deliverScheduled(store, claimed!, T0 + HOUR);
      if (o?.status !== 'stored') throw new Error('not stored');
      expect((await outbox.get([`${o.notification.id}-w`]))[0]).toMatchObject({ status: 'PENDING', createdAt: T0 + HOUR });
    });

    it('hands each ready entry to one consumer and records a delivery', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK']);
      const id = await sendTo(store, 'ann', ['WEBHOOK']);
      const taken = await outbox.take(['WEBHOOK', 'TELEGRAM'], 'a', 10, 0);
      expect(taken.map((e) => [e.deliveryId, e.channel])).toEqual([[`${id}-w`, 'WEBHOOK']]);
      expect(await outbox.take(['WEBHOOK'], 'b', 10, 0)).toEqual([]);
      const d = await outbox.finish(taken[0]!, { kind: 'delivered' }, T0 + 5);
      expect(d).toMatchObject({ status: 'DELIVERED', attempts: 1, deliveredAt: T0 + 5, lastError: null });
      // A second finish of the same entry (a reclaimed duplicate) only releases it.
      expect(await outbox.finish(taken[0]!, { kind: 'failed', error: 'late' }, T0 + 6)).toBeNull();
      expect((await outbox.get([`${id}-w`]))[0]!.status).toBe('DELIVERED');
    });

    it('retries at nextAttemptAt, then FAILED at maxAttempts; retry() puts a dead letter back, only from FAILED', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['TELEGRAM']);
      const id = await sendTo(store, 'ann', ['TELEGRAM']);
      const did = `${id}-t`;
      let [e] = await outbox.take(['TELEGRAM'], 'a', 1, 0);
      expect(await outbox.finish(e!, { kind: 'retry', error: '503 busy', nextAttemptAt: T0 + 1000, maxAttempts: 2 }, T0)).toMatchObject({ status: 'RETRYING', attempts: 1, lastError: '503 busy', nextAttemptAt: T0 + 1000 });
      expect((await outbox.promoteDue(T0 + 999, 10)).moved).toBe(0);
      expect(await outbox.take(['TELEGRAM'], 'a', 1, 0)).toEqual([]);
      expect((await outbox.promoteDue(T0 + 1000, 10)).moved).toBe(1);
      [e] = await outbox.take(['TELEGRAM'], 'a', 1, 0);
      expect(e!.deliveryId).toBe(did);
      expect(await outbox.finish(e!, { kind: 'retry', error: '503 again', nextAttemptAt: T0 + 3000, maxAttempts: 2 }, T0 + 1000)).toMatchObject({ status: 'FAILED', attempts: 2, nextAttemptAt: null });
      expect(await outbox.retry(`${id}-w`, T0)).toBe('not_found');
      const back = await outbox.retry(did, T0 + 2000);
      expect(back).toMatchObject({ id: did, status: 'PENDING', attempts: 0, lastError: null });
      expect(await outbox.retry(did, T0 + 2000)).toBe('not_failed');
      expect((await outbox.promoteDue(T0 + 2000, 10)).moved).toBe(1);
      [e] = await outbox.take(['TELEGRAM'], 'a', 1, 0);
      expect(await outbox.finish(e!, { kind: 'failed', error: '400 chat not found' }, T0 + 2001)).toMatchObject({ status: 'FAILED', attempts: 1, lastError: '400 chat not found' });
    });

    it('a deferred (throttled) attempt keeps its attempts and comes back when due', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WECOM']);
      await sendTo(store, 'ann', ['WECOM']);
      let [e] = await outbox.take(['WECOM'], 'a', 1, 0);
      expect(await outbox.finish(e!, { kind: 'defer', nextAttemptAt: T0 + 500 }, T0)).toMatchObject({ status: 'PENDING', attempts: 0, nextAttemptAt: T0 + 500 });
      expect(await outbox.promoteDue(T0 + 499, 10)).toEqual({ moved: 0, nextDueAt: T0 + 500 });
      expect(await outbox.promoteDue(T0 + 500, 10)).toEqual({ moved: 1, nextDueAt: null });
      [e] = await outbox.take(['WECOM'], 'a', 1, 0);
      expect(e).toBeDefined();
    });

    it('an escalating delivery waits in the due set until its time', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK']);
      const id = await sendTo(store, 'ann', ['WEBHOOK'], T0, { escalateAfterMs: 60_000 });
      expect((await outbox.get([`${id}-w`]))[0]).toMatchObject({ status: 'PENDING', escalate: true, nextAttemptAt: T0 + 60_000 });
      expect((await outbox.promoteDue(T0 + 59_999, 10)).moved).toBe(0);
      expect(await outbox.take(['WEBHOOK'], 'a', 1, 0)).toEqual([]);
      expect((await outbox.promoteDue(T0 + 60_000, 10)).moved).toBe(1);
      expect((await outbox.take(['WEBHOOK'], 'a', 1, 0)).map((e) => e.deliveryId)).toEqual([`${id}-w`]);
    });

    it('a take that finds nothing waits before it answers (an idle outbox does not read again at once)', async () => {
      const { outbox } = make();
      const all: ExternalChannel[] = ['WEBHOOK', 'TELEGRAM', 'WECOM'];
      expect(await outbox.take(all, 'a', 10, 0)).toEqual([]); // the first take creates the consumer groups: not timed
      const t0 = performance.now();
      expect(await outbox.take(all, 'a', 10, 300)).toEqual([]);
      // a blocking read waits the whole 300 ms, a polling one (the cluster's) one interval, 100 ms
      expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    });

    it('an entry whose consumer went quiet is reclaimed by another', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK']);
      const id = await sendTo(store, 'ann', ['WEBHOOK']);
      await outbox.take(['WEBHOOK'], 'dead', 1, 0);
      expect(await outbox.reclaim('WEBHOOK', 'alive', 60_000, 10)).toEqual([]);
      const got = await outbox.reclaim('WEBHOOK', 'alive', 0, 10);
      expect(got.map((e) => e.deliveryId)).toEqual([`${id}-w`]);
      expect(await outbox.finish(got[0]!, { kind: 'delivered' }, T0)).toMatchObject({ status: 'DELIVERED' });
      expect(await outbox.reclaim('WEBHOOK', 'alive', 0, 10)).toEqual([]);
    });

    it('the log is newest first, pages by delivery id, filters and counts exactly', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK', 'TELEGRAM']);
      await optIn(store, outbox, 'bob', ['WEBHOOK']);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await sendTo(store, 'ann', ['WEBHOOK', 'TELEGRAM'], T0 + i));
      ids.push(await sendTo(store, 'bob', ['WEBHOOK', 'TELEGRAM'], T0 + 3));
      // Newest first by delivery id; across users, ids are ordered only to the millisecond.
      const newest = (ds: string[]) => [...ds].sort().reverse();
      const every = newest(ids.flatMap((id) => [`${id}-w`, `${id}-t`]));
      const all = await outbox.log({ first: 3 });
      expect(all.items.map((d) => d.id)).toEqual(every.slice(0, 3));
      expect([all.hasNextPage, all.totalCount]).toEqual([true, 8]);
      const next = await outbox.log({ first: 10, after: all.items.at(-1)!.id });
      expect(next.items.map((d) => d.id)).toEqual(every.slice(3));
      expect(next.hasNextPage).toBe(false);
      const skipped = await outbox.log({ first: 10, status: ['SKIPPED'] });
      expect(skipped.items.map((d) => d.id)).toEqual([`${ids[3]}-t`]);
      expect(skipped.totalCount).toBe(1);
      const tg = await outbox.log({ first: 2, channel: 'TELEGRAM', status: ['PENDING'] });
      expect([tg.items.map((d) => d.id), tg.totalCount, tg.hasNextPage]).toEqual([newest(ids.slice(0, 3).map((id) => `${id}-t`)).slice(0, 2), 3, true]);
      const bob = await outbox.log({ first: 1, userId: 'bob' });
      expect([bob.items.map((d) => d.id), bob.totalCount, bob.hasNextPage]).toEqual([[`${ids[3]}-w`], 2, true]);
      const bobNext = await outbox.log({ first: 1, userId: 'bob', after: `${ids[3]}-w` });
      expect([bobNext.items.map((d) => d.id), bobNext.totalCount, bobNext.hasNextPage]).toEqual([[`${ids[3]}-t`], 2, false]);
    });

    it('forgets finished deliveries after the retention, and only those', async () => {
      const { store, outbox } = make();
      await optIn(store, outbox, 'ann', ['WEBHOOK']);
      const a = await sendTo(store, 'ann', ['WEBHOOK', 'WECOM']);
      const b = await sendTo(store, 'ann', ['WEBHOOK'], T0 + 1);
      const [e] = await outbox.take(['WEBHOOK'], 'a', 1, 0);
      expect(e!.deliveryId).toBe(`${a}-w`);
      await outbox.finish(e!, { kind: 'delivered' }, T0 + 10);
      expect(await outbox.prune(T0 + DELIVERY_RETENTION_MS, 100)).toBe(1); // the SKIPPED one (T0)
      expect(await outbox.prune(T0 + 10 + DELIVERY_RETENTION_MS, 100)).toBe(1);
      expect(await outbox.get([`${a}-w`, `${a}-c`, `${b}-w`])).toEqual([null, null, expect.objectContaining({ status: 'PENDING' })]);
      expect(await outbox.countByStatus()).toEqual({ PENDING: 1, RETRYING: 0, DELIVERED: 0, FAILED: 0, SKIPPED: 0 });
      expect((await outbox.log({ first: 10 })).items.map((d) => d.id)).toEqual([`${b}-w`]);
    });
  });
}
