import { decodeUser } from '../codec.js';
import type { UserStore } from '../user-store.js';
import type { RedisContext } from './context.js';
import { script } from './scripts.js';

/** Users and their preferences on Redis: per-user scripts, plain reads of the user hash. */
export function createRedisUserStore({ redis, keys, userKeys, userArgv, oneTrip }: RedisContext): UserStore {
  return {
    async ensureUser(userId, now) {
      await script(redis, 'ensureUser', userKeys(userId), userArgv(userId, now));
    },

    async upsertUser(userId, patch, now) {
      const reply = await script(redis, 'upsertUser', userKeys(userId), [
        userArgv(userId, now),
        {
          nameMode: patch.displayName === undefined ? '' : patch.displayName === null ? 'clear' : 'set',
          displayName: patch.displayName ?? '',
          active: patch.active === undefined ? '' : patch.active ? '1' : '0',
        },
      ]);
      return decodeUser(userId, reply)!;
    },

    async getUsers(userIds) {
      const replies = await oneTrip(userIds, (on, id) => on.hgetall(keys.user(id).user));
      return userIds.map((id, i) => decodeUser(id, replies[i] as Record<string, string>));
    },

    async updatePreferences(userId, patch, now) {
      const reply = await script(redis, 'updatePreferences', userKeys(userId), [
        userArgv(userId, now),
        {
          mutedTypes: patch.mutedTypes ? JSON.stringify([...new Set(patch.mutedTypes)]) : '',
          channels: patch.channels ? JSON.stringify(patch.channels) : '',
        },
      ]);
      return decodeUser(userId, reply)!;
    },

    countActiveUsers: () => redis.zcard(keys.global.active),
  };
}
