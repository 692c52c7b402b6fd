/**
 * Composition root: config -> connections -> store -> app -> listen. The only module that
 * creates connections, timers and process handlers.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createDeliveryWorker } from './channels/delivery-worker.js';
import { createApp, type App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createAuth, randomSecret } from './server/auth.js';
import { createPersistedOperations } from './server/persisted-operations.js';
import { memoryBackend, redisBackend } from './backend.js';
import { dashboardHooks } from './scheduler/dashboard-hooks.js';
import { createScheduler } from './scheduler/scheduler.js';
import { ExpirySweeper } from './notifications/expiry-sweeper.js';
import { checkLayout, connectRedis, redisTarget, type ConnectOptions } from './store/redis/connect.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);

  const target = redisTarget(config);
  const connect = (opts: ConnectOptions) => {
    // A few retries per command while Redis is away; /readyz reports it meanwhile.
    const r = connectRedis(target!, opts);
    r.on('error', (err: Error) => logger.warn({ err: err.message, connection: opts.name }, 'redis connection error'));
    return r;
  };
  const single = target?.kind === 'single';
  const redis = target ? connect({ name: 'commands' }) : null;
  const subscriber = target ? connect({ name: 'subscriber', sharded: true }) : null;
  // A single node's shard channels get a connection of their own (see RedisBackendOptions).
  const shardSubscriber = single ? (connect({ name: 'shard-subscriber' }) as import('ioredis').Redis) : null;
  // The outbox's blocking stream reads get their own connection: a BLOCK stalls its connection.
  const blocking = single && config.delivery.workerEnabled ? (connect({ name: 'outbox' }) as import('ioredis').Redis) : null;
  if (redis) {
    try {
      await checkLayout(redis, config.redisKeyPrefix, config.redisPartitions);
    } catch (err) {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    }
  }
  const backend =
    redis && subscriber
      ? redisBackend({
          redis,
          subscriber,
          shardSubscriber,
          blocking,
          cap: config.inboxCap,
          prefix: config.redisKeyPrefix,
          partitions: config.redisPartitions,
          waitReplicas: config.redisWaitReplicas,
        })
      : memoryBackend({ cap: config.inboxCap });
  const { store } = backend;

  // Outside production, no secret and no identity provider means "try it out": a random
  // secret plus ready tokens.
  const devSecret = config.jwtSecret === null && config.jwks === null;
  const auth = createAuth({ secret: devSecret ? randomSecret() : config.jwtSecret, jwks: config.jwks, logger });
  let graphiqlToken: string | undefined;
  if (devSecret) {
    const admin = await auth.sign({ sub: 'admin', roles: ['admin'], expiresIn: '12h' });
    const user = await auth.sign({ sub: 'demo-user', roles: ['user'], expiresIn: '12h' });
    graphiqlToken = admin;
    console.log(
      [
        'No JWT_SECRET set: using a random one for this run. Ready-made tokens (12 h):',
        `  admin:     Bearer ${admin}`,
        `  demo-user: Bearer ${user}`,
      ].join('\n'),
    );
  }

  // Bree and its job workers (docs/jobs.md). On Redis each job's worker opens its own
  // connection; on the memory backend it asks this thread, where the state lives.
  let app: App | undefined;
  const scheduler = createScheduler({
    store,
    deliveries: backend.deliveries,
    backend: target
      ? { kind: 'redis', target, prefix: config.redisKeyPrefix, cap: config.inboxCap, partitions: config.redisPartitions, waitReplicas: config.redisWaitReplicas }
      : { kind: 'memory' },
    logger,
    workEndCron: config.workEndCron,
    timezone: config.schedulerTimezone,
    enabled: config.schedulerEnabled,
    dashboard: dashboardHooks(() => app, backend),
  });

  // Counts follow time: expired notifications leave every live badge within about a second.
  const expirySweeper = new ExpirySweeper({ store, logger });
  expirySweeper.start();

  app = createApp({
    ...backend,
    jobs: scheduler,
    expirySweeper,
    auth,
    logger,
    graphiqlToken,
    topicRoles: config.topicRoles,
    wsKeepAliveMs: config.wsKeepAliveMs,
    dashboardTtlMs: config.dashboardTtlMs,
    cacheEnabled: config.cacheEnabled,
    persisted: createPersistedOperations(config.persistedOperations, config.persistedOperationsManifests),
    webhookAllowPrivate: config.delivery.webhookAllowPrivate,
  });
  if (config.nodeEnv === 'production' && config.persistedOperations !== 'only') {
    logger.warn({ persistedOperations: config.persistedOperations }, 'clients may send any document; PERSISTED_OPERATIONS=only is recommended in production (docs/clients.md)');
  }
  // Deliveries beyond the app (docs/channels.md): every instance takes its share of the outbox.
  const deliveryWorker = config.delivery.workerEnabled
    ? createDeliveryWorker({
        store,
        deliveries: backend.deliveries,
        redis,
        prefix: config.redisKeyPrefix,
        config: config.delivery,
        consumer: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        logger,
      })
    : null;
  deliveryWorker?.start();
  app.server.listen(config.port, config.host, () => {
    logger.info({ port: config.port, host: config.host, backend: store.kind }, `listening on http://localhost:${config.port}/graphql`);
  });
  // A scheduler that can't start is logged; the server keeps serving.
  scheduler.start().catch((err: unknown) => logger.error({ err }, 'scheduler failed to start'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Jobs and connections wind down together, so the grace period is spent once; Redis
    // closes after both, since running jobs still report to it.
    await Promise.all([scheduler.stop(config.shutdownTimeoutMs), app!.close(config.shutdownTimeoutMs), deliveryWorker?.stop(config.shutdownTimeoutMs)]);
    // The blocking connection may sit in a BLOCK read: no QUIT to wait behind it.
    blocking?.disconnect();
    for (const r of [redis, subscriber, shardSubscriber]) await r?.quit().catch(() => r.disconnect());
    logger.info('bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
