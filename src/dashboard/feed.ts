/**
 * Subscription.dashboardUpdated: the dashboard, pushed to this instance's listeners.
 *
 * - Each listener first gets the current dashboard.
 * - A "refresh" on the dashboard channel (realtime/channels.ts; the scheduler's dashboard job
 *   sends it through {@link DashboardFeed.publish} or a plain PUBLISH) makes every instance read
 *   its dashboard and push it to its listeners.
 * - Until such pushes arrive, a check every `intervalMs` while anyone listens pushes the
 *   dashboard when it changed (a part was recomputed). It stands down while refreshes arrive
 *   at least that often, and stops when the last listener leaves.
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
  /** how often to check for changes while anyone listens */
  intervalMs: number;
  clock?: () => number;
  logger?: { debug(obj: object, msg: string): void };
}

export class DashboardFeed {
  private readonly listeners = new Set<EventQueue<DashboardSnapshot>>();
  private timer: NodeJS.Timeout | undefined;
  /** bus subscription id; a promise while subscribing */
  private sub: Promise<number> | null = null;
  /** JSON of what was last pushed to everyone */
  private last: string | null = null;
  /** when the last refresh came over the bus (performance clock of this process) */
  private lastRefreshAt = -Infinity;
  private refreshing: Promise<void> | null = null;
  /** a bus refresh arrived while reading: push again once done */
  private again = false;

  constructor(private readonly deps: DashboardFeedDeps) {}

  /** Number of dashboardUpdated streams open on this instance. */
  get size(): number {
    return this.listeners.size;
  }

  stream(opts: { endsAt?: number | null } = {}): EventQueue<DashboardSnapshot> {
    let expiry: NodeJS.Timeout | undefined;
    const q: EventQueue<DashboardSnapshot> = new EventQueue<DashboardSnapshot>(() => {
      clearTimeout(expiry);
      this.listeners.delete(q);
      if (this.listeners.size === 0) this.stop();
    });
    if (opts.endsAt != null) {
      const ms = opts.endsAt - Date.now();
      const expire = () => q.end(new GraphQLError('token expired: subscribe again with a fresh token', { extensions: { code: 'UNAUTHENTICATED' } }));
      if (ms <= 0) {
        expire();
        return q;
      }
      // setTimeout caps at ~24.8 days; tokens that long-lived just aren't timed out here.
      if (ms < 2 ** 31) (expiry = setTimeout(expire, ms)).unref();
    }
    this.listeners.add(q);
    if (this.listeners.size === 1) this.start();
    // Subscribed first, then read: a push requested meanwhile is not lost.
    const subscribed = this.sub?.catch(() => {}) ?? Promise.resolve();
    void subscribed.then(() => this.deps.dashboard.snapshot()).then(
      (s) => {
        if (this.listeners.size === 1) this.last = JSON.stringify(s);
        q.push(s);
      },
      (err: unknown) => q.end(err),
    );
    return q;
  }

  /** Asks every instance to push its dashboard to its listeners now (what the dashboard job does). */
  async publish(): Promise<void> {
    const ev: DashboardEvent = { kind: 'refresh', at: (this.deps.clock ?? Date.now)() };
    await this.deps.bus.publish(this.deps.channel, ev);
  }

  /** Ends every stream and stops the timer (app.close). */
  close(): void {
    for (const q of [...this.listeners]) q.end();
    this.stop();
  }

  private start() {
    const { bus, channel, intervalMs } = this.deps;
    this.sub = bus.subscribe(channel, (ev: DashboardEvent) => {
      if (ev?.kind !== 'refresh') return;
      this.lastRefreshAt = performance.now();
      this.refresh(true);
    }, {});
    this.sub.catch((err: unknown) => this.deps.logger?.debug({ err }, 'dashboard feed: bus subscribe failed'));
    this.timer = setInterval(() => {
      if (performance.now() - this.lastRefreshAt < intervalMs) return;
      this.refresh(false);
    }, intervalMs);
    this.timer.unref();
  }

  private stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    const sub = this.sub;
    this.sub = null;
    this.last = null;
    sub?.then((id) => this.deps.bus.unsubscribe(id)).catch(() => {});
  }

  /** Reads the dashboard and pushes it to everyone: always when asked over the bus, else only if it changed. */
  private refresh(always: boolean) {
    if (this.refreshing) {
      this.again ||= always;
      return;
    }
    this.refreshing = this.deps.dashboard
      .snapshot()
      .then((s) => {
        const json = JSON.stringify(s);
        if (!always && json === this.last) return;
        this.last = json;
        for (const q of this.listeners) q.push(s);
      })
      .catch((err: unknown) => this.deps.logger?.debug({ err }, 'dashboard feed: snapshot failed'))
      .finally(() => {
        this.refreshing = null;
        if (this.again && this.listeners.size > 0) {
          this.again = false;
          this.refresh(true);
        }
      });
  }
}
