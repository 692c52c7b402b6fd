import type { Store } from '../store.js';
import { createMemoryAdminStore } from './admin-store.js';
import { createMemoryInboxStore, type MemoryStoreOptions } from './inbox-store.js';
import { createMemoryScheduleStore } from './schedule-store.js';
import { createMemoryUserStore } from './user-store.js';
import { Sequence } from './sequence.js';

/**
 * The embedded backend: the same algorithm as the Redis scripts (settle on touch, cap, expiry,
 * dedup) on plain maps, for `npm start` on a bare machine and for tests. State lives and dies
 * with the process. Its parts share one id sequence; the users are the inboxes' own, and the
 * inboxes count into the admin part's day counters.
 */

export { MEMORY_LIMITS, type MemoryStoreOptions } from './inbox-store.js';

export function createMemoryStore(options: MemoryStoreOptions): Store {
  const sequence = new Sequence();
  const admin = createMemoryAdminStore(sequence);
  const inboxes = createMemoryInboxStore({ ...options, sequence, count: admin.count });
  return {
    kind: 'memory',
    ...inboxes.store,
    ...createMemoryUserStore(inboxes.users),
    ...createMemoryScheduleStore(sequence),
    ...admin.store,
  };
}
