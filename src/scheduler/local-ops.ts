/**
 * {@link JobOps} over a store: what a job does where the store is. On Redis a worker thread
 * builds these over its own connection; on the memory backend the main thread serves them to
 * the worker (protocol.ts), because the state lives there.
 */
import type { Cluster, Redis } from 'ioredis';
import { NotificationService } from '../notifications/service.js';
import type { Store } from '../store/store.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import type { DashboardListeners, JobOps } from './jobs.js';

/** The dashboard push, as the composition root wires it (main.ts: the app's DashboardFeed and Realtime). */
export interface DashboardHooks {
  /** who listens right now (none: the push is skipped) */
  listeners(): Promise<DashboardListeners>;
  /** computes and publishes the dashboard to those who listen */
  publish(to: DashboardListeners): Promise<void>;
}

/** The pub/sub channels whose subscribers are the dashboard's listeners (realtime/channels.ts). */
export interface DashboardChannels {
  /** channels().dashboard: dashboardUpdated */
  updated: string;
  /** channels().topic('dashboard') */
  topic: string;
}

/** The reminder as users see it; its TTL (12 h) and dedup window come from the type policy. */
export const WORK_END_REMINDER = {
  type: 'work_end_reminder',
  title: 'Time to wrap up',
  body: 'The work day is ending: save your work and log your hours before you go.',
} as const;

export function localJobOps({ store, deliveries, clock, dashboard }: { store: Store; deliveries: DeliveryStore; clock: () => number; dashboard: DashboardHooks }): JobOps {
  const service = new NotificationService(store, clock);
  return {
    beginRun: (name, claim) => store.beginJobRun(name, claim, clock()),
    endRun: (name, end) => store.endJobRun(name, end),
    workEndReminder: (date) =>
      service.broadcast({ ...WORK_END_REMINDER, data: { date }, dedupKey: `work-end:${date}`, saveOffline: true }),
    deliverDue: () => service.deliverDue(),
    nextScheduledAt: () => store.nextScheduledAt(),
    pruneExpired: () => store.pruneExpired(clock()),
    pruneDeliveries: () => deliveries.prune(clock()),
    dashboardListeners: () => dashboard.listeners(),
    publishDashboard: (to) => dashboard.publish(to),
  };
}

/**
 * Subscribers of `channels` across every instance: PUBSUB NUMSUB counts one per instance that
 * has at least one local listener (RedisPubSub subscribes once per channel per instance and
 * unsubscribes after the last one leaves).
 */
export async function redisDashboardListeners(redis: Redis | Cluster, channels: DashboardChannels): Promise<DashboardListeners> {
  const reply = (await redis.call('PUBSUB', 'NUMSUB', channels.updated, channels.topic)) as (string | number)[];
  return { updated: Number(reply[1] ?? 0), topic: Number(reply[3] ?? 0) };
}
