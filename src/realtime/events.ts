/**
 * Event payloads on the channels (channels.ts). Items travel in their stored form
 * ("type\trank\tjson", see store/codec.ts) so Lua can publish them without re-encoding.
 */
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

export interface TopicEvent {
  topic: string;
  payload: unknown;
  publishedAt: number;
}

/**
 * On the dashboard channel: a request to push the dashboard now (the scheduler's dashboard job
 * sends it). No payload: `system` differs per instance, so each instance reads its own.
 */
export interface DashboardEvent {
  kind: 'refresh';
  /** epoch ms it was requested */
  at: number;
  /** the instance that sent it; with `topic`, that instance also publishes on the `dashboard` topic */
  by?: string;
  /** someone subscribes to the `dashboard` topic */
  topic?: boolean;
}
