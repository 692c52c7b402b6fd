import type { ChannelAddress, Delivery, DeliveryStatus, ExternalChannel } from './deliveries.js';

/**
 * The durable outbox of deliveries beyond the app, and the users' channel addresses. Two
 * implementations (Redis streams + Lua, memory) pass one contract suite
 * (test/delivery-store.test.ts).
 *
 * Deliveries are queued by `Store.send` in the same atomic step that stores the notification
 * (a stored notification means its deliveries are queued). From there:
 *   due (escalation, retry, throttle) --promoteDue--> ready --take/reclaim--> in flight --finish-->
 *   DELIVERED | RETRYING (due again) | FAILED (dead letter) | SKIPPED
 * An entry taken by a consumer that dies is reclaimed by another after `idleMs`.
 */
export interface DeliveryStore {
  setAddress(userId: string, address: ChannelAddress): Promise<void>;
  /** true when there was one */
  removeAddress(userId: string, channel: ExternalChannel): Promise<boolean>;
  addresses(userId: string): Promise<ChannelAddress[]>;

  /** In key order, null where missing. */
  get(ids: readonly string[]): Promise<(Delivery | null)[]>;
  /** Newest first by creation; `after` is a delivery id (exclusive). */
  log(query: DeliveryLogQuery): Promise<DeliveryLogPage>;
  /** FAILED -> PENDING (attempts reset), atomically; the same id (webhook-id) is kept. */
  retry(id: string, now: number): Promise<Delivery | 'not_found' | 'not_failed'>;

  /**
   * Moves deliveries whose time has come (escalation, retry, throttle) to their channel's
   * ready queue; says how many, and when the next one left is due (null: none).
   */
  promoteDue(now: number, limit: number): Promise<{ moved: number; nextDueAt: number | null }>;
  /**
   * Takes up to `count` ready entries of each of `channels` for `consumer`, waiting up to
   * `blockMs` for one. Each stays owned by the consumer until `finish`.
   */
  take(channels: readonly ExternalChannel[], consumer: string, count: number, blockMs: number): Promise<OutboxEntry[]>;
  /** Entries of another consumer idle longer than `idleMs` (it died): now this consumer's. */
  reclaim(channel: ExternalChannel, consumer: string, idleMs: number, count: number): Promise<OutboxEntry[]>;
  /** Records an attempt's outcome and releases the entry; a delivery no longer in flight is only released. */
  finish(entry: OutboxEntry, outcome: DeliveryOutcome, now: number): Promise<Delivery | null>;

  /** Forgets finished deliveries past their retention; returns how many. */
  prune(now: number, limit?: number): Promise<number>;
  /** Deliveries by status, now (kept, not pruned). */
  countByStatus(): Promise<Record<DeliveryStatus, number>>;
}

export interface OutboxEntry {
  /** the queue entry (a stream id on Redis) */
  entryId: string;
  deliveryId: string;
  channel: ExternalChannel;
}

export type DeliveryOutcome =
  | { kind: 'delivered' }
  /** an attempt failed; RETRYING at `nextAttemptAt`, or FAILED when attempts reach `maxAttempts` */
  | { kind: 'retry'; error: string; nextAttemptAt: number; maxAttempts: number }
  | { kind: 'failed'; error: string }
  | { kind: 'skipped'; reason: string }
  /** not attempted (throttled): due again at `nextAttemptAt`, attempts unchanged */
  | { kind: 'defer'; nextAttemptAt: number };

export interface DeliveryLogQuery {
  first: number;
  after?: string | null;
  status?: readonly DeliveryStatus[] | null;
  channel?: ExternalChannel | null;
  userId?: string | null;
}

export interface DeliveryLogPage {
  items: Delivery[];
  hasNextPage: boolean;
  totalCount: number;
}

/** How long a finished delivery (DELIVERED, FAILED, SKIPPED) is kept: the delivery log's window. */
export const DELIVERY_RETENTION_MS = 7 * 24 * 3600 * 1000;

export function isOpen(status: DeliveryStatus): boolean {
  return status === 'PENDING' || status === 'RETRYING';
}

/** The record after an outcome (both backends; the Lua script mirrors it). */
export function applyOutcome(d: Delivery, outcome: DeliveryOutcome, now: number): Delivery {
  switch (outcome.kind) {
    case 'delivered':
      return { ...d, status: 'DELIVERED', attempts: d.attempts + 1, lastError: null, nextAttemptAt: null, deliveredAt: now };
    case 'retry': {
      const attempts = d.attempts + 1;
      if (attempts >= outcome.maxAttempts) return { ...d, status: 'FAILED', attempts, lastError: outcome.error, nextAttemptAt: null };
      return { ...d, status: 'RETRYING', attempts, lastError: outcome.error, nextAttemptAt: outcome.nextAttemptAt };
    }
    case 'failed':
      return { ...d, status: 'FAILED', attempts: d.attempts + 1, lastError: outcome.error, nextAttemptAt: null };
    case 'skipped':
      return { ...d, status: 'SKIPPED', lastError: outcome.reason, nextAttemptAt: null };
    case 'defer':
      return { ...d, nextAttemptAt: outcome.nextAttemptAt };
  }
}
