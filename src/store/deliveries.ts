/**
 * Deliveries beyond the app (webhook, Telegram, WeCom) as the store keeps them: the records,
 * their ids, and the routing rule the send step applies when it queues them (the memory store
 * here, sendNotification.lua in Redis). Knows nothing of HTTP, GraphQL or Redis.
 */

export type ExternalChannel = 'WEBHOOK' | 'TELEGRAM' | 'WECOM';
export const EXTERNAL_CHANNELS: readonly ExternalChannel[] = ['WEBHOOK', 'TELEGRAM', 'WECOM'];

/** The part of a user's preferences routing reads: the channels wanted per type ("*" = any). */
export interface ChannelPreferences {
  channels: readonly { type: string; channels: readonly string[] }[];
}
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
export function wantedChannels(prefs: ChannelPreferences, type: string): Set<string> {
  const entry = prefs.channels.find((c) => c.type === type) ?? prefs.channels.find((c) => c.type === '*');
  return new Set(entry?.channels ?? []);
}

export type Route = { channel: ExternalChannel; status: 'PENDING' } | { channel: ExternalChannel; status: 'SKIPPED'; reason: string };

/**
 * A send's channels ∩ the user's preferences for the type ∩ the user's addresses. A channel
 * that falls out is recorded as SKIPPED with the reason (sendNotification.lua mirrors this).
 */
export function route(requested: readonly ExternalChannel[], prefs: ChannelPreferences, type: string, hasAddress: (c: ExternalChannel) => boolean): Route[] {
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
