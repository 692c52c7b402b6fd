import { checkUserId } from '../ids.js';
import type { UserRecord } from '../types.js';
import type { UserStore } from '../user-store.js';
import type { MemoryUsers, UserState } from './inbox-store.js';

const record = (id: string, user: UserState): UserRecord => ({
  id,
  displayName: user.displayName,
  active: user.active,
  createdAt: user.createdAt,
  preferences: structuredClone(user.prefs),
});

/** Users and their preferences in memory: the inboxes' users (inbox-store.ts), changed in their per-user step. */
export function createMemoryUserStore({ users, op, ensure, publishUserState, bumpMuteCount, activeCount }: MemoryUsers): UserStore {
  const setActive = (user: UserState, active: boolean) => {
    for (const t of user.prefs.mutedTypes) bumpMuteCount(t, active ? 1 : -1);
    user.active = active;
  };

  return {
    async ensureUser(userId, now) {
      ensure(userId, now);
    },

    async upsertUser(userId, patch, now) {
      return op(userId, now, true, (user) => {
        if (patch.displayName !== undefined) user!.displayName = patch.displayName;
        if (patch.active !== undefined && patch.active !== user!.active) setActive(user!, patch.active);
        publishUserState(userId, user!);
        return record(userId, user!);
      });
    },

    async getUsers(userIds) {
      return userIds.map((id) => {
        const user = users.get(checkUserId(id));
        return user ? record(id, user) : null;
      });
    },

    async updatePreferences(userId, patch, now) {
      return op(userId, now, true, (user) => {
        if (patch.mutedTypes) {
          const next = [...new Set(patch.mutedTypes)];
          if (user!.active) {
            for (const t of user!.prefs.mutedTypes) if (!next.includes(t)) bumpMuteCount(t, -1);
            for (const t of next) if (!user!.prefs.mutedTypes.includes(t)) bumpMuteCount(t, 1);
          }
          user!.prefs.mutedTypes = next;
        }
        if (patch.channels) user!.prefs.channels = structuredClone(patch.channels);
        publishUserState(userId, user!);
        return record(userId, user!);
      });
    },

    async countActiveUsers() {
      return activeCount();
    },
  };
}
