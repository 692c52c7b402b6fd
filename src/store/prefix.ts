/**
 * The prefix of every Redis key (src/store/redis/keys.ts) and pub/sub channel
 * (src/realtime/channels.ts) unless REDIS_KEY_PREFIX says otherwise, so that several
 * deployments, or tests, can share one Redis.
 */
export const DEFAULT_PREFIX = 'ntf:';
