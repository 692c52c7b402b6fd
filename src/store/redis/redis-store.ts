import type { Store } from '../store.js';
import { createRedisAdminStore } from './admin-store.js';
import { redisContext, type RedisStoreOptions } from './context.js';
import { createRedisInboxStore } from './inbox-store.js';
import { createRedisScheduleStore } from './schedule-store.js';
import { createRedisUserStore } from './user-store.js';

export type { RedisStoreOptions } from './context.js';

/**
 * The Redis store: every multi-key change is one Lua script (src/store/redis/lua, described in
 * scripts.ts), every key comes from keys.ts, and every script touches one slot (its
 * partition's, or the global one), so the same store runs on one node or a Redis Cluster. A
 * broadcast costs 1 + P script calls whatever its audience.
 */
export function createRedisStore(options: RedisStoreOptions): Store {
  const context = redisContext(options);
  return {
    kind: 'redis',
    ...createRedisUserStore(context),
    ...createRedisInboxStore(context),
    ...createRedisScheduleStore(context),
    ...createRedisAdminStore(context),
  };
}
