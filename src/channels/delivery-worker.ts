import type { Logger } from 'pino';
import type { DeliveryConfig } from '../config.js';
import type { Delivery } from '../store/deliveries.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import { DEFAULT_PREFIX } from '../store/prefix.js';
import type { RedisClient } from '../store/redis/client.js';
import { limiterKey } from '../store/redis/keys.js';
import type { Store } from '../store/store.js';
import { createOutbox, type Outbox } from './outbox.js';
import { createProviders } from './providers.js';
import { createThrottle } from './throttle.js';

export interface DeliveryWorkerDeps {
  store: Store;
  deliveries: DeliveryStore;
  /** the command connection on Redis (shared rate buckets); null on the memory backend */
  redis: RedisClient | null;
  prefix?: string;
  config: DeliveryConfig;
  /** unique per running instance (its consumer name in the outbox group) */
  consumer: string;
  logger: Logger;
  clock?: () => number;
  onOutcome?: (d: Delivery) => void;
  /** how long a read waits for new work. @default 500 */
  pollMs?: number;
}

/** The outbox worker with this deployment's providers and limits; `stop` also closes the providers' connections. */
export function createDeliveryWorker(deps: DeliveryWorkerDeps): Outbox {
  const { store, deliveries, config, clock = Date.now } = deps;
  const providers = createProviders({
    webhookAllowPrivate: config.webhookAllowPrivate,
    telegramBotToken: config.telegramBotToken ?? undefined,
    telegramApiUrl: config.telegramApiUrl,
    wecomApiUrl: config.wecomApiUrl,
    timeoutMs: config.timeoutMs,
  });
  const outbox = createOutbox({
    deliveries,
    inboxItem: async (userId, id) => (await store.get(userId, [id], clock()))[0] ?? null,
    providers,
    throttle: createThrottle({ redis: deps.redis, keyPrefix: (name: string) => limiterKey(deps.prefix ?? DEFAULT_PREFIX, name) }),
    retry: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs, maxAttempts: config.maxAttempts },
    consumer: deps.consumer,
    logger: deps.logger.child({ module: 'outbox' }),
    clock,
    concurrency: config.concurrency,
    timeoutMs: config.timeoutMs,
    reclaimIdleMs: config.reclaimIdleMs,
    pollMs: deps.pollMs,
    onOutcome: deps.onOutcome,
  });
  return {
    start: () => outbox.start(),
    async stop(timeoutMs) {
      await outbox.stop(timeoutMs);
      await providers.close();
    },
  };
}
