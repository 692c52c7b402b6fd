/**
 * The Store contract, broadcasts (src/store/inbox-store.ts): written once, settled into each
 * inbox on touch exactly as if copied at commit time; and pruneExpired, which cleans up after them.
 * Run unchanged against every backend (test/helpers/store-backends.ts).
 */
import { describe, expect, it } from 'vitest';
import { keySpace } from '../src/store/redis/keys.js';
import { T0, SEC, MIN, HOUR, setups, newItem, statuses, storedOf, sendOne, broadcast, listIds, seqOf } from './helpers/store-backends.js';


/**
 * What pruning leaves on Redis when everything expired (keys without their prefix): the user
 * hashes, the active sets of the partitions with active users, and the sequences (ids must
 * never repeat) with their epochs: every partition's, since each broadcast went to all of them.
 */
function leftovers({ users, active }: { users: string[]; active: string[] }): string[] {
  const keys = keySpace('');
  const parts = Array.from({ length: keys.partitions }, (_, n) => keys.partition(n));
  return [
    keys.global.seq,
    ...parts.flatMap((p) => [p.seq, p.epoch]),
    ...new Set(active.map((u) => keys.partitionOf(u).active)),
    ...users.map((u) => keys.user(u).user),
  ].sort();
}

describe.each(setups)('$name store: broadcasts', ({ make }) => {
  describe('broadcasts', () => {
    it('saveOffline reaches every active user as if copied into each inbox; read/delete only touch that view', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c']) await store.ensureUser(u, T0);
      const B = await broadcast(store, T0 + 10, { type: 'maintenance', priority: 'HIGH', title: 'Down at 5' });
      expect(B.rec).toEqual({
        id: B.rec.id,
        type: 'maintenance',
        title: 'Down at 5',
        createdAt: T0 + 10,
        saveOffline: true,
        recipients: 3,
        deduplicated: 0,
        muted: 0,
      });
      for (const u of ['a', 'b', 'c']) {
        expect(await store.list(u, { first: 10 }, T0 + 20)).toEqual({
          items: [B.view(u)],
          hasNextPage: false,
          hasPreviousPage: false,
          totalCount: 1,
          unreadCount: 1,
        });
      }
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 20)).toEqual([1, 1, 1]);

      expect(await store.markRead('a', [B.rec.id], T0 + 30)).toEqual([B.view('a', T0 + 30)]);
      expect(await store.delete('b', [B.rec.id], T0 + 31)).toBe(1);
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 32)).toEqual([0, 0, 1]);
      expect(await store.get('a', [B.rec.id], T0 + 32)).toEqual([B.view('a', T0 + 30)]);
      expect(await store.get('b', [B.rec.id], T0 + 32)).toEqual([null]);
      expect(await store.get('c', [B.rec.id], T0 + 32)).toEqual([B.view('c')]);
      // a deleted broadcast does not come back
      await broadcast(store, T0 + 40);
      expect((await store.list('b', { first: 10 }, T0 + 41)).totalCount).toBe(1);
      expect(await store.markUnread('a', [B.rec.id], T0 + 42)).toEqual([B.view('a')]);
      expect(await store.markAllRead('c', T0 + 43)).toBe(2);
    });

    it('every per-user operation settles pending broadcasts first', async () => {
      const { store } = make();
      const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
      for (const u of users) await store.ensureUser(u, T0);
      const B = await broadcast(store, T0 + 1);
      const now = T0 + 2;
      expect(await store.markAllRead('u1', now)).toBe(1);
      expect(await store.get('u2', [B.rec.id], now)).toEqual([B.view('u2')]);
      expect(await store.markRead('u3', [B.rec.id], now)).toEqual([B.view('u3', now)]);
      expect(await store.delete('u4', [B.rec.id], now)).toBe(1);
      expect(await store.unreadCounts(['u5'], now)).toEqual([1]);
      expect(await store.markUnread('u6', [B.rec.id], now)).toEqual([B.view('u6')]);
      const own = await sendOne(store, 'u7', now);
      expect(await listIds(store, 'u7', now)).toEqual([own.id, B.rec.id]);
    });

    it('a user created after the broadcast does not get it', async () => {
      const { store } = make();
      await store.ensureUser('a', T0);
      const B = await broadcast(store, T0 + 10);
      expect(B.rec.recipients).toBe(1);
      await store.ensureUser('late', T0 + 20);
      const own = await sendOne(store, 'bySend', T0 + 21);
      await store.upsertUser('byUpsert', { displayName: 'U' }, T0 + 22);
      await store.updatePreferences('byPrefs', { mutedTypes: ['x'] }, T0 + 23);
      expect(await listIds(store, 'late', T0 + 30)).toEqual([]);
      expect(await listIds(store, 'bySend', T0 + 30)).toEqual([own.id]);
      expect(await store.unreadCounts(['a', 'late', 'bySend', 'byUpsert', 'byPrefs'], T0 + 30)).toEqual([1, 0, 1, 0, 0]);
      // but they do get the next one
      const B2 = await broadcast(store, T0 + 40);
      expect(B2.rec.recipients).toBe(5);
      expect(await listIds(store, 'late', T0 + 50)).toEqual([B2.rec.id]);
      expect(await listIds(store, 'a', T0 + 50)).toEqual([B2.rec.id, B.rec.id]);
    });

    it('an inactive user gets nothing issued while inactive and keeps what it had before', async () => {
      const { store } = make();
      await store.ensureUser('a', T0);
      await store.ensureUser('b', T0);
      await store.upsertUser('c', { active: false }, T0 + 1); // created inactive
      const B1 = await broadcast(store, T0 + 10);
      expect(B1.rec.recipients).toBe(2);

      // b never looked at B1 before being deactivated: it still had it
      await store.upsertUser('b', { active: false }, T0 + 20);
      expect(await store.countActiveUsers()).toBe(1);
      const B2 = await broadcast(store, T0 + 30);
      expect(B2.rec).toMatchObject({ recipients: 1, muted: 0, deduplicated: 0 });
      expect(await listIds(store, 'b', T0 + 35)).toEqual([B1.rec.id]);

      await store.upsertUser('b', { active: true }, T0 + 40);
      await store.upsertUser('c', { active: true }, T0 + 41);
      expect(await store.countActiveUsers()).toBe(3);
      const B3 = await broadcast(store, T0 + 50);
      expect(B3.rec.recipients).toBe(3);

      expect(await listIds(store, 'a', T0 + 60)).toEqual([B3.rec.id, B2.rec.id, B1.rec.id]);
      expect(await listIds(store, 'b', T0 + 60)).toEqual([B3.rec.id, B1.rec.id]);
      expect(await listIds(store, 'c', T0 + 60)).toEqual([B3.rec.id]);
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 60)).toEqual([3, 2, 1]);
    });

    it('own sends and other users\' sends between broadcasts neither skip nor repeat one', async () => {
      const { store } = make();
      // On Redis, a and its neighbours share a partition: their sends move the sequence it settles against.
      const part = keySpace('').partitionOf('a').partition;
      const neighbours = Array.from({ length: 400 }, (_, i) => `n${i}`).filter((u) => keySpace('').partitionOf(u).partition === part).slice(0, 3);
      expect(neighbours).toHaveLength(3);
      for (const u of ['a', ...neighbours]) await store.ensureUser(u, T0);
      const own1 = await sendOne(store, 'a', T0 + 1);
      const B1 = await broadcast(store, T0 + 2);
      for (const u of neighbours) await sendOne(store, u, T0 + 3);
      const own2 = await sendOne(store, 'a', T0 + 4); // settles B1 first
      for (const u of neighbours) await sendOne(store, u, T0 + 5);
      const own3 = await sendOne(store, 'a', T0 + 6); // nothing left to settle
      const B2 = await broadcast(store, T0 + 7);
      for (const u of neighbours) await sendOne(store, u, T0 + 8);
      const B3 = await broadcast(store, T0 + 9);
      expect(await listIds(store, 'a', T0 + 10)).toEqual([B3.rec.id, B2.rec.id, own3.id, own2.id, B1.rec.id, own1.id]);
      expect(await store.unreadCounts(['a'], T0 + 10)).toEqual([6]);
      // read again, after more sends elsewhere: the same, once each
      for (const u of neighbours) await sendOne(store, u, T0 + 11);
      expect(await listIds(store, 'a', T0 + 12)).toEqual([B3.rec.id, B2.rec.id, own3.id, own2.id, B1.rec.id, own1.id]);
      for (const u of neighbours) expect(await listIds(store, u, T0 + 12)).toHaveLength(7);
    });

    it('muted: recipients = active - muted; muted = active users who muted the type; no retroactive delivery', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c', 'd']) await store.ensureUser(u, T0);
      await store.upsertUser('e', { active: false }, T0);
      await store.updatePreferences('a', { mutedTypes: ['promo'] }, T0 + 1);
      await store.updatePreferences('b', { mutedTypes: ['promo', 'other'] }, T0 + 1);
      await store.updatePreferences('c', { mutedTypes: ['other'] }, T0 + 1);
      await store.updatePreferences('e', { mutedTypes: ['promo'] }, T0 + 1); // inactive: not counted

      const P1 = await broadcast(store, T0 + 10, { type: 'promo' });
      expect(P1.rec).toMatchObject({ recipients: 2, muted: 2, deduplicated: 0 });
      const N1 = await broadcast(store, T0 + 11, { type: 'news' });
      expect(N1.rec).toMatchObject({ recipients: 4, muted: 0, deduplicated: 0 });

      expect(await listIds(store, 'a', T0 + 12)).toEqual([N1.rec.id]);
      expect(await listIds(store, 'c', T0 + 12)).toEqual([N1.rec.id, P1.rec.id]);
      expect(await listIds(store, 'd', T0 + 12)).toEqual([N1.rec.id, P1.rec.id]);
      expect(await listIds(store, 'e', T0 + 12)).toEqual([]);

      // b unmutes without having looked since P1: P1 stays undelivered
      await store.updatePreferences('b', { mutedTypes: [] }, T0 + 20);
      expect(await listIds(store, 'b', T0 + 21)).toEqual([N1.rec.id]);
      // a deactivated: no longer counted as muting
      await store.upsertUser('a', { active: false }, T0 + 22);
      const P2 = await broadcast(store, T0 + 30, { type: 'promo' });
      expect(P2.rec).toMatchObject({ recipients: 3, muted: 0 });
      // e activated: counted as muting
      await store.upsertUser('e', { active: true }, T0 + 40);
      const P3 = await broadcast(store, T0 + 50, { type: 'promo' });
      expect(P3.rec).toMatchObject({ recipients: 3, muted: 1 });

      expect(await listIds(store, 'b', T0 + 60)).toEqual([P3.rec.id, P2.rec.id, N1.rec.id]);
      expect(await listIds(store, 'd', T0 + 60)).toEqual([P3.rec.id, P2.rec.id, N1.rec.id, P1.rec.id]);
      expect(await listIds(store, 'e', T0 + 60)).toEqual([]);
      expect(await listIds(store, 'a', T0 + 60)).toEqual([N1.rec.id]);

      // a changes its mutes while inactive, then comes back: counted with the new ones
      await store.updatePreferences('a', { mutedTypes: ['news'] }, T0 + 70);
      await store.upsertUser('a', { active: true }, T0 + 71);
      expect(await store.countActiveUsers()).toBe(5);
      const P4 = await broadcast(store, T0 + 80, { type: 'promo' });
      expect(P4.rec).toMatchObject({ recipients: 4, muted: 1 }); // e
      const N2 = await broadcast(store, T0 + 81, { type: 'news' });
      expect(N2.rec).toMatchObject({ recipients: 4, muted: 1 }); // a
      expect(await listIds(store, 'a', T0 + 90)).toEqual([P4.rec.id, N1.rec.id]);
      expect(await listIds(store, 'e', T0 + 90)).toEqual([N2.rec.id]);
    });

    it('dedup: a repeat inside the window stores nothing and reports every active user as deduplicated', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c']) await store.ensureUser(u, T0);
      await store.upsertUser('off', { active: false }, T0);
      await store.updatePreferences('c', { mutedTypes: ['news'] }, T0);
      const W = SEC;

      const first = await broadcast(store, T0 + 10, { dedupKey: 'k', window: W });
      expect(first.rec).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
      const dup = await broadcast(store, T0 + 10 + W - 1, { dedupKey: 'k', window: W });
      expect(dup.rec).toMatchObject({ recipients: 0, muted: 0, deduplicated: 3, saveOffline: true });
      expect(seqOf(dup.rec.id)).toBeGreaterThan(seqOf(first.rec.id));
      expect(await listIds(store, 'a', T0 + 10 + W - 1)).toEqual([first.rec.id]);
      expect(await listIds(store, 'b', T0 + 10 + W - 1)).toEqual([first.rec.id]);
      expect(await listIds(store, 'c', T0 + 10 + W - 1)).toEqual([]);

      // another key is no duplicate; own sends have their own dedup keys
      const other = await broadcast(store, T0 + 10 + W - 1, { dedupKey: 'k2', window: W });
      expect(other.rec.recipients).toBe(2);
      expect(statuses(await store.send(['a'], newItem(T0 + 10 + W - 1, { dedupKey: 'k', window: W }), T0 + 10 + W - 1))).toEqual([
        'stored',
      ]);

      const again = await broadcast(store, T0 + 10 + W, { dedupKey: 'k', window: W });
      expect(again.rec).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
      const b = await listIds(store, 'b', T0 + 10 + W);
      expect(b).toEqual([again.rec.id, other.rec.id, first.rec.id]);
      expect(await store.unreadCounts(['a', 'b', 'c', 'off'], T0 + 10 + W)).toEqual([4, 3, 0, 0]);
    });

    it('saveOffline:false stores nothing anywhere (and still opens its dedup window)', async () => {
      const { store } = make();
      for (const u of ['a', 'b']) await store.ensureUser(u, T0);
      await store.updatePreferences('b', { mutedTypes: ['news'] }, T0);
      const live = await broadcast(store, T0 + 10, { saveOffline: false, dedupKey: 'live', window: MIN });
      expect(live.rec).toMatchObject({ saveOffline: false, recipients: 0, deduplicated: 0, muted: 1, createdAt: T0 + 10 });
      expect(await store.unreadCounts(['a', 'b'], T0 + 11)).toEqual([0, 0]);
      expect(await listIds(store, 'a', T0 + 11)).toEqual([]);
      expect(await store.get('a', [live.rec.id], T0 + 11)).toEqual([null]);

      const dup = await broadcast(store, T0 + 12, { dedupKey: 'live', window: MIN });
      expect(dup.rec).toMatchObject({ recipients: 0, muted: 0, deduplicated: 2 });
      expect(await listIds(store, 'a', T0 + 13)).toEqual([]);

      const kept = await broadcast(store, T0 + 14, { type: 'other' });
      expect(kept.rec.recipients).toBe(2);
      expect(await listIds(store, 'a', T0 + 15)).toEqual([kept.rec.id]);
      expect(await listIds(store, 'b', T0 + 15)).toEqual([kept.rec.id]);
    });

    it('the cap counts own items and broadcasts together', async () => {
      const { store } = make({ cap: 5 });
      const own: string[] = [];
      for (let i = 0; i < 4; i++) own.push((await sendOne(store, 'a', T0 + i)).id);
      const bs: string[] = [];
      for (let i = 0; i < 3; i++) bs.push((await broadcast(store, T0 + 10 + i)).rec.id);
      const page = await store.list('a', { first: 10 }, T0 + 20);
      expect(page.items.map((n) => n.id)).toEqual([bs[2], bs[1], bs[0], own[3], own[2]]);
      expect(page.items.map((n) => n.broadcastId)).toEqual([bs[2], bs[1], bs[0], null, null]);
      expect([page.totalCount, page.unreadCount]).toEqual([5, 5]);

      // interleaved, for a user created after those broadcasts
      const seqd: string[] = [];
      for (let i = 0; i < 7; i++) {
        const now = T0 + 30 + i;
        seqd.push(i % 2 === 0 ? (await sendOne(store, 'b', now)).id : (await broadcast(store, now)).rec.id);
      }
      expect(await listIds(store, 'b', T0 + 40)).toEqual([seqd[6], seqd[5], seqd[4], seqd[3], seqd[2]]);
      // a got the three later broadcasts on top
      expect(await listIds(store, 'a', T0 + 40)).toEqual([seqd[5], seqd[3], seqd[1], bs[2], bs[1]]);
    });

    it('a broadcast committed while the inbox was full pushes the oldest out, even when the user looks later', async () => {
      const { store } = make({ cap: 3 });
      const own = async (u: string, ttls: number[] = [HOUR, HOUR, HOUR]) => {
        const out: string[] = [];
        for (const [i, ttl] of ttls.entries()) out.push((await sendOne(store, u, T0 + i, { ttl })).id);
        return out;
      };
      const a = await own('a');
      const b = await own('b');
      const c = await own('c', [HOUR, 5, HOUR]); // c's middle one has expired (T0+6) before the broadcast
      const d = await own('d', [HOUR, 15, HOUR]); // d's middle one expires (T0+16) after it, before d looks
      const B = await broadcast(store, T0 + 10);
      expect(B.rec.recipients).toBe(4);

      expect(await listIds(store, 'a', T0 + 20)).toEqual([B.rec.id, a[2], a[1]]);
      // deleting first still settles first: b's oldest went at commit time
      expect(await store.delete('b', [b[2]!], T0 + 20)).toBe(1);
      expect(await listIds(store, 'b', T0 + 20)).toEqual([B.rec.id, b[1]]);
      // at commit time c had 2 live items: nothing pushed out
      expect(await listIds(store, 'c', T0 + 20)).toEqual([B.rec.id, c[2], c[0]]);
      // at commit time d's inbox was full of live items: the oldest went, then d[1] expired
      expect(await store.unreadCounts(['d'], T0 + 20)).toEqual([2]);
      expect(await listIds(store, 'd', T0 + 20)).toEqual([B.rec.id, d[2]]);
    });

    it('a broadcast that has expired by the time the user looks still pushed out what it displaced', async () => {
      const { store } = make({ cap: 3 });
      const d: string[] = [];
      for (let i = 0; i < 3; i++) d.push((await sendOne(store, 'd', T0 + i)).id);
      const e = await sendOne(store, 'e', T0 + 3);
      const S = await broadcast(store, T0 + 10, { ttl: 10 }); // expires at T0+20
      expect(S.rec.recipients).toBe(2);
      expect(await store.unreadCounts(['d', 'e'], T0 + 100)).toEqual([2, 1]);
      expect(await listIds(store, 'd', T0 + 100)).toEqual([d[2], d[1]]);
      expect(await listIds(store, 'e', T0 + 100)).toEqual([e.id]);
    });

    it('broadcasts expire by their own expiresAt', async () => {
      const { store } = make();
      const O = await sendOne(store, 'a', T0, { ttl: 5_000 });
      await store.ensureUser('b', T0);
      const B = await broadcast(store, T0 + 10, { ttl: 1_000 }); // expires at T0+1010
      expect(B.content.expiresAt).toBe(T0 + 1010);
      expect(await listIds(store, 'a', T0 + 1009)).toEqual([B.rec.id, O.id]);
      expect(await store.markRead('a', [B.rec.id], T0 + 1009)).toEqual([B.view('a', T0 + 1009)]);
      expect(await store.unreadCounts(['a', 'b'], T0 + 1009)).toEqual([1, 1]);

      expect(await store.unreadCounts(['a', 'b'], T0 + 1010)).toEqual([1, 0]);
      expect(await listIds(store, 'a', T0 + 1010)).toEqual([O.id]);
      expect(await listIds(store, 'b', T0 + 1010)).toEqual([]);
      expect(await store.get('a', [B.rec.id], T0 + 1010)).toEqual([null]);
      expect(await store.markUnread('a', [B.rec.id], T0 + 1010)).toEqual([]);
      expect(await store.delete('a', [B.rec.id], T0 + 1010)).toBe(0);
    });
  });

  describe('pruneExpired', () => {
    it('once everything has expired, leaves nothing behind but users, the sequence, the epoch and the active set', async () => {
      const { store, keys } = make({ cap: 3 });
      for (const u of ['a', 'b', 'c', 'd']) await store.ensureUser(u, T0);
      const W = 5 * MIN;
      expect(statuses(await store.send(['a', 'b'], newItem(T0, { dedupKey: 'k1', window: W, ttl: 10 * MIN }), T0))).toEqual([
        'stored',
        'stored',
      ]);
      expect(statuses(await store.send(['a'], newItem(T0 + 1, { dedupKey: 'k1', window: W }), T0 + 1))).toEqual(['deduplicated']);
      const cOwn = await sendOne(store, 'c', T0 + 2, { ttl: 2 * MIN });
      const B1 = await broadcast(store, T0 + 10, { dedupKey: 'bk', window: W, ttl: 20 * MIN });
      const dup = await broadcast(store, T0 + 11, { dedupKey: 'bk', window: W });
      expect(dup.rec.deduplicated).toBe(4);
      await broadcast(store, T0 + 12, { saveOffline: false });
      for (let i = 0; i < 3; i++) await sendOne(store, 'a', T0 + 13 + i, { ttl: (i + 1) * MIN, dedupKey: `a${i}`, window: 2 * W });
      const bOwn = await store.list('b', { first: 10 }, T0 + 20);
      expect(bOwn.totalCount).toBe(2);
      expect(await store.markRead('b', bOwn.items.map((n) => n.id), T0 + 20)).toHaveLength(2);
      await store.upsertUser('d', { active: false }, T0 + 30); // settles B1 into d, then deactivates
      await store.updatePreferences('b', { channels: [{ type: 'news', channels: ['IN_APP'] }] }, T0 + 31);
      expect((await store.list('a', { first: 10 }, T0 + 40)).totalCount).toBe(3);
      // c has not looked since B1: it is still pending for c
      expect(await store.get('c', [cOwn.id], T0 + 40)).toHaveLength(1);
      await broadcast(store, T0 + 50, { ttl: 30 * MIN }); // never looked at by anybody

      const PRUNE_AT = T0 + HOUR; // past every expiry and every dedup window
      await store.pruneExpired(PRUNE_AT, 2);

      if (keys) {
        expect(await keys()).toEqual(leftovers({ users: ['a', 'b', 'c', 'd'], active: ['a', 'b', 'c'] }));
      }
      const users = ['a', 'b', 'c', 'd'];
      expect(await store.unreadCounts(users, PRUNE_AT)).toEqual([0, 0, 0, 0]);
      for (const u of users) {
        expect(await store.list(u, { first: 10 }, PRUNE_AT)).toEqual({
          items: [],
          hasNextPage: false,
          hasPreviousPage: false,
          totalCount: 0,
          unreadCount: 0,
        });
      }
      expect(await store.countActiveUsers()).toBe(3);
      expect((await store.getUsers(['b']))[0]?.preferences.channels).toEqual([{ type: 'news', channels: ['IN_APP'] }]);
      if (keys) expect(await keys()).toEqual(leftovers({ users: ['a', 'b', 'c', 'd'], active: ['a', 'b', 'c'] }));

      // the sequences go on (above B1, which every partition stored), dedup windows are over
      const after = await store.send(['a', 'b'], newItem(PRUNE_AT, { dedupKey: 'k1', window: W }), PRUNE_AT);
      const [s1, s2] = after.map((o) => storedOf(o).id).map(seqOf);
      expect(s1).toBeGreaterThan(seqOf(B1.rec.id));
      expect(s2).toBeGreaterThan(seqOf(B1.rec.id));
      const B2 = await broadcast(store, PRUNE_AT + 1, { dedupKey: 'bk', window: W });
      expect(B2.rec).toMatchObject({ recipients: 3, deduplicated: 0 });
      expect(await listIds(store, 'c', PRUNE_AT + 2)).toEqual([B2.rec.id]);
      expect(B1.rec.recipients).toBe(4);
    });

    it('keeps everything still live: items, read state, dedup windows, broadcasts not yet settled', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c']) await store.ensureUser(u, T0);
      const A1 = await sendOne(store, 'a', T0, { ttl: MIN, dedupKey: 'k', window: MIN });
      const A2 = await sendOne(store, 'a', T0 + 1, { ttl: 10 * SEC });
      const B = await broadcast(store, T0 + 2, { ttl: MIN, dedupKey: 'bk', window: MIN });
      await store.markRead('a', [A1.id], T0 + 3);
      expect(await listIds(store, 'b', T0 + 4)).toEqual([B.rec.id]); // b has settled, c has not

      await store.pruneExpired(T0 + 30 * SEC);
      const now = T0 + 30 * SEC + 1;
      expect(await store.list('a', { first: 10 }, now)).toMatchObject({ totalCount: 2, unreadCount: 1 });
      expect(await store.get('a', [B.rec.id, A1.id, A2.id], now)).toEqual([B.view('a'), { ...A1, readAt: T0 + 3 }, null]);
      expect(await store.get('c', [B.rec.id], now)).toEqual([B.view('c')]);
      expect(await store.unreadCounts(['a', 'b', 'c'], now)).toEqual([1, 1, 1]);
      expect(statuses(await store.send(['a'], newItem(now, { dedupKey: 'k', window: MIN }), now))).toEqual(['deduplicated']);
      expect((await broadcast(store, now, { dedupKey: 'bk', window: MIN })).rec).toMatchObject({ recipients: 0, deduplicated: 3 });
    });

    it('keeps a broadcast log entry while it still decides what a user who has not looked yet lost to the cap', async () => {
      const { store } = make({ cap: 1 });
      const O = await sendOne(store, 'u', T0, { ttl: HOUR });
      await broadcast(store, T0 + 10, { ttl: MIN }); // pushes O out of u's full inbox at commit time
      await store.pruneExpired(T0 + 2 * MIN); // the broadcast's body is gone, O would still be live
      expect(await store.get('u', [O.id], T0 + 3 * MIN)).toEqual([null]);
      expect(await listIds(store, 'u', T0 + 3 * MIN)).toEqual([]);
      expect(await store.unreadCounts(['u'], T0 + 3 * MIN)).toEqual([0]);
    });

    it('drops expired items of a user whose dedup mark outlives them', async () => {
      const { store, keys } = make();
      await store.updatePreferences('a', { mutedTypes: ['promo'] }, T0);
      // muted, but the dedup window (to T0+10min) is open: a is due at T0+10min
      expect(statuses(await store.send(['a'], newItem(T0, { type: 'promo', dedupKey: 'p', window: 10 * MIN }), T0))).toEqual(['muted']);
      await broadcast(store, T0 + 1, { ttl: SEC }); // expires at T0+1001
      // a duplicate: settles the broadcast into a's inbox, stores nothing
      expect(statuses(await store.send(['a'], newItem(T0 + 2, { type: 'promo', dedupKey: 'p', window: 10 * MIN }), T0 + 2))).toEqual([
        'deduplicated',
      ]);
      await store.pruneExpired(T0 + 2 * SEC);
      if (keys) {
        const a = keySpace('').partitionOf('a');
        expect(await keys()).toEqual([...leftovers({ users: ['a'], active: ['a'] }), a.due, a.mutecount, keySpace('').user('a').dedup].sort());
      }
      expect(await store.unreadCounts(['a'], T0 + 2 * SEC)).toEqual([0]);
      expect(await listIds(store, 'a', T0 + 2 * SEC)).toEqual([]);
      // still deduplicating until the window ends
      expect(statuses(await store.send(['a'], newItem(T0 + 10 * MIN - 1, { type: 'promo', dedupKey: 'p', window: MIN }), T0 + 10 * MIN - 1))).toEqual(['deduplicated']);
      await store.updatePreferences('a', { mutedTypes: [] }, T0 + 10 * MIN);
      expect(statuses(await store.send(['a'], newItem(T0 + 10 * MIN, { type: 'promo', dedupKey: 'p', window: MIN }), T0 + 10 * MIN))).toEqual(['stored']);
    });
  });
});
