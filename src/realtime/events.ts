/**
 * Event payloads on the channels (channels.ts). The store's own events (UserEvent,
 * BroadcastEvent) are defined with the store, which publishes them (store/events.ts).
 */
export type { BroadcastEvent, UserEvent } from '../store/events.js';

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
