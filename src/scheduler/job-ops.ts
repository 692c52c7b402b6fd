/**
 * {@link JobOps} over a store and a bus: what a job does where it runs. The main thread builds
 * them over its own store and bus (jobs that run in process, every job on the memory backend);
 * a worker thread over its own Redis connection (worker.ts). Nothing is relayed between threads.
 */
import { NotificationService } from '../notifications/service.js';
import type { DashboardEvent } from '../realtime/events.js';
import type { Store } from '../store/store.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import type { JobOps } from './jobs.js';

/** The reminder as users see it; its TTL (12 h) and dedup window come from the type policy. */
export const WORK_END_REMINDER = {
  type: 'work_end_reminder',
  title: 'Time to wrap up',
  body: 'The work day is ending: save your work and log your hours before you go.',
} as const;

/** The dashboard's side of the bus, as dashboard-push uses it. */
export interface DashboardBus {
  /** subscribers of the `dashboard` topic's channel */
  topicListeners(): Promise<number>;
  /** publishes on the dashboard channel */
  refresh(ev: DashboardEvent): Promise<void>;
}

export function jobOps({ store, deliveries, clock, dashboard }: { store: Store; deliveries: DeliveryStore; clock: () => number; dashboard: DashboardBus }): JobOps {
  const service = new NotificationService(store, clock);
  return {
    beginRun: (name, claim) => store.beginJobRun(name, claim, clock()),
    endRun: (name, end) => store.endJobRun(name, end),
    workEndReminder: (date) => service.broadcast({ ...WORK_END_REMINDER, data: { date }, dedupKey: `work-end:${date}`, saveOffline: true }),
    deliverDue: () => service.deliverDue(),
    nextScheduledAt: () => store.nextScheduledAt(),
    pruneExpired: () => store.pruneExpired(clock()),
    pruneDeliveries: () => deliveries.prune(clock()),
    dashboardTopicListeners: () => dashboard.topicListeners(),
    refreshDashboard: (ev) => dashboard.refresh(ev),
  };
}

/**
 * The dashboard bus of a worker thread: none. dashboard-push runs in process (jobs.ts `runsIn`),
 * where the instance's own bus is; a worker job never touches the dashboard.
 */
export const NO_DASHBOARD: DashboardBus = {
  topicListeners: () => Promise.reject(new Error('dashboard-push runs in process, not in a worker')),
  refresh: () => Promise.reject(new Error('dashboard-push runs in process, not in a worker')),
};
