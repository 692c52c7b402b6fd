import { DEFAULT_PARTITIONS, partitionOf } from '../store/partition.js';
import { DEFAULT_PREFIX } from '../store/prefix.js';

/**
 * Pub/sub channel names, all of them. Redis scripts receive these as ARGV (they publish inside
 * the same atomic step as the commit, so events leave in commit order = id order).
 *
 * | channel             | carries                                              | published by                  |
 * |---------------------|------------------------------------------------------|-------------------------------|
 * | P{p:N}:u:ID:events  | UserEvent: new own notification, unread count, prefs | per-user scripts / memory     |
 * | P{p:N}:broadcasts   | BroadcastEvent, once per broadcast and partition     | broadcastPart script / memory |
 * | P{g}:topic:NAME     | TopicEvent (publish mutation)                        | service                       |
 * | P{g}:dashboard      | DashboardEvent: "push the dashboard now"             | DashboardFeed.publish (jobs)  |
 *
 * The first two are sharded channels (SPUBLISH/SSUBSCRIBE): a user's events and its partition's
 * broadcasts live in the partition's slot, so on a Cluster they reach only the instances that
 * listen there, and over one connection, in commit order. N = partitionOf(ID, partitions).
 * Topic and dashboard events are few and go to every instance (PUBLISH).
 */
export interface Channels {
  user(userId: string): string;
  /** partition n's broadcast channel */
  broadcasts(partition: number): string;
  /** the channel that carries broadcasts to this user (its partition's) */
  broadcastsOf(userId: string): string;
  partitions: number;
  topic(name: string): string;
  /** dashboardUpdated: every instance re-reads its dashboard and pushes it to its listeners */
  dashboard: string;
  /** true for the per-partition channels above (SSUBSCRIBE), false for the global ones */
  isSharded(channel: string): boolean;
}

export function channels(prefix = DEFAULT_PREFIX, partitions = DEFAULT_PARTITIONS): Channels {
  const tag = (n: number) => `${prefix}{p:${n}}:`;
  const broadcasts = (n: number) => `${tag(n)}broadcasts`;
  return {
    user: (userId) => `${tag(partitionOf(userId, partitions))}u:${userId}:events`,
    broadcasts,
    broadcastsOf: (userId) => broadcasts(partitionOf(userId, partitions)),
    partitions,
    topic: (name) => `${prefix}{g}:topic:${name}`,
    dashboard: `${prefix}{g}:dashboard`,
    isSharded: (channel) => channel.startsWith(`${prefix}{p:`),
  };
}
