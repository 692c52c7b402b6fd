/**
 * The bus's two halves on Redis: sharded channels (SSUBSCRIBE/SPUBLISH, Redis >= 7) for the
 * per-partition user and broadcast events, and graphql-redis-subscriptions for the few global
 * ones (topics, dashboard); {@link RoutingPubSub} puts them behind one PubSubEngine.
 */
import { PubSubEngine } from 'graphql-subscriptions';
import type { RedisClient } from '../store/redis/client.js';

type Handler = (message: unknown) => void;

/**
 * Sharded channels as a PubSubEngine: one Redis subscription per channel per instance, fanned
 * out locally. On a Cluster client made with `shardedSubscribers: true` ioredis keeps one
 * subscriber connection per shard and sends each SSUBSCRIBE to the shard that owns the channel's
 * slot; on a single node the same commands go to its one connection.
 */
export class ShardedPubSub extends PubSubEngine {
  private readonly handlers = new Map<number, { channel: string; fn: Handler }>();
  private readonly byChannel = new Map<string, { ids: Set<number>; ready: Promise<unknown>; confirmed: boolean }>();
  private nextId = 0;

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
  ) {
    super();
    subscriber.on('smessage', (channel: string, message: string) => {
      const sub = this.byChannel.get(channel);
      if (!sub) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        parsed = message;
      }
      // One commit's several events arrive as one array, in order (store/events.ts).
      if (Array.isArray(parsed)) for (const ev of parsed) this.dispatch(sub.ids, ev);
      else this.dispatch(sub.ids, parsed);
    });
  }

  private dispatch(ids: Set<number>, message: unknown): void {
    for (const id of ids) this.handlers.get(id)?.fn(message);
  }

  async publish(channel: string, payload: unknown): Promise<void> {
    await this.publisher.spublish(channel, JSON.stringify(payload));
  }

  async subscribe(channel: string, onMessage: Handler): Promise<number> {
    const id = ++this.nextId;
    let sub = this.byChannel.get(channel);
    if (!sub) {
      const fresh = { ids: new Set<number>(), ready: this.subscriber.ssubscribe(channel) as Promise<unknown>, confirmed: false };
      fresh.ready.then(
        () => void (fresh.confirmed = true),
        () => {},
      );
      this.byChannel.set(channel, (sub = fresh));
    }
    sub.ids.add(id);
    this.handlers.set(id, { channel, fn: onMessage });
    try {
      await sub.ready;
    } catch (err) {
      this.unsubscribe(id);
      throw err;
    }
    return id;
  }

  unsubscribe(id: number): void {
    const h = this.handlers.get(id);
    if (!h) return;
    this.handlers.delete(id);
    const sub = this.byChannel.get(h.channel);
    if (!sub) return;
    sub.ids.delete(id);
    if (sub.ids.size === 0) {
      this.byChannel.delete(h.channel);
      // Not awaited (PubSubEngine's unsubscribe is synchronous); on a closed connection there is
      // nothing left to unsubscribe from.
      (this.subscriber.sunsubscribe(h.channel) as Promise<unknown>).catch(() => {});
    }
  }

  /** Subscriptions on a channel whose SSUBSCRIBE Redis confirmed. */
  listenerCount(channel: string): number {
    const sub = this.byChannel.get(channel);
    return sub?.confirmed ? sub.ids.size : 0;
  }

  /** Channels with local subscriptions. */
  channels(): string[] {
    return [...this.byChannel.keys()];
  }
}

/** graphql-redis-subscriptions' RedisPubSub as far as the routing reads it. */
type GlobalBus = PubSubEngine & { subsRefsMap?: Map<string, Set<number>>; getSubscriber?(): unknown };

/** Routes each channel to the bus it lives on: sharded (per partition) or global. */
export class RoutingPubSub extends PubSubEngine {
  private readonly owner = new Map<number, { bus: PubSubEngine; id: number }>();
  private nextId = 0;

  constructor(
    private readonly isSharded: (channel: string) => boolean,
    readonly shardBus: ShardedPubSub,
    readonly globalBus: GlobalBus,
  ) {
    super();
  }

  private busFor(channel: string): PubSubEngine {
    return this.isSharded(channel) ? this.shardBus : this.globalBus;
  }

  publish(channel: string, payload: unknown): Promise<void> {
    return this.busFor(channel).publish(channel, payload);
  }

  async subscribe(channel: string, onMessage: Handler, options: object): Promise<number> {
    const bus = this.busFor(channel);
    const inner = await bus.subscribe(channel, onMessage, options);
    const id = ++this.nextId;
    this.owner.set(id, { bus, id: inner });
    return id;
  }

  unsubscribe(id: number): void {
    const o = this.owner.get(id);
    if (!o) return;
    this.owner.delete(id);
    o.bus.unsubscribe(o.id);
  }

  /** Local subscriptions by id, both buses (tests check that none is left behind). */
  get subscriptionMap(): Record<number, unknown> {
    return Object.fromEntries(this.owner);
  }

  /** The global bus's subscriber connection (its 'message' listeners: tests check for leaks). */
  getSubscriber(): unknown {
    return this.globalBus.getSubscriber?.();
  }

  /** Confirmed subscriptions of this instance on a channel (tests wait on it). */
  listenerCount(channel: string): number {
    if (this.isSharded(channel)) return this.shardBus.listenerCount(channel);
    return this.globalBus.subsRefsMap?.get(channel)?.size ?? 0;
  }
}
