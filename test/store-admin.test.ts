/**
 * The Store contract, policies, templates, the day's counters and health (src/store/admin-store.ts).
 * Run unchanged against every backend (test/helpers/store-backends.ts).
 */
import { describe, expect, it } from 'vitest';
import type { NotificationTypePolicy, Template } from '../src/notifications/types.js';
import { STATS_TTL_MS, keySpace } from '../src/store/redis/keys.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { uniquePrefix } from './helpers/redis.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import { T0, MIN, HOUR, redis, prefixesToDelete, setups, newItem, newBroadcast, statuses, sendOne, broadcast } from './helpers/store-backends.js';

describe.each(setups)('$name store: admin', ({ name, make }) => {
  it('has its kind and answers ping', async () => {
    const { store } = make();
    expect(store.kind).toBe(name === 'memory' ? 'memory' : 'redis');
    expect(await store.ping()).toBe(true);
  });

  describe('policies and templates', () => {
    it('round-trip, the last write per type/name winning', async () => {
      const { store } = make();
      expect(await store.getPolicies()).toEqual([]);
      expect(await store.getTemplates()).toEqual([]);
      const news: NotificationTypePolicy = { type: 'news', ttlSeconds: 3600, defaultPriority: 'NORMAL', dedupWindowSeconds: 0, description: null };
      const alert: NotificationTypePolicy = { type: 'alert', ttlSeconds: 60, defaultPriority: 'URGENT', dedupWindowSeconds: 30, description: 'Alerts' };
      await store.setPolicy(news);
      await store.setPolicy(alert);
      const news2 = { ...news, ttlSeconds: 7200, description: 'News' };
      await store.setPolicy(news2);
      const byType = (ps: NotificationTypePolicy[]) => [...ps].sort((x, y) => x.type.localeCompare(y.type));
      expect(byType(await store.getPolicies())).toEqual([alert, news2]);

      const welcome: Template = { name: 'welcome', type: 'news', title: 'Hi {{name}}', body: 'Welcome, {{name}}!' };
      const down: Template = { name: 'down', type: 'alert', title: 'Down', body: '{{service}} is down' };
      await store.upsertTemplate(welcome);
      await store.upsertTemplate(down);
      const welcome2 = { ...welcome, title: 'Hello {{name}}' };
      await store.upsertTemplate(welcome2);
      const byName = (ts: Template[]) => [...ts].sort((x, y) => x.name.localeCompare(y.name));
      expect(byName(await store.getTemplates())).toEqual([down, welcome2]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Daily stats (the dashboard's counters): kept by send and broadcast as they commit
// ---------------------------------------------------------------------------------------------

describe.each(setups)('$name store: daily stats', ({ name, make }) => {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);

  it('counts stored and deduplicated sends per UTC day, stored ones per type; muted ones not at all', async () => {
    const { store } = make();
    // 01:00 UTC today: the test spans two hours, which must stay inside one UTC day whenever it runs.
    const T0 = Date.parse(`${day(Date.now())}T01:00:00Z`);
    expect(await store.dailyStats(T0)).toEqual({ day: day(T0), sent: 0, deduplicated: 0, byType: {} });
    await store.updatePreferences('c', { mutedTypes: ['promo'] }, T0);
    expect(statuses(await store.send(['a', 'b', 'c'], newItem(T0 + 1, { type: 'promo' }), T0 + 1))).toEqual(['stored', 'stored', 'muted']);
    const news = (t: number) => store.send(['a', 'b'], newItem(t, { type: 'news', dedupKey: 'k', window: HOUR }), t);
    expect(statuses(await news(T0 + 2))).toEqual(['stored', 'stored']);
    expect(statuses(await news(T0 + 3))).toEqual(['deduplicated', 'deduplicated']);
    expect(statuses(await news(T0 + 4))).toEqual(['deduplicated', 'deduplicated']);
    expect(await store.dailyStats(T0 + 5)).toEqual({ day: day(T0), sent: 4, deduplicated: 4, byType: { promo: 2, news: 2 } });
    // reading, deleting or expiring afterwards changes nothing: these count what was sent
    const [n] = (await store.list('a', { first: 1 }, T0 + 6)).items;
    await store.delete('a', [n!.id], T0 + 6);
    await store.pruneExpired(T0 + 2 * HOUR);
    expect(await store.dailyStats(T0 + 2 * HOUR)).toMatchObject({ sent: 4, deduplicated: 4 });
  });

  it('counts a broadcast as its recipients, a deduplicated one as its audience, a live-only one not at all', async () => {
    const { store } = make();
    for (const u of ['a', 'b', 'c', 'd']) await store.ensureUser(u, T0);
    await store.updatePreferences('c', { mutedTypes: ['maintenance'] }, T0);
    await store.upsertUser('d', { active: false }, T0);
    const first = await broadcast(store, T0 + 1, { type: 'maintenance', dedupKey: 'm', window: HOUR });
    expect(first.rec).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
    const again = await broadcast(store, T0 + 2, { type: 'maintenance', dedupKey: 'm', window: HOUR });
    expect(again.rec).toMatchObject({ recipients: 0, deduplicated: 3 });
    await broadcast(store, T0 + 3, { type: 'live', saveOffline: false });
    await sendOne(store, 'a', T0 + 4, { type: 'maintenance' });
    expect(await store.dailyStats(T0 + 5)).toEqual({ day: day(T0), sent: 3, deduplicated: 3, byType: { maintenance: 3 } });
  });

  it('starts a new day at 00:00 UTC; each day keeps its own counts', async () => {
    const { store } = make();
    const midnight = Date.UTC(new Date(T0).getUTCFullYear(), new Date(T0).getUTCMonth(), new Date(T0).getUTCDate() + 2);
    await sendOne(store, 'a', midnight - 1, { type: 'late' });
    await sendOne(store, 'a', midnight, { type: 'early' });
    await sendOne(store, 'b', midnight + 23 * HOUR, { type: 'early' });
    expect(await store.dailyStats(midnight - HOUR)).toEqual({ day: day(midnight - 1), sent: 1, deduplicated: 0, byType: { late: 1 } });
    expect(await store.dailyStats(midnight + 23 * HOUR)).toEqual({ day: day(midnight), sent: 2, deduplicated: 0, byType: { early: 2 } });
    expect(day(midnight)).not.toBe(day(midnight - 1));
  });

  it('reports the used memory of Redis, null in memory', async () => {
    const { store } = make();
    const used = await store.usedMemoryBytes();
    if (name === 'memory') expect(used).toBeNull();
    else expect(used).toBeGreaterThan(100_000);
  });

  // Redis-only: registered for that backend alone.
  if (name === 'redis') it('keeps a day in one hash per partition that expires after a few days (STATS_TTL_MS)', async () => {
    const prefix = uniquePrefix();
    prefixesToDelete.push(prefix);
    const store = createRedisStore({ redis, cap: 10, prefix, channels: channelNames(prefix) });
    await sendOne(store, 'a', T0, { type: 'news' });
    await store.broadcast(newBroadcast(T0 + 1, { type: 'news' }), T0 + 1);
    // a's partition counts both: its send, and the broadcast's one recipient there
    const key = keySpace(prefix).partitionOf('a').day(day(T0));
    expect(await redis.hgetall(key)).toEqual({ sent: '2', 'type:news': '2' });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(STATS_TTL_MS - MIN);
    expect(ttl).toBeLessThanOrEqual(STATS_TTL_MS);
  });
});
