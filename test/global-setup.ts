/**
 * vitest globalSetup: runs one PRIVATE redis-server for the whole test run on a
 * free port (never 6379, never a developer's own Redis) with persistence off,
 * and hands its URL to tests via `inject('redisUrl')` (see test/helpers/redis.ts).
 */
import type { TestProject } from 'vitest/node';
import { assertRedisInstalled, startRedisServer } from './helpers/redis-server.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the private test Redis. */
    redisUrl: string;
  }
}

/** Starts the private Redis; the returned function is vitest's teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertRedisInstalled();
  const running = await startRedisServer();
  const url = running.url;
  project.provide('redisUrl', url);
  process.env.TEST_REDIS_URL = url;

  // If vitest dies without running teardown, do not leave a redis-server behind.
  const child = running.child;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  return async () => {
    process.off('exit', killOnExit);
    await running.stop();
  };
}
