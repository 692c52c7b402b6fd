import DataLoader from 'dataloader';
import { RequestCache } from '../cache/request-cache.js';
import type { Dashboard } from '../dashboard/dashboard.js';
import type { DashboardFeed } from '../dashboard/feed.js';
import type { NotificationService } from '../notifications/service.js';
import type { DeliveryService } from '../channels/delivery-service.js';
import type { Principal, Role, UserRecord } from '../notifications/types.js';
import type { Realtime } from '../realtime/realtime.js';
import type { JobsApi } from '../scheduler/scheduler.js';

/** Per-request loaders: a page of 50 notifications loads its recipients in one round trip. */
export interface Loaders {
  users: DataLoader<string, UserRecord | null>;
  unreadCounts: DataLoader<string, number>;
  /** cached computations (src/cache): each at most once per request */
  cached: RequestCache;
  /** forgets everything loaded: a subscription's context lives across events */
  reset(): void;
}

export interface Context {
  principal: Principal | null;
  /** The inbox this caller owns: the token's sub when it has the user role. */
  inboxUserId: string | null;
  service: NotificationService;
  /** channel addresses, deliveries beyond the app, dead letters */
  deliveries: DeliveryService;
  realtime: Realtime;
  /** topics reserved to a role (config TOPIC_ROLES); others are open to any authenticated caller */
  topicRoles: Readonly<Record<string, Role>>;
  loaders: Loaders;
  dashboard: Dashboard;
  dashboardFeed: DashboardFeed;
  /** the scheduler's `jobs` and `runJob` (src/scheduler); null where none was given (e.g. tests) */
  jobs: JobsApi | null;
}

/** Made on first use: a subscription's context lives as long as its connection, mostly idle. */
export function createLoaders(service: NotificationService): Loaders {
  let users: Loaders['users'] | undefined;
  let unreadCounts: Loaders['unreadCounts'] | undefined;
  let cached: RequestCache | undefined;
  return {
    get users() {
      return (users ??= new DataLoader((ids) => service.getUsers(ids)));
    },
    get unreadCounts() {
      return (unreadCounts ??= new DataLoader((ids) => service.unreadCounts(ids)));
    },
    get cached() {
      return (cached ??= new RequestCache());
    },
    reset() {
      users = unreadCounts = cached = undefined;
    },
  };
}
