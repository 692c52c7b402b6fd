import { decodeUser } from '../codec.js';
import type { UserStore } from '../user-store.js';
import type { RedisContext } from './context.js';
import { script } from './scripts.js';

/** Users and their preferences on Redis: per-user scripts, plain reads of the user hash. */
export function createRedisUserStore({ keys, userKeys, userArgv, batch, eachPartition, one }: RedisContext): UserStore {
  return {
    async ensureUser(userId, now) {
      await one((on) => script(on, 'ensureUser', userKeys(userId), userArgv(userId, now)), true);
    },

    async upsertUser(userId, patch, now) {
      const reply = await one<string[]>((on) => script(on, 'upsertUser', userKeys(userId), [
        userArgv(userId, now),
        {
          nameMode: patch.displayName === undefined ? '' : patch.displayName === null ? 'clear' : 'set',
          displayName: patch.displayName ?? '',
          active: patch.active === undefined ? '' : patch.active ? '1' : '0',
        },
      ]), true);
      return decodeUser(userId, reply)!;
    },

    async getUsers(userIds) {
      const replies = await batch(userIds, (id) => keys.partitionOf(id).partition, (on, id) => on.hgetall(keys.user(id).user));
      return userIds.map((id, i) => decodeUser(id, replies[i] as Record<string, string>));
    },

    async updatePreferences(userId, patch, now) {
      const reply = await one<string[]>((on) => script(on, 'updatePreferences', userKeys(userId), [
        userArgv(userId, now),
        {
          mutedTypes: patch.mutedTypes ? JSON.stringify([...new Set(patch.mutedTypes)]) : '',
          channels: patch.channels ? JSON.stringify(patch.channels) : '',
        },
      ]), true);
      return decodeUser(userId, reply)!;
    },

    async countActiveUsers() {
      return ((await eachPartition((on, p) => on.zcard(p.active))) as number[]).reduce((a, b) => a + b, 0);
    },
  };
}
