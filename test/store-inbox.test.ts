/**
 * The Store contract, inboxes (src/store/inbox-store.ts): ids, sends, the cap, pages, expiry, reads,
 * deletes, the inbox snapshot, published changes and the expiry sweep.
 * Run unchanged against every backend (test/helpers/store-backends.ts).
 */
import { describe, expect, it } from 'vitest';
import { clockSeq, encodeSeq } from '../src/notifications/ids.js';
import type { Notification, NotificationFilter, Priority } from '../src/notifications/types.js';
import type { Store } from '../src/store/store.js';
import { DEFAULT_PARTITIONS, partitionOf } from '../src/store/partition.js';
import { T0, SEC, MIN, HOUR, setups, content, newItem, statuses, storedOf, sendOne, broadcast, listIds, walk, userRec, seqOf } from './helpers/store-backends.js';

describe.each(setups)('$name store: inboxes', ({ make, record }) => {
  describe('ids', () => {
    it("are unique, fixed-width base36, ordered for each user (own items and broadcasts together), never below the clock", async () => {
      const { store } = make();
      const clockBefore = clockSeq();
      const first = await sendOne(store, 'a', T0);
      // The floor is the clock in µs (Redis: its clock's ms × 1024, above that; 1 s of slack).
      expect(seqOf(first.id)).toBeGreaterThanOrEqual(clockBefore - 1_000_000);

      // 40 ids in one call, over every partition: all distinct (across users, order is the commit time's only)
      const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
      const many = (await store.send([...users, 'a'], newItem(T0 + 1), T0 + 1)).map(storedOf);
      expect(many.map((n) => n.userId)).toEqual([...users, 'a']);
      expect(new Set([first.id, ...many.map((n) => n.id)]).size).toBe(42);

      const b = await broadcast(store, T0 + 2);
      const last = await sendOne(store, 'a', T0 + 3);
      const ordered = [first.id, many.at(-1)!.id, b.rec.id, last.id];
      const nums = ordered.map(seqOf);
      for (let i = 1; i < nums.length; i++) expect(nums[i]).toBeGreaterThan(nums[i - 1]!);
      // string order = numeric order
      expect([...ordered].sort()).toEqual(ordered);
      expect(encodeSeq(nums[0]!)).toBe(first.id);
      for (const id of [...ordered, ...many.map((n) => n.id)]) expect(id).toMatch(/^[0-9a-z]{11}$/);
      // the broadcast sits between a's own items, by id
      expect(await listIds(store, 'a', T0 + 4)).toEqual([last.id, b.rec.id, many.at(-1)!.id, first.id]);
    });
  });

  describe('send', () => {
    it('creates unknown users (active) and returns one outcome per user', async () => {
      const { store } = make();
      expect(await store.getUsers(['a', 'b'])).toEqual([null, null]);
      const c = content(T0, { type: 'order.shipped', priority: 'HIGH', data: { order: 7, lines: [{ sku: 'x' }] } });
      const outs = await store.send(['a', 'b'], { content: c, dedupWindowMs: 0 }, T0);
      const [idA, idB] = outs.map((o) => storedOf(o).id);
      expect(idB).not.toBe(idA);
      expect(outs).toEqual([
        { userId: 'a', status: 'stored', notification: { ...c, id: idA, userId: 'a', readAt: null, broadcastId: null } },
        { userId: 'b', status: 'stored', notification: { ...c, id: idB, userId: 'b', readAt: null, broadcastId: null } },
      ]);
      expect(await store.getUsers(['a', 'b'])).toEqual([userRec('a', T0), userRec('b', T0)]);
      expect(await store.countActiveUsers()).toBe(2);
      expect(await store.list('a', { first: 10 }, T0 + 1)).toEqual({
        items: [storedOf(outs[0])],
        hasNextPage: false,
        hasPreviousPage: false,
        totalCount: 1,
        unreadCount: 1,
      });
      expect(await store.get('b', [idB!], T0 + 1)).toEqual([storedOf(outs[1])]);

      // data null round-trips as null
      const n = await sendOne(store, 'a', T0 + 2, { data: null });
      expect(n.data).toBeNull();
      expect((await store.get('a', [n.id], T0 + 3))[0]?.data).toBeNull();

      // an existing user is left as it was
      await store.upsertUser('b', { displayName: 'Bee' }, T0 + 4);
      await sendOne(store, 'b', T0 + 5);
      expect(await store.getUsers(['b'])).toEqual([userRec('b', T0, { displayName: 'Bee' })]);
      expect(await store.send([], newItem(T0 + 6), T0 + 6)).toEqual([]);
    });

    it('dedup: one copy per (user, key) inside the window, per user, again once the window has passed', async () => {
      const { store } = make();
      const W = 10 * SEC;
      const s = async (users: string[], now: number, key = 'k1') =>
        statuses(await store.send(users, newItem(now, { dedupKey: key, window: W }), now));

      expect(await s(['a'], T0)).toEqual(['stored']);
      expect(await s(['a', 'b'], T0 + W - 1)).toEqual(['deduplicated', 'stored']); // per user
      expect(await s(['a'], T0 + W - 1, 'k2')).toEqual(['stored']); // per key
      expect(await s(['a'], T0 + W)).toEqual(['stored']); // a's window [T0, T0+W) is over
      expect(await s(['b'], T0 + W)).toEqual(['deduplicated']); // b's runs to T0+2W-1
      expect(await s(['a'], T0 + 2 * W - 1)).toEqual(['deduplicated']); // a's new window from T0+W
      expect(await s(['b'], T0 + 2 * W - 1)).toEqual(['stored']);

      // no key: no dedup
      expect(statuses(await store.send(['a', 'a'], newItem(T0 + 2 * W), T0 + 2 * W))).toEqual(['stored', 'stored']);

      expect((await store.list('a', { first: 10 }, T0 + 2 * W)).totalCount).toBe(5);
      expect((await store.list('b', { first: 10 }, T0 + 2 * W)).totalCount).toBe(2);
    });

    it('dedup holds under 50 concurrent identical sends: exactly 1 stored, 49 deduplicated', async () => {
      const { store } = make();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.send(['fresh'], newItem(T0, { dedupKey: 'same', window: MIN }), T0)),
      );
      const all = results.flat().map((o) => o.status);
      expect(all).toHaveLength(50);
      expect(all.filter((s) => s === 'stored')).toHaveLength(1);
      expect(all.filter((s) => s === 'deduplicated')).toHaveLength(49);
      const page = await store.list('fresh', { first: 100 }, T0 + 1);
      expect(page.totalCount).toBe(1);
      expect(page.unreadCount).toBe(1);
      expect(await store.countActiveUsers()).toBe(1);
    });

    it("mute: a muted user gets 'muted' and nothing is stored; dedup is checked before mute", async () => {
      const { store } = make();
      await store.updatePreferences('a', { mutedTypes: ['promo'] }, T0);
      const promo = (now: number, dedupKey?: string) => newItem(now, { type: 'promo', dedupKey, window: MIN });

      expect(statuses(await store.send(['a', 'b'], promo(T0 + 1, 'p1'), T0 + 1))).toEqual(['muted', 'stored']);
      expect(statuses(await store.send(['a'], promo(T0 + 2), T0 + 2))).toEqual(['muted']);
      // dedup first: the muted attempt opened a's window too
      expect(statuses(await store.send(['a', 'b'], promo(T0 + 3, 'p1'), T0 + 3))).toEqual(['deduplicated', 'deduplicated']);
      expect(await listIds(store, 'a', T0 + 3)).toEqual([]);

      const news = await sendOne(store, 'a', T0 + 4, { type: 'news' });
      await store.updatePreferences('a', { mutedTypes: [] }, T0 + 5);
      expect(statuses(await store.send(['a'], promo(T0 + 6, 'p1'), T0 + 6))).toEqual(['deduplicated']);
      const p2 = storedOf((await store.send(['a'], promo(T0 + 7, 'p2'), T0 + 7))[0]);
      expect(await listIds(store, 'a', T0 + 8)).toEqual([p2.id, news.id]);
      expect((await store.list('b', { first: 10 }, T0 + 8)).totalCount).toBe(1);
    });
  });

  describe('cap', () => {
    it('keeps the newest items; an item pushed out never comes back', async () => {
      const { store } = make({ cap: 5 });
      const sent: Notification[] = [];
      // the three newest expire early (at T0+i+SEC)
      for (let i = 0; i < 8; i++) sent.push(await sendOne(store, 'a', T0 + i, { ttl: i >= 5 ? SEC : HOUR }));
      const id = sent.map((n) => n.id);

      const page = await store.list('a', { first: 10 }, T0 + 10);
      expect(page.items.map((n) => n.id)).toEqual([id[7], id[6], id[5], id[4], id[3]]);
      expect(page.totalCount).toBe(5);
      expect(page.unreadCount).toBe(5);
      expect(await store.unreadCounts(['a'], T0 + 10)).toEqual([5]);
      expect(await store.get('a', id.slice(0, 3), T0 + 10)).toEqual([null, null, null]);
      expect(await store.markRead('a', [id[0]!], T0 + 10)).toEqual([]);

      expect(await store.delete('a', [id[7]!, id[0]!], T0 + 11)).toBe(1);
      expect(await listIds(store, 'a', T0 + 11)).toEqual([id[6], id[5], id[4], id[3]]);
      // id[5] expires at T0+5+SEC, id[6] at T0+6+SEC
      expect(await listIds(store, 'a', T0 + 5 + SEC)).toEqual([id[6], id[4], id[3]]);
      expect(await listIds(store, 'a', T0 + 6 + SEC)).toEqual([id[4], id[3]]);
      expect(await store.unreadCounts(['a'], T0 + 6 + SEC)).toEqual([2]);
      expect(await store.markAllRead('a', T0 + 6 + SEC)).toBe(2);
      // a new item is the only one that can take the free places
      const next = await sendOne(store, 'a', T0 + 7 + SEC);
      expect(await listIds(store, 'a', T0 + 7 + SEC)).toEqual([next.id, id[4], id[3]]);
    });
  });

  describe('list', () => {
    it('is newest first; first/after walks the inbox with no gap or duplicate', async () => {
      const { store } = make();
      const id: string[] = [];
      for (let i = 0; i < 7; i++) id.push((await sendOne(store, 'a', T0 + i)).id);
      const newest = [...id].reverse();

      const p1 = await store.list('a', { first: 3 }, T0 + 10);
      expect(p1.items.map((n) => n.id)).toEqual(newest.slice(0, 3));
      expect([p1.hasNextPage, p1.hasPreviousPage, p1.totalCount, p1.unreadCount]).toEqual([true, false, 7, 7]);
      const p2 = await store.list('a', { first: 3, after: p1.items.at(-1)!.id }, T0 + 10);
      expect(p2.items.map((n) => n.id)).toEqual(newest.slice(3, 6));
      expect([p2.hasNextPage, p2.hasPreviousPage, p2.totalCount, p2.unreadCount]).toEqual([true, true, 7, 7]);
      const p3 = await store.list('a', { first: 3, after: p2.items.at(-1)!.id }, T0 + 10);
      expect(p3.items.map((n) => n.id)).toEqual([id[0]]);
      expect([p3.hasNextPage, p3.hasPreviousPage]).toEqual([false, true]);
      const p4 = await store.list('a', { first: 3, after: id[0] }, T0 + 10);
      expect(p4.items).toEqual([]);
      expect([p4.hasNextPage, p4.hasPreviousPage, p4.totalCount]).toEqual([false, true, 7]);

      // a page that ends exactly at the oldest item has no next page
      const exact = await store.list('a', { first: 2, after: id[2] }, T0 + 10);
      expect(exact.items.map((n) => n.id)).toEqual([id[1], id[0]]);
      expect(exact.hasNextPage).toBe(false);
      expect((await store.list('a', { first: 7 }, T0 + 10)).hasNextPage).toBe(false);
      expect((await store.list('a', { first: 6 }, T0 + 10)).hasNextPage).toBe(true);

      for (const first of [1, 2, 3, 4, 6, 7, 8]) {
        const w = await walk(store, 'a', first, T0 + 10);
        expect(w.ids).toEqual(newest);
        expect(w.pages).toHaveLength(Math.max(1, Math.ceil(7 / first)));
      }

      // an unknown user has an empty inbox
      expect(await store.list('nobody', { first: 5 }, T0 + 10)).toEqual({
        items: [],
        hasNextPage: false,
        hasPreviousPage: false,
        totalCount: 0,
        unreadCount: 0,
      });
    });

    it('counts totalCount/unreadCount and filters unreadOnly, with pagination', async () => {
      const { store } = make();
      const id: string[] = [];
      for (let i = 0; i < 6; i++) id.push((await sendOne(store, 'a', T0 + i)).id);
      await store.markRead('a', [id[1]!, id[4]!], T0 + 10);

      const all = await store.list('a', { first: 10 }, T0 + 11);
      expect([all.totalCount, all.unreadCount]).toEqual([6, 4]);
      expect(all.items.map((n) => n.readAt)).toEqual([null, T0 + 10, null, null, T0 + 10, null]);

      const unreadIds = [id[5], id[3], id[2], id[0]];
      const u = await store.list('a', { first: 10, filter: { unreadOnly: true } }, T0 + 11);
      expect(u.items.map((n) => n.id)).toEqual(unreadIds);
      expect([u.totalCount, u.unreadCount]).toEqual([4, 4]);
      for (const first of [1, 3]) {
        const w = await walk(store, 'a', first, T0 + 11, { unreadOnly: true });
        expect(w.ids).toEqual(unreadIds);
        expect([w.totalCount, w.unreadCount]).toEqual([4, 4]);
      }
      // unreadOnly:false is no filter
      expect((await store.list('a', { first: 10, filter: { unreadOnly: false } }, T0 + 11)).totalCount).toBe(6);
    });

    it('filters by types and minPriority (LOW<NORMAL<HIGH<URGENT), combined with pagination and unreadOnly', async () => {
      const { store } = make();
      const spec: [string, Priority][] = [
        ['alert', 'LOW'], // 1
        ['promo', 'NORMAL'], // 2
        ['alert', 'HIGH'], // 3 read
        ['promo', 'URGENT'], // 4 read
        ['alert', 'NORMAL'], // 5
        ['system', 'HIGH'], // 6
        ['alert', 'URGENT'], // 7
        ['promo', 'LOW'], // 8 read
      ];
      const id: Record<number, string> = {};
      for (const [i, [type, priority]] of spec.entries()) id[i + 1] = (await sendOne(store, 'a', T0 + i, { type, priority })).id;
      await store.markRead('a', [id[3]!, id[4]!, id[8]!], T0 + 20);
      const now = T0 + 21;
      const ids = (...ns: number[]) => ns.map((n) => id[n]!);

      const check = async (filter: NotificationFilter, expected: string[], unread: number) => {
        const page = await store.list('a', { first: 100, filter }, now);
        expect(page.items.map((n) => n.id)).toEqual(expected);
        expect(page.totalCount).toBe(expected.length);
        expect(page.unreadCount).toBe(unread);
        for (const first of [2]) {
          const w = await walk(store, 'a', first, now, filter);
          expect(w.ids).toEqual(expected);
          expect([w.totalCount, w.unreadCount]).toEqual([expected.length, unread]);
        }
      };

      await check({ types: ['alert'] }, ids(7, 5, 3, 1), 3);
      await check({ minPriority: 'HIGH' }, ids(7, 6, 4, 3), 2);
      await check({ minPriority: 'URGENT' }, ids(7, 4), 1);
      await check({ types: ['alert', 'promo'], minPriority: 'NORMAL' }, ids(7, 5, 4, 3, 2), 3);
      await check({ types: ['alert'], unreadOnly: true }, ids(7, 5, 1), 3);
      await check({ types: ['promo'], minPriority: 'LOW', unreadOnly: true }, ids(2), 1);
      // a content filter that matches everything still counts unread among the matches
      await check({ minPriority: 'LOW' }, ids(8, 7, 6, 5, 4, 3, 2, 1), 5);
      // with a content filter unreadCount is among matching items: 0 here, not the inbox's 5
      await check({ types: ['nope'] }, [], 0);
      await check({ types: ['promo'] }, ids(8, 4, 2), 1);
      // without a content filter it is the whole inbox's unread count
      await check({}, ids(8, 7, 6, 5, 4, 3, 2, 1), 5);
      await check({ unreadOnly: true }, ids(7, 6, 5, 2, 1), 5);
      await check({ types: null, minPriority: null, unreadOnly: null }, ids(8, 7, 6, 5, 4, 3, 2, 1), 5);

      // explicit page flags with a filter
      const f: NotificationFilter = { types: ['alert', 'promo'], minPriority: 'NORMAL' };
      const p1 = await store.list('a', { first: 2, filter: f }, now);
      expect(p1.items.map((n) => n.id)).toEqual(ids(7, 5));
      expect([p1.hasNextPage, p1.hasPreviousPage, p1.totalCount, p1.unreadCount]).toEqual([true, false, 5, 3]);
      const p2 = await store.list('a', { first: 2, after: id[5], filter: f }, now);
      expect(p2.items.map((n) => n.id)).toEqual(ids(4, 3));
      expect([p2.hasNextPage, p2.hasPreviousPage]).toEqual([true, true]);
      const p3 = await store.list('a', { first: 2, after: id[3], filter: f }, now);
      expect(p3.items.map((n) => n.id)).toEqual(ids(2));
      expect([p3.hasNextPage, p3.hasPreviousPage, p3.totalCount, p3.unreadCount]).toEqual([false, true, 5, 3]);
      // the cursor may be an item the filter doesn't match (6 is 'system')
      const p4 = await store.list('a', { first: 10, after: id[6], filter: f }, now);
      expect(p4.items.map((n) => n.id)).toEqual(ids(5, 4, 3, 2));
      expect(p4.hasPreviousPage).toBe(true);
    });
  });

  describe('expiry', () => {
    it('items with expiresAt <= now never appear; unread counts are exact at every moment', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0, { ttl: 1000 });
      const B = await sendOne(store, 'a', T0, { ttl: 2000 });
      const C = await sendOne(store, 'a', T0, { ttl: 3000 });
      const X = await sendOne(store, 'b', T0, { ttl: 1200 });
      const D = await broadcast(store, T0 + 10, { ttl: 1500 }); // expires at T0+1510, a and b get it
      expect(D.rec.recipients).toBe(2);
      expect(await store.markRead('a', [B.id], T0 + 20)).toHaveLength(1);
      const aAll = [A.id, B.id, C.id, D.rec.id];

      const at = async (now: number, aIds: string[], aUnread: number, bIds: string[], bUnread: number) => {
        // counts first, so the first call to notice an expiry is unreadCounts
        expect(await store.unreadCounts(['a', 'b', 'nobody'], now)).toEqual([aUnread, bUnread, 0]);
        const pa = await store.list('a', { first: 10 }, now);
        expect(pa.items.map((n) => n.id)).toEqual(aIds);
        expect([pa.totalCount, pa.unreadCount]).toEqual([aIds.length, aUnread]);
        expect((await store.get('a', aAll, now)).map((n) => n?.id ?? null)).toEqual(aAll.map((i) => (aIds.includes(i) ? i : null)));
        const pb = await store.list('b', { first: 10, filter: { minPriority: 'LOW' } }, now);
        expect(pb.items.map((n) => n.id)).toEqual(bIds);
        expect([pb.totalCount, pb.unreadCount]).toEqual([bIds.length, bUnread]);
      };

      await at(T0 + 999, [D.rec.id, C.id, B.id, A.id], 3, [D.rec.id, X.id], 2);
      await at(T0 + 1000, [D.rec.id, C.id, B.id], 2, [D.rec.id, X.id], 2);
      expect(await store.markRead('a', [A.id], T0 + 1000)).toEqual([]);
      expect(await store.delete('a', [A.id], T0 + 1000)).toBe(0);
      await at(T0 + 1199, [D.rec.id, C.id, B.id], 2, [D.rec.id, X.id], 2);
      await at(T0 + 1200, [D.rec.id, C.id, B.id], 2, [D.rec.id], 1);
      await at(T0 + 1509, [D.rec.id, C.id, B.id], 2, [D.rec.id], 1);
      await at(T0 + 1510, [C.id, B.id], 1, [], 0);
      await at(T0 + 1999, [C.id, B.id], 1, [], 0);
      await at(T0 + 2000, [C.id], 1, [], 0);
      await at(T0 + 2999, [C.id], 1, [], 0);
      expect(await store.markAllRead('a', T0 + 3000)).toBe(0);
      await at(T0 + 3000, [], 0, [], 0);
    });
  });

  describe('markRead / markUnread / markAllRead / delete', () => {
    it('markRead returns the found notifications after the change; readAt is set once; markUnread clears it', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0);
      const B = await sendOne(store, 'a', T0 + 1);

      expect(await store.markRead('a', [A.id, 'nope', encodeSeq(999)], T0 + 10)).toEqual([{ ...A, readAt: T0 + 10 }]);
      // order of the request; A keeps its first readAt
      expect(await store.markRead('a', [B.id, A.id], T0 + 20)).toEqual([
        { ...B, readAt: T0 + 20 },
        { ...A, readAt: T0 + 10 },
      ]);
      expect(await store.get('a', [A.id, B.id], T0 + 21)).toEqual([
        { ...A, readAt: T0 + 10 },
        { ...B, readAt: T0 + 20 },
      ]);
      expect(await store.unreadCounts(['a'], T0 + 21)).toEqual([0]);

      expect(await store.markUnread('a', [A.id, 'nope'], T0 + 30)).toEqual([{ ...A, readAt: null }]);
      expect(await store.markUnread('a', [A.id], T0 + 31)).toEqual([{ ...A, readAt: null }]);
      expect(await store.unreadCounts(['a'], T0 + 31)).toEqual([1]);
      const page = await store.list('a', { first: 10 }, T0 + 31);
      expect(page.items).toEqual([
        { ...B, readAt: T0 + 20 },
        { ...A, readAt: null },
      ]);
      expect(page.unreadCount).toBe(1);
      // read again after unread: a fresh readAt
      expect(await store.markRead('a', [A.id], T0 + 40)).toEqual([{ ...A, readAt: T0 + 40 }]);

      expect(await store.markRead('a', [], T0 + 41)).toEqual([]);
      expect(await store.markUnread('a', [], T0 + 41)).toEqual([]);
      expect(await store.markRead('nobody', [A.id], T0 + 41)).toEqual([]);
    });

    it('markAllRead returns how many changed and keeps earlier readAt', async () => {
      const { store } = make();
      const n: Notification[] = [];
      for (let i = 0; i < 4; i++) n.push(await sendOne(store, 'a', T0 + i));
      const other = await sendOne(store, 'b', T0 + 5);
      await store.markRead('a', [n[1]!.id], T0 + 10);

      expect(await store.markAllRead('a', T0 + 20)).toBe(3);
      expect((await store.get('a', n.map((x) => x.id), T0 + 21)).map((x) => x?.readAt)).toEqual([T0 + 20, T0 + 10, T0 + 20, T0 + 20]);
      expect(await store.markAllRead('a', T0 + 30)).toBe(0);
      expect(await store.unreadCounts(['a', 'b'], T0 + 30)).toEqual([0, 1]);
      expect(await store.get('b', [other.id], T0 + 30)).toEqual([other]);
      expect(await store.markAllRead('nobody', T0 + 30)).toBe(0);
    });

    it('delete returns how many were removed (duplicates and unknown ids count nothing)', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0);
      const B = await sendOne(store, 'a', T0 + 1);
      const C = await sendOne(store, 'a', T0 + 2);
      await store.markRead('a', [B.id], T0 + 3);

      expect(await store.delete('a', [A.id, A.id, 'nope', encodeSeq(999), B.id], T0 + 10)).toBe(2);
      const page = await store.list('a', { first: 10 }, T0 + 10);
      expect(page.items).toEqual([C]);
      expect([page.totalCount, page.unreadCount]).toEqual([1, 1]);
      expect(await store.get('a', [A.id, B.id], T0 + 10)).toEqual([null, null]);
      expect(await store.delete('a', [A.id], T0 + 11)).toBe(0);
      expect(await store.delete('a', [], T0 + 11)).toBe(0);
      expect(await store.delete('nobody', [C.id], T0 + 11)).toBe(0);
      expect(await store.markUnread('a', [B.id], T0 + 12)).toEqual([]);
      expect(await store.unreadCounts(['a'], T0 + 12)).toEqual([1]);
    });

    it("a user never reads or changes another's notifications", async () => {
      const { store } = make();
      const X = await sendOne(store, 'a', T0);
      const Y = await sendOne(store, 'b', T0 + 1);
      const B = await broadcast(store, T0 + 2); // both have it, under the same id

      expect(await store.markRead('b', [X.id, B.rec.id], T0 + 10)).toEqual([B.view('b', T0 + 10)]);
      expect(await store.get('b', [X.id, Y.id], T0 + 10)).toEqual([null, Y]);
      expect(await store.markUnread('b', [X.id], T0 + 11)).toEqual([]);
      expect(await store.delete('b', [X.id], T0 + 11)).toBe(0);

      expect(await store.get('a', [X.id, B.rec.id, Y.id], T0 + 12)).toEqual([X, B.view('a'), null]);
      expect(await store.unreadCounts(['a', 'b'], T0 + 12)).toEqual([2, 1]);

      expect(await store.delete('a', [B.rec.id, Y.id], T0 + 13)).toBe(1);
      expect(await store.get('b', [B.rec.id], T0 + 13)).toEqual([B.view('b', T0 + 10)]);
      expect(await store.markAllRead('b', T0 + 14)).toBe(1);
      expect(await store.unreadCounts(['a', 'b'], T0 + 14)).toEqual([1, 0]);
      expect(await store.get('a', [X.id], T0 + 14)).toEqual([X]);
    });
  });

  describe('inbox snapshot (resume watermark)', () => {
    const snap = async (store: Store, userId: string, after: string | null, now: number) => {
      const { lastId, ...rest } = await store.inboxSnapshot(userId, after, 'tok', now);
      expect(lastId).toMatch(/^[0-9a-z]{11}$/);
      return rest;
    };
    const titles = (ns: Notification[]) => ns.map((n) => n.title);

    it('holds what is newer than after, oldest first, with the exact count; complete until something newer is removed', async () => {
      const { store } = make({ cap: 3 });
      const A = await sendOne(store, 'u', T0, { title: 'a' });
      const B = await sendOne(store, 'u', T0, { title: 'b' });
      const C = await sendOne(store, 'u', T0, { title: 'c' });
      await store.markRead('u', [B.id], T0 + 1);
      expect(await snap(store, 'u', null, T0 + 2)).toEqual({ unreadCount: 2, items: [], complete: null });
      expect(await snap(store, 'u', A.id, T0 + 2)).toEqual({ unreadCount: 2, items: [{ ...B, readAt: T0 + 1 }, C], complete: true });
      expect(await snap(store, 'u', C.id, T0 + 2)).toEqual({ unreadCount: 2, items: [], complete: true });
      // removing `after` itself (or anything older) loses nothing newer than it
      expect(await store.delete('u', [A.id], T0 + 3)).toBe(1);
      expect(await snap(store, 'u', A.id, T0 + 3)).toMatchObject({ items: [{ id: B.id }, { id: C.id }], complete: true });
      expect(await store.delete('u', [C.id], T0 + 4)).toBe(1);
      expect(await snap(store, 'u', A.id, T0 + 4)).toMatchObject({ unreadCount: 0, items: [{ id: B.id }], complete: false });
      expect(await snap(store, 'u', B.id, T0 + 4)).toMatchObject({ items: [], complete: false });
      expect(await snap(store, 'u', C.id, T0 + 4)).toMatchObject({ items: [], complete: true });
      // a user with nothing, whose ids come from u's sequence (partition): nothing lost
      const nobody = Array.from({ length: 1000 }, (_, i) => `nobody${i}`).find((n) => partitionOf(n, DEFAULT_PARTITIONS) === partitionOf('u', DEFAULT_PARTITIONS))!;
      expect(await snap(store, nobody, A.id, T0 + 4)).toEqual({ unreadCount: 0, items: [], complete: true });
    });

    it('a malformed after, or one beyond every id issued, is never complete', async () => {
      const { store, epochOf } = make();
      const A = await sendOne(store, 'u', T0);
      for (const after of ['x', '', 'ABCDEFGHIJK', `${A.id}0`, encodeSeq(seqOf(A.id) + 1), encodeSeq(seqOf(A.id) + 10 ** 9)]) {
        expect(await snap(store, 'u', after, T0)).toEqual({ unreadCount: 1, items: [], complete: false });
      }
      // at the data set's epoch: nothing before it to miss; before the epoch: it may have been lost
      const epoch = await epochOf('u');
      expect((await snap(store, 'u', encodeSeq(epoch), T0)).complete).toBe(true);
      for (const old of [encodeSeq(0), encodeSeq(10 ** 9), encodeSeq(epoch - 1)]) {
        expect(await snap(store, 'u', old, T0)).toMatchObject({ items: [A], complete: false });
      }
    });

    it('turns false on a cap push-out, an expiry, a broadcast pushing out; never on live-only or muted broadcasts', async () => {
      const { store } = make({ cap: 2 });
      const X = await sendOne(store, 'u', T0, { title: 'x' });
      await broadcast(store, T0 + 1, { saveOffline: false });
      await store.updatePreferences('u', { mutedTypes: ['promo'] }, T0 + 2);
      await broadcast(store, T0 + 3, { type: 'promo' });
      expect(await snap(store, 'u', X.id, T0 + 4)).toEqual({ unreadCount: 1, items: [], complete: true });
      const Y = await sendOne(store, 'u', T0 + 5, { title: 'y', ttl: SEC });
      expect(await snap(store, 'u', X.id, T0 + 6)).toMatchObject({ items: [Y], complete: true });
      expect(await snap(store, 'u', X.id, T0 + 5 + SEC)).toEqual({ unreadCount: 1, items: [], complete: false });

      const P = await sendOne(store, 'v', T0, { title: 'p' });
      await sendOne(store, 'v', T0, { title: 'q' });
      await sendOne(store, 'v', T0, { title: 'r' }); // pushes p (= after) out: nothing newer lost
      expect(await snap(store, 'v', P.id, T0)).toMatchObject({ unreadCount: 2, complete: true });
      await sendOne(store, 'v', T0, { title: 's' }); // pushes q out
      expect(titles((await snap(store, 'v', P.id, T0)).items)).toEqual(['r', 's']);
      expect((await snap(store, 'v', P.id, T0)).complete).toBe(false);

      const M = await sendOne(store, 'w', T0 + 10, { title: 'm' });
      await sendOne(store, 'w', T0 + 10, { title: 'n' });
      const B1 = await broadcast(store, T0 + 11, { title: 'b1' }); // settled later: pushes m out
      expect(await snap(store, 'w', M.id, T0 + 12)).toMatchObject({ complete: true });
      await broadcast(store, T0 + 13, { title: 'b2' }); // pushes n out
      const s = await snap(store, 'w', M.id, T0 + 14);
      expect([titles(s.items), s.complete]).toEqual([['b1', 'b2'], false]);
      expect(s.items[0]).toEqual(B1.view('w'));
    });
  });

  describe('published changes', () => {
    it('one unread event per commit that changes the count, the read state or removes items, with the ids; the sync event last', async () => {
      const { store, events } = await record({ cap: 2 });
      const A = await sendOne(store, 'u', T0, { ttl: MIN });
      const B = await sendOne(store, 'u', T0, { ttl: HOUR });
      await store.markRead('u', [A.id, A.id, encodeSeq(10 ** 6)], T0 + 1);
      await store.markRead('u', [A.id], T0 + 2); // already read: nothing to say
      await store.markUnread('u', [A.id, B.id], T0 + 3); // only A changes
      await store.markAllRead('u', T0 + 4);
      const C = await sendOne(store, 'u', T0 + 5, { ttl: 2 * MIN }); // pushes A out
      await store.delete('u', [B.id], T0 + 6);
      await store.list('u', { first: 10 }, T0 + 7); // nothing changes: nothing published
      await store.markRead('u', [C.id], T0 + 8);
      await store.inboxSnapshot('u', null, 'tok1', T0 + 5 + 2 * MIN); // C expired: noticed, then the sync
      const evs = await events('u');
      const notification = (n: Notification) => ({ kind: 'notification', id: n.id, v: expect.any(String) });
      expect(evs).toEqual([
        notification(A),
        { kind: 'unread', count: 1 },
        notification(B),
        { kind: 'unread', count: 2 },
        { kind: 'unread', count: 1, read: [A.id] },
        { kind: 'unread', count: 2, unread: [A.id] },
        { kind: 'unread', count: 0, read: [A.id, B.id] },
        notification(C),
        { kind: 'unread', count: 1, removed: [A.id] },
        { kind: 'unread', count: 1, removed: [B.id] },
        { kind: 'unread', count: 0, read: [C.id] },
        { kind: 'unread', count: 0, removed: [C.id] },
        { kind: 'sync', token: 'tok1' },
      ]);
    });
  });

  describe('sweepExpired (expiry index)', () => {
    it('settles only the users whose next expiry has passed, earliest first, a limit at a time, and publishes what expired', async () => {
      const { store, events } = await record();
      const A = await sendOne(store, 'a', T0, { ttl: SEC });
      await sendOne(store, 'a', T0, { ttl: HOUR });
      const B = await sendOne(store, 'b', T0, { ttl: 2 * SEC });
      await sendOne(store, 'c', T0, { ttl: HOUR });
      await store.ensureUser('d', T0);
      expect(await store.sweepExpired(T0 + SEC - 1, 10)).toBe(0);
      expect(await store.sweepExpired(T0 + 2 * SEC, 1)).toBe(1); // a: due first
      expect((await events('a')).at(-1)).toEqual({ kind: 'unread', count: 1, removed: [A.id] });
      expect((await events('b')).at(-1)).toEqual({ kind: 'unread', count: 1 }); // not yet visited
      expect(await store.sweepExpired(T0 + 2 * SEC, 10)).toBe(1); // b
      expect((await events('b')).at(-1)).toEqual({ kind: 'unread', count: 0, removed: [B.id] });
      expect(await store.sweepExpired(T0 + 2 * SEC, 10)).toBe(0); // settled: due again only at their next expiry
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 2 * SEC)).toEqual([1, 0, 1]);
      expect(await store.sweepExpired(T0 + HOUR, 10)).toBe(2); // a and c
      expect(await store.sweepExpired(T0 + 2 * HOUR, 10)).toBe(0);
    });

    it('a user whose inbox changed is due at its new next expiry; a dedup mark makes it due too', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0, { ttl: SEC });
      await store.delete('a', [A.id], T0 + 1); // nothing left to expire
      expect(await store.sweepExpired(T0 + SEC, 10)).toBe(0);
      await sendOne(store, 'a', T0 + 2, { ttl: HOUR, dedupKey: 'k', window: MIN });
      expect(await store.sweepExpired(T0 + 1 + MIN, 10)).toBe(0);
      expect(await store.sweepExpired(T0 + 2 + MIN, 10)).toBe(1); // the dedup mark's end
      expect(await store.sweepExpired(T0 + 3 + MIN, 10)).toBe(0);
      expect(await store.sweepExpired(T0 + 2 + HOUR, 10)).toBe(1);
    });

    it('sweeps running at the same time settle each user once', async () => {
      const { store } = make();
      for (let i = 0; i < 20; i++) await sendOne(store, `u${i}`, T0, { ttl: SEC });
      const counts = await Promise.all([store.sweepExpired(T0 + SEC, 7), store.sweepExpired(T0 + SEC, 7), store.sweepExpired(T0 + SEC, 7)]);
      const more = await store.sweepExpired(T0 + SEC, 100);
      expect(counts.reduce((x, y) => x + y, 0) + more).toBe(20);
      expect(await store.unreadCounts([...Array(20).keys()].map((i) => `u${i}`), T0 + SEC)).toEqual(Array(20).fill(0));
    });
  });
});
