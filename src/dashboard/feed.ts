/**
 * Subscription.dashboardUpdated: the dashboard, pushed to this instance's listeners; and the
 * `dashboard` topic's snapshots.
 *
 * - Each listener first gets the current dashboard.
 * - One thing drives pushes: a "refresh" on the dashboard channel (realtime/channels.ts),
 *   which the scheduler's dashboard-push job publishes every 5 s and every instance listens to
 *   from start to close. On it, an instance with listeners reads its dashboard (through the
 *   cache: `system` is its own, the rest shared) and pushes it to them; the instance that sent
 *   the refresh (`by`) also publishes one snapshot on the `dashboard` topic when it has
 *   subscribers. An instance with neither reads nothing.
 * Every listener gets the same snapshot object, so the WebSocket layer executes each event once
 * per distinct operation (server/websocket.ts SHARED_ROOT_FIELDS).
 */
import { GraphQLError } from 'graphql';
import type { PubSubEngine } from 'graphql-subscriptions';
import { EventQueue } from '../realtime/event-queue.js';
import type { DashboardEvent } from '../realtime/events.js';
import type { Dashboard, DashboardSnapshot } from './dashboard.js';

export interface DashboardFeedDeps {
  dashboard: Dashboard;
  bus: PubSubEngine;
  /** channels().dashboard */
  channel: string;
  /** this instance's id: a refresh sent `by` it with `topic` set is published on the `dashboard` topic here */
  instance: string;
  /** publishes a snapshot on the `dashboard` topic (Realtime.publishTopic) */
  publishTopic(snapshot: DashboardSnapshot): Promise<unknown>;
  clock: () => number;
  logger?: { debug(obj: object, msg: string): void };
}

export class DashboardFeed {
  private readonly listeners = new Set<EventQueue<DashboardSnapshot>>();
  /** bus subscription id; a promise while subscribing */
  private readonly sub: Promise<number>;
  private refreshing: Promise<void> | null = null;
  /** a refresh arrived while reading: read again once done (with the topic if either asked for it) */
  private again: { topic: boolean } | null = null;
  private closed = false;

  constructor(private readonly deps: DashboardFeedDeps) {
    this.sub = deps.bus.subscribe(deps.channel, (ev: DashboardEvent) => {
      if (ev?.kind === 'refresh') this.refresh(ev.topic === true && ev.by === deps.instance);
    }, {});
    this.sub.catch((err: unknown) => deps.logger?.debug({ err }, 'dashboard feed: bus subscribe failed'));
  }

  /** Number of dashboardUpdated streams open on this instance. */
  get size(): number {
    return this.listeners.size;
  }

  stream(opts: { endsAt?: number | null } = {}): EventQueue<DashboardSnapshot> {
    let expiry: NodeJS.Timeout | undefined;
    const q: EventQueue<DashboardSnapshot> = new EventQueue<DashboardSnapshot>(() => {
      clearTimeout(expiry);
      this.listeners.delete(q);
    });
    if (opts.endsAt != null) {
      const ms = opts.endsAt - this.deps.clock();
      const expire = () => q.end(new GraphQLError('token expired: subscribe again with a fresh token', { extensions: { code: 'UNAUTHENTICATED' } }));
      if (ms <= 0) {
        expire();
        return q;
      }
      // setTimeout caps at ~24.8 days; tokens that long-lived just aren't timed out here.
      if (ms < 2 ** 31) (expiry = setTimeout(expire, ms)).unref();
    }
    this.listeners.add(q);
    // The bus subscription is there first, then the read: a refresh meanwhile is not lost.
    void this.sub
      .catch(() => {})
      .then(() => this.deps.dashboard.snapshot())
      .then(
        (s) => q.push(s),
        (err: unknown) => q.end(err),
      );
    return q;
  }

  /**
   * Asks every instance to push its dashboard to its listeners now (what dashboard-push does);
   * with `topic`, this instance also publishes one on the `dashboard` topic.
   */
  async publish({ topic = false }: { topic?: boolean } = {}): Promise<void> {
    const ev: DashboardEvent = { kind: 'refresh', at: this.deps.clock(), by: this.deps.instance, topic };
    await this.deps.bus.publish(this.deps.channel, ev);
  }

  /** Ends every stream and leaves the bus (app.close). */
  close(): void {
    this.closed = true;
    for (const q of [...this.listeners]) q.end();
    this.sub.then((id) => this.deps.bus.unsubscribe(id)).catch(() => {});
  }

  /** Reads the dashboard and pushes it to this instance's listeners, and on the topic when asked. */
  private refresh(topic: boolean) {
    if (this.closed || (!topic && this.listeners.size === 0)) return;
    if (this.refreshing) {
      this.again = { topic: topic || (this.again?.topic ?? false) };
      return;
    }
    this.refreshing = this.deps.dashboard
      .snapshot()
      .then(async (s) => {
        for (const q of this.listeners) q.push(s);
        if (topic) await this.deps.publishTopic(s);
      })
      .catch((err: unknown) => this.deps.logger?.debug({ err }, 'dashboard feed: refresh failed'))
      .finally(() => {
        this.refreshing = null;
        const again = this.again;
        this.again = null;
        if (again) this.refresh(again.topic);
      });
  }
}
