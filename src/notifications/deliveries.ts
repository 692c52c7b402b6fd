/**
 * Deliveries beyond the app (webhook, Telegram, WeCom): the records the outbox keeps, the
 * routing rule, and the retry schedule. Knows nothing of HTTP, GraphQL or Redis.
 */
import type { Channel, Preferences } from './types.js';

export type ExternalChannel = Exclude<Channel, 'IN_APP'>;
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'DELIVERED', 'FAILED', 'SKIPPED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One delivery of one notification to one external channel. Times in ms. */
export interface Delivery {
  /** `<notification id>-<channel code>`: creation order, and the Standard Webhooks webhook-id */
  id: string;
  notificationId: string;
  userId: string;
  channel: ExternalChannel;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  /** sent only if the notification is still unread at its first attempt */
  escalate: boolean;
  /** the notification's stored value ("type\trank\tjson"): what is sent, even after it is gone */
  content: string;
}

/** A user's address on one channel, with the webhook signing secret. */
export interface ChannelAddress {
  channel: ExternalChannel;
  address: string;
  /** WEBHOOK only */
  secret: string | null;
  updatedAt: number;
}

const CODE: Record<ExternalChannel, string> = { WEBHOOK: 'w', TELEGRAM: 't', WECOM: 'c' };
const BY_CODE: Record<string, ExternalChannel> = { w: 'WEBHOOK', t: 'TELEGRAM', c: 'WECOM' };
export const DELIVERY_ID = /^[0-9a-z]{11}-[wtc]$/;

export function deliveryId(notificationId: string, channel: ExternalChannel): string {
  return `${notificationId}-${CODE[channel]}`;
}

/** The notification and channel of a delivery id, or null when it is not one. */
export function parseDeliveryId(id: string): { notificationId: string; channel: ExternalChannel } | null {
  if (!DELIVERY_ID.test(id)) return null;
  return { notificationId: id.slice(0, -2), channel: BY_CODE[id.slice(-1)]! };
}

/** The channels a user wants for a type: the type's own entry, else "*", else none. */
export function wantedChannels(prefs: Preferences, type: string): Set<Channel> {
  const entry = prefs.channels.find((c) => c.type === type) ?? prefs.channels.find((c) => c.type === '*');
  return new Set(entry?.channels ?? []);
}

export type Route = { channel: ExternalChannel; status: 'PENDING' } | { channel: ExternalChannel; status: 'SKIPPED'; reason: string };

/**
 * A send's channels ∩ the user's preferences for the type ∩ the user's addresses. A channel
 * that falls out is recorded as SKIPPED with the reason (sendNotification.lua mirrors this).
 */
export function route(requested: readonly ExternalChannel[], prefs: Preferences, type: string, hasAddress: (c: ExternalChannel) => boolean): Route[] {
  const wanted = wantedChannels(prefs, type);
  return [...new Set(requested)].map((channel): Route => {
    if (!wanted.has(channel)) return { channel, status: 'SKIPPED', reason: SKIP.optedOut };
    if (!hasAddress(channel)) return { channel, status: 'SKIPPED', reason: SKIP.noAddress };
    return { channel, status: 'PENDING' };
  });
}

/** Reasons recorded in lastError of a SKIPPED delivery. */
export const SKIP = {
  optedOut: 'skipped: the user has not chosen this channel for this type (preferences)',
  noAddress: 'skipped: the user has no address on this channel',
  read: 'skipped: read before escalation',
  gone: 'skipped: no longer in the inbox before escalation (deleted, expired or pushed out by the cap)',
} as const;

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

/**
 * Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^(attempt-1))]
 * (attempt = attempts made so far, >= 1), never earlier than the provider asked.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs = 0, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.max(retryAfterMs, Math.floor(random() * ceiling));
}
