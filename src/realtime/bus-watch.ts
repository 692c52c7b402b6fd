/**
 * When a subscriber connection of the bus loses its subscriptions, and when they are active
 * again: streams suspend in between and catch up after (Backend.watchBus, realtime.ts).
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../store/redis/client.js';

export interface SubscriberHooks {
  /** the connection is gone: events published from now on may never arrive */
  down(): void;
  /** its subscriptions are active again */
  up(): void;
}

/** How often a Cluster's subscriber connections are looked at (no network: their status). */
const CLUSTER_POLL_MS = 200;

/**
 * Calls `down` when `conn` loses its connection(s) and `up` once its subscriptions are active
 * again; each at most once per outage.
 */
export function watchSubscriber(conn: RedisClient, hooks: SubscriberHooks): void {
  if (!(conn instanceof Cluster)) return watchNode(conn, hooks);
  if (conn.options.shardedSubscribers) return watchShardedSubscribers(conn, hooks);
  return watchClusterSubscriber(conn, hooks);
}

/**
 * One node: 'close' is the outage; ioredis emits 'ready' before it resubscribes, so a PING sent
 * after 'ready' is answered once the subscriptions are active again.
 */
function watchNode(conn: Redis, hooks: SubscriberHooks): void {
  let down = false;
  conn.on('close', () => {
    if (down) return;
    down = true;
    hooks.down();
  });
  conn.on('ready', () => {
    if (!down) return;
    setImmediate(() => {
      conn.ping().then(
        () => {
          if (!down || conn.status !== 'ready') return;
          down = false;
          hooks.up();
        },
        () => {},
      );
    });
  });
}

/** ioredis's internals this module reads (ioredis is pinned; test/redis-connect.e2e.test.ts drops each subscriber connection on both targets). */
interface ClusterInternals {
  subscriber: { getInstance(): Redis | null };
  shardedSubscribers: { shardedSubscribers: Map<string, { isStarted(): boolean; isHealthy(): boolean; getInstance(): Redis | null }> };
}

/**
 * A Cluster's SUBSCRIBE connection is one node's, replaced by a connection to another node when
 * it ends (ioredis ClusterSubscriber), which resubscribes before anything we send on it. It has
 * no public event: its status is looked at every {@link CLUSTER_POLL_MS}.
 */
function watchClusterSubscriber(conn: Cluster, hooks: SubscriberHooks): void {
  const internals = conn as unknown as ClusterInternals;
  let down = false;
  let seen = internals.subscriber.getInstance();
  let probing = false;
  const timer = setInterval(() => {
    if (conn.status === 'end') return clearInterval(timer);
    const now = internals.subscriber.getInstance();
    // 'wait': not connected because nothing was ever subscribed; nothing to lose
    const ok = now !== null && (now.status === 'ready' || now.status === 'wait');
    if (!down && (!ok || (seen !== null && now !== seen))) {
      down = true;
      hooks.down();
    }
    seen = now;
    if (!down || !ok || probing || now.status !== 'ready') return;
    probing = true;
    now.ping().then(
      () => {
        probing = false;
        if (!down || internals.subscriber.getInstance() !== now || now.status !== 'ready') return;
        down = false;
        hooks.up();
      },
      () => void (probing = false),
    );
  }, CLUSTER_POLL_MS);
  timer.unref();
}

/**
 * A Cluster's sharded subscribers, one connection per master: one ends with its node ('-node'
 * with the node's key), and after the slot map is read again ioredis connects to the new owner
 * and resubscribes its channels ('subscribersReady'). A PING on every started connection, sent
 * after those SSUBSCRIBEs, is answered once they are active.
 */
function watchShardedSubscribers(conn: Cluster, hooks: SubscriberHooks): void {
  const group = (conn as unknown as ClusterInternals).shardedSubscribers;
  let down = false;
  conn.on('-node', (_redis: unknown, nodeKey?: string) => {
    // the Cluster's command connections emit '-node' with no key: not a subscriber
    if (down || nodeKey === undefined) return;
    down = true;
    hooks.down();
  });
  conn.on('subscribersReady', () => {
    if (!down) return;
    const subs = [...group.shardedSubscribers.values()];
    if (subs.some((s) => !s.isHealthy())) return; // one failed to connect: ioredis resets again
    const started = subs.filter((s) => s.isStarted());
    const instances = started.map((s) => s.getInstance());
    if (instances.some((r) => r === null || r.status !== 'ready')) return; // another reset follows
    Promise.all(instances.map((r) => r!.ping())).then(
      () => {
        if (!down) return;
        down = false;
        hooks.up();
      },
      () => {},
    );
  });
}

/**
 * The bus is down while any of `conns` is: `suspend` when the first goes, `resume` once all are
 * back with their subscriptions active.
 */
export function watchSubscribers(conns: RedisClient[], hooks: { suspend(): void; resume(): void }): void {
  const downs = new Set<number>();
  conns.forEach((conn, i) =>
    watchSubscriber(conn, {
      down() {
        if (downs.size === 0) hooks.suspend();
        downs.add(i);
      },
      up() {
        downs.delete(i);
        if (downs.size === 0) hooks.resume();
      },
    }),
  );
}
