import { partitionOf } from '../store/redis/keys.js';

/**
 * Pub/sub channel names, all of them. Redis scripts receive these as ARGV (they publish inside
 * the same atomic step as the commit, so events leave in commit order = id order).
 *
 * | channel                  | carries                                              | published by                  |
 * |--------------------------|------------------------------------------------------|-------------------------------|
 * | P{p:N}:u:ID:events       | UserEvent: new own notification, unread count, prefs | per-user scripts (SPUBLISH)   |
 * | P{p:N}:broadcasts        | BroadcastEvent, once per broadcast and partition     | broadcastPart.lua (SPUBLISH)  |
 * | P{g}:topic:NAME          | TopicEvent (publish mutation)                        | service (PUBLISH)             |
 * | P{g}:dashboard           | DashboardEvent: "push the dashboard now"             | DashboardFeed.publish         |
 *
 * The {p:N} channels are sharded (SSUBSCRIBE/SPUBLISH): in the slot of the user's partition,
 * so a cluster sends them only to the instances serving those users (docs/redis-layout.md).
 */
export interface Channels {
  user(userId: string): string;
  /** the channel on which broadcasts reach this user: its partition's */
  userBroadcasts(userId: string): string;
  /** partition n's broadcast channel */
  partitionBroadcasts(n: number): string;
  topic(name: string): string;
  /** dashboardUpdated: every instance re-reads its dashboard and pushes it to its listeners */
  dashboard: string;
  /** whether a channel is a sharded one (SSUBSCRIBE) */
  sharded(channel: string): boolean;
}

export function channels(prefix = 'ntf:', partitions = 1): Channels {
  const part = (n: number) => `${prefix}{p:${n}}`;
  const sharded = `${prefix}{p:`;
  return {
    user: (userId) => `${part(partitionOf(userId, partitions))}:u:${userId}:events`,
    userBroadcasts: (userId) => `${part(partitionOf(userId, partitions))}:broadcasts`,
    partitionBroadcasts: (n) => `${part(n)}:broadcasts`,
    topic: (name) => `${prefix}{g}:topic:${name}`,
    dashboard: `${prefix}{g}:dashboard`,
    sharded: (channel) => channel.startsWith(sharded),
  };
}
