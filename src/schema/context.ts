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
  return new LazyLoaders(service);
}

// A class rather than an object literal with getters: the literal's getters are new closures
// and accessor pairs for every context, several hundred bytes per idle subscription.
class LazyLoaders implements Loaders {
  private usersLoader: Loaders['users'] | undefined = undefined;
  private unreadCountsLoader: Loaders['unreadCounts'] | undefined = undefined;
  private cache: RequestCache | undefined = undefined;

  constructor(private readonly service: NotificationService) {}

  get users(): Loaders['users'] {
    return (this.usersLoader ??= new DataLoader((ids) => this.service.getUsers(ids)));
  }

  get unreadCounts(): Loaders['unreadCounts'] {
    return (this.unreadCountsLoader ??= new DataLoader((ids) => this.service.unreadCounts(ids)));
  }

  get cached(): RequestCache {
    return (this.cache ??= new RequestCache());
  }

  reset(): void {
    this.usersLoader = this.unreadCountsLoader = this.cache = undefined;
  }
}
