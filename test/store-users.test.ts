/**
 * The Store contract, users and their preferences (src/store/user-store.ts).
 * Run unchanged against every backend (test/helpers/store-backends.ts).
 */
import { describe, expect, it } from 'vitest';
import { encodeSeq } from '../src/notifications/ids.js';
import { T0, newItem, setups, sendOne, userRec } from './helpers/store-backends.js';

describe.each(setups)('$name store: users', ({ make }) => {
  describe('users', () => {
    it('upsertUser creates and updates displayName (null clears) and active; getUsers in key order, null for missing', async () => {
      const { store } = make();
      await store.ensureUser('a', T0);
      expect(await store.getUsers(['a'])).toEqual([userRec('a', T0)]);

      expect(await store.upsertUser('b', { displayName: 'Bob' }, T0 + 1)).toEqual(userRec('b', T0 + 1, { displayName: 'Bob' }));
      expect(await store.upsertUser('b', {}, T0 + 2)).toEqual(userRec('b', T0 + 1, { displayName: 'Bob' }));
      expect(await store.upsertUser('b', { displayName: 'Zoë 🚀' }, T0 + 3)).toEqual(userRec('b', T0 + 1, { displayName: 'Zoë 🚀' }));
      expect(await store.upsertUser('b', { active: false }, T0 + 4)).toEqual(
        userRec('b', T0 + 1, { displayName: 'Zoë 🚀', active: false }),
      );
      expect(await store.countActiveUsers()).toBe(1);
      expect(await store.upsertUser('b', { displayName: null, active: true }, T0 + 5)).toEqual(userRec('b', T0 + 1));
      expect(await store.countActiveUsers()).toBe(2);
      expect(await store.upsertUser('b', { active: true }, T0 + 6)).toEqual(userRec('b', T0 + 1));
      expect(await store.countActiveUsers()).toBe(2);

      // created inactive
      const c = userRec('c', T0 + 7, { displayName: 'C', active: false });
      expect(await store.upsertUser('c', { displayName: 'C', active: false }, T0 + 7)).toEqual(c);
      expect(await store.countActiveUsers()).toBe(2);
      // ensureUser and send leave an existing user as it is
      await store.ensureUser('c', T0 + 8);
      await sendOne(store, 'c', T0 + 9);
      expect(await store.getUsers(['c', 'missing', 'a', 'b'])).toEqual([c, null, userRec('a', T0), userRec('b', T0 + 1)]);
      expect(await store.getUsers([])).toEqual([]);
      expect(await store.countActiveUsers()).toBe(2);

      // reads create nobody
      await store.list('ghost', { first: 5 }, T0 + 10);
      await store.unreadCounts(['ghost'], T0 + 10);
      await store.get('ghost', [encodeSeq(1)], T0 + 10);
      await store.markRead('ghost', [encodeSeq(1)], T0 + 10);
      await store.markAllRead('ghost', T0 + 10);
      await store.delete('ghost', [encodeSeq(1)], T0 + 10);
      expect(await store.getUsers(['ghost'])).toEqual([null]);
      expect(await store.countActiveUsers()).toBe(2);
    });

    it('updatePreferences replaces mutedTypes/channels, each only when given', async () => {
      const { store } = make();
      const channels = [
        { type: 'alert', channels: ['IN_APP' as const, 'WEBHOOK' as const] },
        { type: 'news', channels: ['TELEGRAM' as const] },
      ];
      expect(await store.updatePreferences('p', { mutedTypes: ['promo', 'digest', 'promo'] }, T0)).toEqual(
        userRec('p', T0, { preferences: { mutedTypes: ['promo', 'digest'], channels: [] } }),
      );
      expect(await store.countActiveUsers()).toBe(1);
      expect(await store.updatePreferences('p', { channels }, T0 + 1)).toEqual(
        userRec('p', T0, { preferences: { mutedTypes: ['promo', 'digest'], channels } }),
      );
      expect(await store.updatePreferences('p', { mutedTypes: [] }, T0 + 2)).toEqual(
        userRec('p', T0, { preferences: { mutedTypes: [], channels } }),
      );
      expect(await store.updatePreferences('p', {}, T0 + 3)).toEqual(userRec('p', T0, { preferences: { mutedTypes: [], channels } }));
      expect(await store.updatePreferences('p', { channels: [] }, T0 + 4)).toEqual(userRec('p', T0));
      await store.updatePreferences('p', { mutedTypes: ['x'], channels }, T0 + 5);
      expect(await store.getUsers(['p'])).toEqual([userRec('p', T0, { preferences: { mutedTypes: ['x'], channels } })]);
    });

    it.each(['', 'a{b}', 'a:b', 'x'.repeat(129)])('refuses the user id %j (the domain never passes one): no key, no user', async (id) => {
      const { store } = make();
      await expect(store.ensureUser(id, T0)).rejects.toThrow(/user id must match/);
      await expect(store.getUsers(['ok', id])).rejects.toThrow(/user id must match/);
      await expect(store.send([id], newItem(T0), T0)).rejects.toThrow(/user id must match/);
      await expect(store.list(id, { first: 10 }, T0)).rejects.toThrow(/user id must match/);
      expect(await store.countActiveUsers()).toBe(0);
    });
  });
});
