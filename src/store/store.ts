import type { AdminStore } from './admin-store.js';
import type { InboxStore } from './inbox-store.js';
import type { ScheduleStore } from './schedule-store.js';
import type { UserStore } from './user-store.js';

export * from './admin-store.js';
export * from './inbox-store.js';
export * from './schedule-store.js';
export type { UserStore } from './user-store.js';

/**
 * The one persistence contract, in four parts: inboxes (inbox-store.ts), users and their
 * preferences (user-store.ts), scheduled sends and job runs (schedule-store.ts), policies,
 * templates, counters and health (admin-store.ts). Two implementations (Redis, memory) pass the
 * same contract suites (test/store-*.test.ts, each run against both).
 *
 * Semantics both must honour, exactly:
 * - Ids come from one backend-wide sequence (`encodeSeq`), so id order is creation order. The
 *   sequence never goes below the wall clock in microseconds (`nextSeq`), so a backend that
 *   lost its data (an empty Redis, a restarted memory store) never issues an old id again.
 * - Every per-user operation first "settles" the user: broadcasts committed since the user's
 *   watermark are materialised in id order if the user is active (skipping muted types; at each
 *   broadcast's createdAt the items expired by then are dropped, the broadcast is inserted, the
 *   inbox is trimmed to `cap`), then everything expired at `now` is dropped.
 * - `now` is always passed in (ms); stores never read the clock, so tests control time.
 * - Each inbox keeps the newest `cap` items (own and broadcasts together), a store option.
 * - Changes are published as they commit (events.ts, on the channel names the store is given):
 *   a stored own notification, every change of a user's unread count or read state and every
 *   removal (one `unread` event per commit, with the ids), activation/mute changes, and each
 *   broadcast once. On Redis the scripts publish; the memory store calls `publish`.
 */
export interface Store extends InboxStore, UserStore, ScheduleStore, AdminStore {
  readonly kind: 'redis' | 'memory';
}

/**
 * A store that holds a bounded amount (the embedded memory backend) refuses a change that would
 * go beyond it, whole. The domain answers it as RESOURCE_EXHAUSTED.
 */
export class StoreFullError extends Error {
  constructor(what: string, limit: number) {
    super(`this server holds at most ${limit} ${what} (embedded memory backend)`);
    this.name = 'StoreFullError';
  }
}
