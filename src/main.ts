/**
 * Composition root: config -> connections -> store -> app -> listen. The only module that
 * creates connections, timers and process handlers.
 */
import { Redis } from 'ioredis';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createAuth, randomSecret } from './server/auth.js';
import { createMemoryStore } from './store/memory/memory-store.js';
import { createRedisStore } from './store/redis/redis-store.js';

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

  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        // Commands wait while Redis is down instead of failing at once; /readyz reports it.
        maxRetriesPerRequest: 3,
        lazyConnect: false,
      })
    : null;
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const store = redis ? createRedisStore({ redis, cap: config.inboxCap }) : createMemoryStore({ cap: config.inboxCap });

  // Outside production, a missing secret means "try it out": a random one plus ready tokens.
  const devSecret = config.jwtSecret === null;
  const auth = createAuth(config.jwtSecret ?? randomSecret());
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

  const app = createApp({ store, auth, logger, graphiqlToken });
  app.server.listen(config.port, config.host, () => {
    logger.info({ port: config.port, host: config.host, backend: store.kind }, `listening on http://localhost:${config.port}/graphql`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close(config.shutdownTimeoutMs);
    await store.close();
    await redis?.quit().catch(() => redis.disconnect());
    logger.info('bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
