import type { Store } from '../store.js';
import { createRedisAdminStore } from './admin-store.js';
import { redisContext, type RedisStoreOptions } from './context.js';
import { createRedisInboxStore } from './inbox-store.js';
import { createRedisScheduleStore } from './schedule-store.js';
import { createRedisUserStore } from './user-store.js';

export type { RedisStoreOptions } from './context.js';

/**
 * The Redis store: every multi-key change is one Lua script (src/store/redis/lua, described in
 * scripts.ts), every key comes from keys.ts. A broadcast costs one script call whatever its
 * audience.
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
