import { GraphQLError } from 'graphql';
import type { PubSubEngine } from 'graphql-subscriptions';
import type { NotificationService } from '../notifications/service.js';
import type { Notification } from '../notifications/types.js';
import { decodeItem } from '../store/codec.js';
import type { Channels } from './channels.js';
import { EventQueue } from './event-queue.js';
import { catchUp, inboxStream, type InboxEvent, type OutageHooks } from './inbox-stream.js';
import type { BroadcastEvent, TopicEvent, UserEvent } from './events.js';

export interface RealtimeDeps {
  bus: PubSubEngine;
  channels: Channels;
  service: NotificationService;
}

export interface StreamOptions {
  /** epoch ms when the caller's token expires: the stream then ends with UNAUTHENTICATED */
  endsAt?: number | null;
}

/**
 * Live streams over the bus. One bus subscription per channel per instance (the bus
 * reference-counts), fanned out here to each stream.
 */
export class Realtime {
  private readonly bus: PubSubEngine;
  private readonly ch: Channels;
  readonly service: NotificationService;
  /** users whose unread count must be re-read after a broadcast, flushed once per tick */
  private readonly pendingTouch = new Set<string>();
  private touchScheduled = false;
  /** streams that catch up after a bus outage (inbox, notificationReceived) */
  private readonly catchers = new Set<OutageHooks>();

  constructor({ bus, channels, service }: RealtimeDeps) {
    this.bus = bus;
    this.ch = channels;
    this.service = service;
  }

  /**
   * The caller's new notifications. With `after`: subscribe first, then replay what the inbox
   * holds newer than `after` (oldest first), then live events minus what the replay yielded,
   * so a send racing the resubscribe shows up once, never zero times.
   */
  notifications(userId: string, after: string | null, opts: StreamOptions = {}): EventQueue<Notification> {
    let filter: { active: boolean; muted: ReadonlySet<string> } = { active: true, muted: NONE };
    let replayed: ReadonlySet<string> = NONE;
    /** the newest id delivered (or `after`): where the stream catches up from after a bus outage */
    let cursor: string | null = after;
    // Events that arrive while the replay is read wait here, then go through the same filter.
    let buffered: (UserEvent | BroadcastEvent)[] | null = [];
    const deliver = (n: Notification) => {
      if (cursor !== null && n.id <= cursor) return;
      cursor = n.id;
      q.push(n);
    };
    const handle = (ev: UserEvent | BroadcastEvent) => {
      if (buffered) return void buffered.push(ev);
      if (ev.kind === 'user') filter = { active: ev.active, muted: setOf(ev.muted) };
      else if (ev.kind === 'notification' || (ev.kind === 'broadcast' && filter.active && !filter.muted.has(typeOf(ev.v)))) {
        if (!replayed.has(ev.id)) deliver(decodeItem(userId, ev.id, ev.v, ''));
      }
    };
    const drain = () => {
      const waiting = buffered ?? [];
      buffered = null;
      for (const ev of waiting) handle(ev);
    };
    let attached = false;
    let reading = false;
    // After a bus outage: what the inbox holds newer than the cursor, then what came meanwhile,
    // once each (ids only grow). Without a cursor (nothing delivered yet) only what comes next.
    const outage: OutageHooks = {
      suspend: () => {
        if (attached && !buffered) buffered = [];
      },
      resume: () => {
        if (!attached || !buffered || reading) return;
        reading = true;
        const read = async () => {
          const missed = cursor === null ? [] : await this.service.since(userId, cursor);
          reading = false;
          for (const n of missed) deliver(n);
          drain();
        };
        catchUp(read, () => !q.closed, () => q.end(unavailable()));
      },
    };
    const q = this.open<Notification>(
      [this.ch.user(userId), this.ch.broadcastsOf(userId)],
      handle,
      opts,
      async () => {
        const [user] = await this.service.getUsers([userId]);
        if (user) filter = { active: user.active, muted: setOf(user.preferences.mutedTypes) };
        if (after) {
          const missed = await this.service.since(userId, after);
          replayed = setOf(missed.map((n) => n.id));
          for (const n of missed) deliver(n);
        }
        attached = true;
        drain();
      },
      outage,
    );
    return q;
  }

  /**
   * The caller's inbox: new notifications, read-state changes and removals, each with the exact
   * unread count; a first "attached" event, or with `after` the replay and its marker
   * (inbox-stream.ts).
   */
  inbox(userId: string, after: string | null, opts: StreamOptions = {}): EventQueue<InboxEvent> {
    return inboxStream(this, userId, after, opts);
  }

  get channels(): Channels {
    return this.ch;
  }

  /** The caller's exact unread count: the current one first, then after every change. */
  unreadCounts(userId: string, opts: StreamOptions = {}): EventQueue<number> {
    let last: number | null = null;
    const emit = (n: number) => {
      if (n !== last) q.push((last = n));
    };
    const q = this.open<number>(
      [this.ch.user(userId), this.ch.broadcastsOf(userId)],
      (ev: UserEvent | BroadcastEvent) => {
        if (ev.kind === 'unread') emit(ev.count);
        // A broadcast changes counts only once settled: touching the inbox settles it, and
        // the store then publishes the new count to every device of that user.
        else if (ev.kind === 'broadcast' && ev.stored) this.touch(userId);
      },
      opts,
      async () => {
        const [n] = await this.service.unreadCounts([userId]);
        emit(n ?? 0);
      },
      // After a bus outage the count is read again: changes made meanwhile were never heard.
      {
        suspend() {},
        resume: () => {
          const read = async () => {
            const [n] = await this.service.unreadCounts([userId]);
            emit(n ?? 0);
          };
          catchUp(read, () => !q.closed, () => q.end(unavailable()));
        },
      },
    );
    return q;
  }

  topics(names: readonly string[], opts: StreamOptions = {}): EventQueue<TopicEvent> {
    const q = this.open<TopicEvent>(
      names.map((n) => this.ch.topic(n)),
      (ev: TopicEvent) => q.push(ev),
      opts,
      async () => {},
    );
    return q;
  }

  async publishTopic(topic: string, payload: unknown): Promise<TopicEvent> {
    const ev: TopicEvent = { topic, payload, publishedAt: this.service.now() };
    await this.bus.publish(this.ch.topic(topic), ev);
    return ev;
  }

  /**
   * Subscribes to the channels, then runs `start` (replay, initial state), then delivers.
   * Whatever happens first (client gone, token expiry, failure) unsubscribes everything.
   * Public for the stream modules (inbox-stream.ts).
   */
  open<T>(names: string[], onEvent: (ev: any) => void, opts: StreamOptions, start: () => Promise<void>, outage?: OutageHooks): EventQueue<T> {
    let ids: number[] | null = null;
    let timer: NodeJS.Timeout | undefined;
    if (outage) this.catchers.add(outage);
    const q = new EventQueue<T>(() => {
      clearTimeout(timer);
      if (outage) this.catchers.delete(outage);
      if (ids) for (const id of ids) this.bus.unsubscribe(id);
      ids = [];
    });
    if (opts.endsAt != null) {
      // The wall clock, not the service's: a token's expiry is wall-clock time (jose checks it so)
      // and the timer below runs in real time; a test's clock must not end or prolong a stream.
      const ms = opts.endsAt - Date.now();
      const expire = () => q.end(new GraphQLError('token expired: subscribe again with a fresh token', { extensions: { code: 'UNAUTHENTICATED' } }));
      if (ms <= 0) expire();
      // setTimeout caps at ~24.8 days; tokens that long-lived just aren't timed out here.
      else if (ms < 2 ** 31) (timer = setTimeout(expire, ms)).unref();
    }
    const handler = (ev: unknown) => {
      if (!q.closed) onEvent(ev);
    };
    void Promise.all(names.map((n) => this.bus.subscribe(n, handler, {})))
      .then(async (subIds) => {
        if (ids) {
          // closed while subscribing
          for (const id of subIds) this.bus.unsubscribe(id);
          return;
        }
        ids = subIds;
        await start();
      })
      .catch((err) => q.end(err));
    return q;
  }

  /**
   * The bus lost its connection: events published from now on may never arrive. Streams that
   * can catch up start buffering.
   */
  suspend(): void {
    for (const c of this.catchers) c.suspend();
  }

  /** The bus's subscriptions are active again: streams catch up on what they missed (inbox-stream.ts). */
  resume(): void {
    for (const c of this.catchers) c.resume();
  }

  /** Settles `userId`'s inbox soon (batched per tick); the store then publishes what changed. */
  touch(userId: string): void {
    this.pendingTouch.add(userId);
    if (this.touchScheduled) return;
    this.touchScheduled = true;
    setImmediate(() => {
      const users = [...this.pendingTouch];
      this.pendingTouch.clear();
      this.touchScheduled = false;
      // One pipeline for every local subscriber; results arrive as 'unread' events.
      void this.service.unreadCounts(users).catch(() => {});
    });
  }
}

const unavailable = () => new GraphQLError('The store did not come back in time: subscribe again.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
const typeOf = (v: string) => v.slice(0, v.indexOf('\t'));
/** the empty set most streams hold (nothing muted, nothing replayed), shared: 10 000 idle streams, 10 000 fewer sets */
const NONE: ReadonlySet<string> = new Set();
const setOf = (items: readonly string[]): ReadonlySet<string> => (items.length > 0 ? new Set(items) : NONE);
