/**
 * What the store publishes as it commits, and on which channels. Items travel in their stored
 * form ("type\trank\tjson", see codec.ts) so Lua can publish them without re-encoding. The
 * channel names are the caller's (realtime/channels.ts makes them): the store is given them.
 */

/**
 * Where the store publishes: a user's events and the broadcasts (one channel per partition).
 * A message holds one event as JSON or, when one commit produced several (a send: the
 * notification, then the unread count), a JSON array of them in commit order.
 */
export interface StoreChannels {
  user(userId: string): string;
  broadcasts(partition: number): string;
  partitions: number;
}

export type UserEvent =
  /** an own notification was stored */
  | { kind: 'notification'; id: string; v: string }
  /**
   * One per commit that changed the unread count, the read state, or removed items (any cause:
   * send, read, delete, expiry noticed, cap, broadcast settled), with the ids that changed; a
   * list that would be empty is absent. `count` is the exact unread count after the commit.
   */
  | { kind: 'unread'; count: number; read?: string[]; unread?: string[]; removed?: string[] }
  /** published by Store.inboxSnapshot in the same atomic step: the snapshot reflects every event before it */
  | { kind: 'sync'; token: string }
  /** activation or muted types changed: live broadcast filters follow */
  | { kind: 'user'; active: boolean; muted: string[] };

export interface BroadcastEvent {
  kind: 'broadcast';
  id: string;
  v: string;
  /** false for saveOffline:false broadcasts: live only, never replayed */
  stored: boolean;
}
