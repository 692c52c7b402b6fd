import type { ExternalChannel } from './deliveries.js';
import type {
  BroadcastRecord,
  Notification,
  NotificationContent,
  NotificationFilter,
  NotificationTypePolicy,
  Preferences,
  Template,
  UserRecord,
} from './types.js';
import { decodeSeq } from './ids.js';

/**
 * The one persistence contract. Two implementations (Redis, memory) pass the same
 * contract suite (test/store-contract.test.ts).
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
export interface Store {
  readonly kind: 'redis' | 'memory';

  /** Creates the user (active) if it does not exist. Existing users are left as they are. */
  ensureUser(userId: string, now: number): Promise<void>;
  upsertUser(userId: string, patch: { displayName?: string | null; active?: boolean }, now: number): Promise<UserRecord>;
  /** Plain reads, in key order, null where missing. One round trip for any number of ids. */
  getUsers(userIds: readonly string[]): Promise<(UserRecord | null)[]>;
  updatePreferences(userId: string, patch: Partial<Preferences>, now: number): Promise<UserRecord>;
  countActiveUsers(): Promise<number>;

  /** Stores one copy per user (creating unknown users), after dedup and mute checks, in that order. */
  send(userIds: readonly string[], item: NewItem, now: number): Promise<SendOutcome[]>;
  broadcast(item: NewBroadcast, now: number): Promise<BroadcastRecord>;

  list(userId: string, query: ListQuery, now: number): Promise<Page>;
  /** Everything the inbox holds newer than `after` (an id), oldest first: subscription replay. */
  since(userId: string, after: string, now: number): Promise<Notification[]>;
  /**
   * Where an inbox stream starts: settles the user, then reads the exact unread count and, with
   * `after`, what the inbox holds newer than it (oldest first), and in the same atomic step
   * publishes `{kind: 'sync', token}` on the user's channel, so a stream subscribed before the
   * call knows which events the snapshot already reflects (those before the sync event).
   * `complete` (with `after`) is true only when `after` is an id issued so far and no item
   * newer than it was ever removed from this inbox (cap, expiry, deletion): the store keeps the
   * highest removed id per user, and `after` is not older than the data set ({@link Store.epoch}).
   * Malformed or unknown `after`: no items, `complete` false.
   * `token` is `[0-9a-z]{1,32}`.
   */
  inboxSnapshot(userId: string, after: string | null, token: string, now: number): Promise<InboxSnapshot>;
  /** Unread counts for several users in one round trip. */
  unreadCounts(userIds: readonly string[], now: number): Promise<number[]>;
  get(userId: string, ids: readonly string[], now: number): Promise<(Notification | null)[]>;
  markRead(userId: string, ids: readonly string[], now: number): Promise<Notification[]>;
  markUnread(userId: string, ids: readonly string[], now: number): Promise<Notification[]>;
  markAllRead(userId: string, now: number): Promise<number>;
  delete(userId: string, ids: readonly string[], now: number): Promise<number>;

  /**
   * Settles up to `limit` users whose next expiry (item or dedup mark) is at or before `now`,
   * earliest first, without scanning other users: each publishes its new count and removed ids.
   * On Redis each user is leased for `leaseMs` while being settled, so instances sweeping at
   * the same time don't settle the same user twice. Returns how many users were settled.
   */
  sweepExpired(now: number, limit: number, leaseMs?: number): Promise<number>;
  /** Drops expired items, dedup marks and broadcast bodies for everyone; returns users visited. */
  pruneExpired(now: number, batch?: number): Promise<number>;

  // ---- Scheduled sends and job runs (src/scheduler, docs/jobs.md) -------------------------

  /** Keeps a send for later delivery; returns its id, taken from the same sequence as item ids. */
  schedule(send: ScheduledSend, now: number): Promise<string>;
  /**
   * Leases up to `limit` sends due at `now` (sendAt <= now, or a lapsed lease), oldest due
   * first, until `now + leaseMs`: a deliverer that dies before completing gives them back then.
   */
  claimScheduled(now: number, limit: number, leaseMs: number): Promise<ClaimedSend[]>;
  /** Forgets a delivered send (no-op when it is gone). */
  completeScheduled(id: string): Promise<void>;
  /** When the earliest pending send (or lapsed lease) is due; null when none is pending. */
  nextScheduledAt(): Promise<number | null>;

  /**
   * Claims a run of job `name` for every instance: 'busy' while another owner's lock lives
   * (SET NX PX `ttlMs`, value `token`); with a `slot` (the scheduled occurrence, ms), 'done'
   * when a run for that slot or a later one already started; else takes the lock, records the
   * slot and returns 'started'.
   */
  beginJobRun(name: string, run: JobRunClaim, now: number): Promise<'started' | 'busy' | 'done'>;
  /** Records how a run ended and releases the lock if `token` still owns it (never another's). */
  endJobRun(name: string, run: JobRunEnd): Promise<void>;
  /** Last run of each job, in key order (nulls for a job that never ran). */
  jobStatuses(names: readonly string[]): Promise<JobStatus[]>;

  getPolicies(): Promise<NotificationTypePolicy[]>;
  setPolicy(policy: NotificationTypePolicy): Promise<void>;
  getTemplates(): Promise<Template[]>;
  upsertTemplate(template: Template): Promise<void>;

  /**
   * Counters of the UTC day containing `now` (see {@link statsDay}), kept by send and broadcast
   * as they commit (never a scan): stored notifications (a broadcast counts its recipients),
   * per type, and deduplicated ones (a deduplicated broadcast counts its audience).
   */
  dailyStats(now: number): Promise<DailyStats>;
  /** Bytes the backend's server uses (Redis INFO used_memory); null on the memory backend. */
  usedMemoryBytes(): Promise<number | null>;

  /** true when the backend answers. */
  ping(): Promise<boolean>;
  /**
   * The marker of the data set: every id it issued is above it. It changes when the backend
   * lost its data (Redis restarted empty or wiped); resumes from before it are not complete.
   */
  epoch(): Promise<number>;
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

export interface InboxSnapshot {
  unreadCount: number;
  /** with `after`: what the inbox holds newer than it, oldest first; else empty */
  items: Notification[];
  /** with `after`: whether `items` is everything newer than `after` the inbox ever held; else null */
  complete: boolean | null;
  /** the last id issued when the snapshot was taken: where a stream that must catch up resumes from */
  lastId: string;
}

/**
 * What `inboxSnapshot` answers for `after`, given the highest removed id, the last issued
 * sequence and the data set's epoch (a cursor from before it may have seen what was lost).
 */
export function resumeComplete(after: string | null, removedUpTo: number, lastSeq: number, epoch: number): boolean | null {
  if (after === null) return null;
  const seq = decodeSeq(after);
  return seq !== null && seq <= lastSeq && removedUpTo <= seq && seq >= epoch;
}

export interface NewItem {
  content: NotificationContent;
  /** absent: no dedup */
  dedupKey?: string;
  dedupWindowMs: number;
  /** {@link deliverScheduled} only: the per-user mark that makes a redelivery a no-op */
  deliveryMark?: { key: string; until: number };
  /** channels beyond the app, routed and queued in the same step that stores (delivery-store.ts) */
  channels?: readonly ExternalChannel[];
  /** > 0: the deliveries wait this long and go only if the notification is still unread */
  escalateAfterMs?: number;
}

export interface NewBroadcast extends NewItem {
  saveOffline: boolean;
}

export type SendOutcome =
  | { userId: string; status: 'stored'; notification: Notification }
  | { userId: string; status: 'deduplicated' | 'muted' };

export interface ListQuery {
  first: number;
  /** a notification id (= cursor); only older items are returned */
  after?: string | null;
  filter?: NotificationFilter | null;
}

export interface Page {
  items: Notification[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** matching the filter, whole inbox */
  totalCount: number;
  /** unread among those matching the filter */
  unreadCount: number;
}

export interface DailyStats {
  /** YYYY-MM-DD (UTC) */
  day: string;
  sent: number;
  deduplicated: number;
  /** stored notifications per type; types with none are absent */
  byType: Record<string, number>;
}

/**
 * The day counters are kept under: the UTC date of `now`. UTC, not the server's zone, so that
 * every instance (whatever its TZ) counts into the same day (docs/dashboard.md).
 */
export function statsDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

// ---- Scheduled sends and job runs ------------------------------------------------------------

/** A sendNotification with a future sendAt, its content resolved (and validated) at request time. */
export interface ScheduledSend {
  userIds: string[];
  /** createdAt and expiresAt are set at delivery: the TTL counts from then */
  content: Omit<NotificationContent, 'createdAt' | 'expiresAt' | 'broadcast'>;
  ttlMs: number;
  dedupKey?: string;
  dedupWindowMs: number;
  sendAt: number;
  channels?: ExternalChannel[];
  escalateAfterMs?: number;
}

export interface ClaimedSend extends ScheduledSend {
  id: string;
}

/** How long a delivered scheduled send's per-user mark lives (bounds a safe redelivery). */
export const DELIVERY_MARK_MS = 24 * 3600 * 1000;

/**
 * Delivers a claimed send as `send` would at `now` (createdAt = now, expiresAt = now + ttlMs),
 * leaving a per-user mark (a member of the user's dedup set) for {@link DELIVERY_MARK_MS}:
 * delivering the same send again changes nothing for anyone (every user 'deduplicated').
 * The same on both backends, since it only uses {@link Store.send}.
 */
export function deliverScheduled(store: Store, send: ClaimedSend, now: number): Promise<SendOutcome[]> {
  const { id, userIds, content, ttlMs, dedupKey, dedupWindowMs, channels, escalateAfterMs } = send;
  return store.send(
    userIds,
    {
      content: { ...content, createdAt: now, expiresAt: now + ttlMs },
      dedupKey,
      dedupWindowMs,
      deliveryMark: { key: `#s:${id}`, until: now + DELIVERY_MARK_MS },
      channels,
      escalateAfterMs,
    },
    now,
  );
}

export interface JobRunClaim {
  /** random, unique per run owner; only this token releases the lock */
  token: string;
  /** the lock's PX: it frees itself if the owner dies */
  ttlMs: number;
  /** the scheduled occurrence being run (ms), or null for a manual run */
  slot: number | null;
}

export interface JobRunEnd {
  token: string;
  /** becomes lastRunAt */
  startedAt: number;
  /** "ok" | "failed: <reason>" */
  status: string;
}

export interface JobStatus {
  lastRunAt: number | null;
  lastStatus: string | null;
}
