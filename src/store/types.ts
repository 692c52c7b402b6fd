/**
 * What the store keeps: the shapes both backends store and return. They live with the store (it
 * defines what it stores); the domain re-exports them (notifications/types.ts). Times are epoch ms.
 */

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** Numeric rank used for `minPriority` filters (stored next to each item so stores can filter without parsing JSON). */
export const priorityRank = (p: Priority): number => PRIORITIES.indexOf(p);

export const CHANNELS = ['IN_APP', 'WEBHOOK', 'TELEGRAM', 'WECOM'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The immutable part of a notification, stored once (JSON) per own item or per broadcast. */
export interface NotificationContent {
  type: string;
  title: string;
  body: string;
  data: unknown;
  priority: Priority;
  createdAt: number;
  expiresAt: number;
  /** true for broadcasts: the id doubles as the broadcast id */
  broadcast?: true;
}

/** What a notification looks like to its recipient (own item or a broadcast seen through the inbox). */
export interface Notification extends Omit<NotificationContent, 'broadcast'> {
  id: string;
  userId: string;
  readAt: number | null;
  broadcastId: string | null;
}

export interface ChannelPreference {
  type: string;
  channels: Channel[];
}

export interface Preferences {
  mutedTypes: string[];
  channels: ChannelPreference[];
}

export interface UserRecord {
  id: string;
  displayName: string | null;
  active: boolean;
  createdAt: number;
  preferences: Preferences;
}

export interface NotificationTypePolicy {
  type: string;
  ttlSeconds: number;
  defaultPriority: Priority;
  dedupWindowSeconds: number;
  description: string | null;
}

export interface Template {
  name: string;
  type: string;
  title: string;
  body: string;
}

export interface NotificationFilter {
  unreadOnly?: boolean | null;
  types?: string[] | null;
  minPriority?: Priority | null;
}

export interface BroadcastRecord {
  id: string;
  type: string;
  title: string;
  createdAt: number;
  saveOffline: boolean;
  recipients: number;
  deduplicated: number;
  muted: number;
}
