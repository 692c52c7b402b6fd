/**
 * The Store contract, scheduled sends (sendAt) and job runs (src/store/schedule-store.ts), with a
 * scheduled send delivered by the domain rule (NotificationService.deliverScheduled).
 * Run unchanged against every backend (test/helpers/store-backends.ts).
 */
import { describe, expect, it } from 'vitest';
import { decodeSeq } from '../src/notifications/ids.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import type { ScheduledSend } from '../src/store/store.js';
import { uniquePrefix } from './helpers/redis.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import { T0, SEC, MIN, HOUR, deliverScheduled, redis, prefixesToDelete, setups, statuses, storedOf, sendOne, listIds, seqOf } from './helpers/store-backends.js';

// ---------------------------------------------------------------------------------------------
// Scheduled sends (sendAt) and job runs (src/scheduler)
// ---------------------------------------------------------------------------------------------

describe.each(setups)('$name store: scheduled sends and job runs', ({ name, make }) => {
  const LEASE = 30 * SEC;
  const later = (o: Partial<ScheduledSend> = {}): ScheduledSend => ({
    userIds: ['a', 'b'],
    content: { type: 'news', title: 'later', body: 'scheduled body', data: { n: 1 }, priority: 'HIGH' },
    ttlMs: HOUR,
    dedupWindowMs: 0,
    sendAt: T0 + MIN,
    ...o,
  });

  it('keeps a send until it is due, then delivers it as if sent then (createdAt, TTL from delivery)', async () => {
    const { store } = make();
    const id = await store.schedule(later(), T0);
    expect(decodeSeq(id)).not.toBeNull();
    expect(await store.nextScheduledAt()).toBe(T0 + MIN);
    expect(await store.claimScheduled(T0 + MIN - 1, 10, LEASE)).toEqual([]);
    const at = T0 + MIN + 5;
    const claimed = await store.claimScheduled(at, 10, LEASE);
    expect(claimed).toEqual([{ ...later(), id }]);
    const outs = await deliverScheduled(store, claimed[0]!, at);
    expect(statuses(outs)).toEqual(['stored', 'stored']);
    const n = storedOf(outs[0]);
    expect(n).toMatchObject({ userId: 'a', type: 'news', title: 'later', body: 'scheduled body', data: { n: 1 }, priority: 'HIGH', createdAt: at, expiresAt: at + HOUR, readAt: null, broadcastId: null });
    expect(seqOf(n.id)).toBeGreaterThan(seqOf(id));
    await store.completeScheduled(id);
    expect(await store.nextScheduledAt()).toBeNull();
    expect(await store.claimScheduled(at + HOUR, 10, LEASE)).toEqual([]);
    expect(await listIds(store, 'b', at)).toEqual([storedOf(outs[1]).id]);
    // completing twice is harmless
    await store.completeScheduled(id);
  });

  it('takes scheduled ids from a sequence that only goes up, above the ids issued before them', async () => {
    const { store } = make();
    const before = await sendOne(store, 'a', T0);
    const ids = [await store.schedule(later(), T0 + 1), await store.schedule(later(), T0 + 1), await store.schedule(later(), T0 + 2)];
    expect(seqOf(before.id)).toBeLessThan(seqOf(ids[0]!));
    expect(ids.map(seqOf)).toEqual([...ids.map(seqOf)].sort((x, y) => x - y));
    expect(new Set([before.id, ...ids]).size).toBe(4);
  });

  it('leases what it claims: not claimed again until the lease runs out (a deliverer died), then again', async () => {
    const { store } = make();
    const id = await store.schedule(later(), T0);
    const at = T0 + MIN;
    expect((await store.claimScheduled(at, 10, LEASE)).map((s) => s.id)).toEqual([id]);
    expect(await store.claimScheduled(at + LEASE - 1, 10, LEASE)).toEqual([]);
    expect(await store.nextScheduledAt()).toBe(at + LEASE);
    expect((await store.claimScheduled(at + LEASE, 10, LEASE)).map((s) => s.id)).toEqual([id]);
  });

  it('claims the earliest due first, at most `limit` at a time', async () => {
    const { store } = make();
    const c = await store.schedule(later({ sendAt: T0 + 3 * SEC }), T0);
    const a = await store.schedule(later({ sendAt: T0 + 1 * SEC }), T0);
    const b = await store.schedule(later({ sendAt: T0 + 2 * SEC }), T0);
    expect((await store.claimScheduled(T0 + MIN, 2, LEASE)).map((s) => s.id)).toEqual([a, b]);
    expect((await store.claimScheduled(T0 + MIN, 2, LEASE)).map((s) => s.id)).toEqual([c]);
  });

  it('delivers a send once per user however often it is delivered again (crash between delivery and complete)', async () => {
    const { store } = make();
    await store.schedule(later({ userIds: ['a', 'b', 'c'] }), T0);
    const at = T0 + MIN;
    const [s] = await store.claimScheduled(at, 10, LEASE);
    // first delivery got through to everyone, then the deliverer died before completing
    expect(statuses(await deliverScheduled(store, s!, at))).toEqual(['stored', 'stored', 'stored']);
    const [again] = await store.claimScheduled(at + LEASE, 10, LEASE);
    expect(again!.id).toBe(s!.id);
    expect(statuses(await deliverScheduled(store, again!, at + LEASE))).toEqual(['deduplicated', 'deduplicated', 'deduplicated']);
    expect(statuses(await deliverScheduled(store, again!, at + LEASE + 1))).toEqual(['deduplicated', 'deduplicated', 'deduplicated']);
    for (const u of ['a', 'b', 'c']) {
      expect(await listIds(store, u, at + LEASE + 2)).toHaveLength(1);
      expect(await store.unreadCounts([u], at + LEASE + 2)).toEqual([1]);
    }
  });

  it('applies dedup and mute at delivery time; creates unknown users then', async () => {
    const { store } = make();
    await store.updatePreferences('m', { mutedTypes: ['news'] }, T0);
    await store.schedule(later({ userIds: ['a', 'm', 'new'], dedupKey: 'k', dedupWindowMs: HOUR }), T0);
    const at = T0 + MIN;
    await sendOne(store, 'a', at - 1, { dedupKey: 'k', window: HOUR });
    const [s] = await store.claimScheduled(at, 10, LEASE);
    expect(statuses(await deliverScheduled(store, s!, at))).toEqual(['deduplicated', 'muted', 'stored']);
    expect((await store.getUsers(['new']))[0]).toMatchObject({ id: 'new', active: true, createdAt: at });
  });

  it('expires delivered items by their TTL from delivery, and their marks with the rest (pruneExpired)', async () => {
    const { store, keys } = make();
    await store.schedule(later({ userIds: ['a'], ttlMs: MIN }), T0);
    const at = T0 + HOUR;
    const [s] = await store.claimScheduled(at, 10, LEASE);
    await deliverScheduled(store, s!, at);
    await store.completeScheduled(s!.id);
    expect(await listIds(store, 'a', at + MIN - 1)).toHaveLength(1);
    expect(await listIds(store, 'a', at + MIN)).toHaveLength(0);
    await store.pruneExpired(at + 2 * 24 * HOUR);
    if (keys) expect((await keys()).filter((k) => k.includes('sched') || k.includes(':dedup'))).toEqual([]);
  });

  it('beginJobRun: one owner at a time; only the owner releases the lock (endJobRun)', async () => {
    const { store } = make();
    expect(await store.beginJobRun('job-a', { token: 'A', ttlMs: MIN, slot: null }, T0)).toBe('started');
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: MIN, slot: null }, T0 + 1)).toBe('busy');
    // another job has its own lock
    expect(await store.beginJobRun('job-b', { token: 'B', ttlMs: MIN, slot: null }, T0 + 1)).toBe('started');
    // a stranger's end records its status but can't release A's lock
    await store.endJobRun('job-a', { token: 'B', startedAt: T0 + 1, status: 'ok' });
    expect(await store.beginJobRun('job-a', { token: 'C', ttlMs: MIN, slot: null }, T0 + 2)).toBe('busy');
    await store.endJobRun('job-a', { token: 'A', startedAt: T0, status: 'failed: boom' });
    expect(await store.beginJobRun('job-a', { token: 'C', ttlMs: MIN, slot: null }, T0 + 3)).toBe('started');
    expect(await store.jobStatuses(['job-a', 'job-b', 'never'])).toEqual([
      { lastRunAt: T0, lastStatus: 'failed: boom' },
      { lastRunAt: null, lastStatus: null },
      { lastRunAt: null, lastStatus: null },
    ]);
  });

  it('beginJobRun: a lock whose owner died frees itself after its TTL', async () => {
    const { store } = make();
    expect(await store.beginJobRun('job-a', { token: 'A', ttlMs: 30, slot: null }, T0)).toBe('started');
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: 30, slot: null }, T0 + 1)).toBe('busy');
    // Redis counts PX in real time; the memory store by `now`.
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: 30, slot: null }, T0 + 60)).toBe('started');
  });

  it('beginJobRun: each scheduled slot runs once, even after the lock is released; manual runs have no slot', async () => {
    const { store } = make();
    const slot = T0 + HOUR;
    expect(await store.beginJobRun('job-a', { token: 'A', ttlMs: MIN, slot }, T0)).toBe('started');
    await store.endJobRun('job-a', { token: 'A', startedAt: T0, status: 'ok' });
    // a late instance for the same occurrence, or an older one
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: MIN, slot }, T0 + 5)).toBe('done');
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: MIN, slot: slot - MIN }, T0 + 5)).toBe('done');
    expect(await store.beginJobRun('job-a', { token: 'M', ttlMs: MIN, slot: null }, T0 + 6)).toBe('started');
    await store.endJobRun('job-a', { token: 'M', startedAt: T0 + 6, status: 'ok' });
    expect(await store.beginJobRun('job-a', { token: 'C', ttlMs: MIN, slot: slot + MIN }, T0 + 7)).toBe('started');
    // busy wins over a new slot while someone runs
    expect(await store.beginJobRun('job-a', { token: 'D', ttlMs: MIN, slot: slot + 2 * MIN }, T0 + 8)).toBe('busy');
  });

  // Redis-only: registered for that backend alone.
  if (name === 'redis') it('keeps job state under P{g}:job:NAME and its lock, which carries a TTL', async () => {
    const prefix = uniquePrefix();
    prefixesToDelete.push(prefix);
    const store = createRedisStore({ redis, cap: 10, prefix, channels: channelNames(prefix) });
    await store.beginJobRun('job-a', { token: 'tok', ttlMs: MIN, slot: T0 }, T0);
    expect(await redis.get(`${prefix}{g}:job:job-a:lock`)).toBe('tok');
    const ttl = await redis.pttl(`${prefix}{g}:job:job-a:lock`);
    expect(ttl).toBeGreaterThan(MIN - 5 * SEC);
    expect(await redis.hgetall(`${prefix}{g}:job:job-a`)).toEqual({ lastSlot: String(T0) });
    await store.endJobRun('job-a', { token: 'tok', startedAt: T0, status: 'ok' });
    expect(await redis.exists(`${prefix}{g}:job:job-a:lock`)).toBe(0);
    await expect(store.beginJobRun('Bad:Name', { token: 't', ttlMs: MIN, slot: null }, T0)).rejects.toThrow(/job name/);
  });
});
