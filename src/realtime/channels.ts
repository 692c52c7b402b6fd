import { DEFAULT_PREFIX } from '../store/prefix.js';

/**
 * Pub/sub channel names, all of them. Redis scripts receive these as ARGV (they publish inside
 * the same atomic step as the commit, so events leave in commit order = id order).
 *
 * | channel             | carries                                              | published by                 |
 * |---------------------|------------------------------------------------------|------------------------------|
 * | P{u:ID}:events      | UserEvent: new own notification, unread count, prefs | per-user scripts / memory    |
 * | P{g}:broadcasts     | BroadcastEvent, once per broadcast                   | broadcast script / memory    |
 * | P{g}:topic:NAME     | TopicEvent (publish mutation)                        | service                      |
 * | P{g}:dashboard      | DashboardEvent: "push the dashboard now"             | DashboardFeed.publish (jobs) |
 */
export interface Channels {
  user(userId: string): string;
  broadcasts: string;
  topic(name: string): string;
  /** dashboardUpdated: every instance re-reads its dashboard and pushes it to its listeners */
  dashboard: string;
}

export function channels(prefix = DEFAULT_PREFIX): Channels {
  return {
    user: (userId) => `${prefix}{u:${userId}}:events`,
    broadcasts: `${prefix}{g}:broadcasts`,
    topic: (name) => `${prefix}{g}:topic:${name}`,
    dashboard: `${prefix}{g}:dashboard`,
  };
}
