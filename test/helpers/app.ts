/**
 * Builds the whole app in-process on either backend, with a clock the test moves, and runs
 * typed documents (src/client) through yoga.fetch.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import pino from 'pino';
import { afterAll, afterEach } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import type { Role } from '../../src/notifications/types.js';
import { createAuth } from '../../src/server/auth.js';
import { createMemoryStore } from '../../src/store/memory/memory-store.js';
import { createRedisStore } from '../../src/store/redis/redis-store.js';
import type { Store } from '../../src/store/store.js';
import { deleteByPrefix, uniquePrefix, withRedis } from './redis.js';

export const SECRET = 'test-secret-test-secret-test-secret-0123';

export interface TestClock {
  now: number;
  advance(ms: number): void;
}

export interface TestApp {
  app: App;
  store: Store;
  clock: TestClock;
  token(sub: string, roles?: Role[]): Promise<string>;
  /** Runs a typed document; `as` is a token or a principal to sign one for. */
  run<R, V extends Record<string, unknown>>(doc: TypedDocumentNode<R, V>, variables: V, as: string | { sub: string; roles?: Role[] } | null): Promise<ExecutionResult<R>>;
}

export type BackendName = 'memory' | 'redis';
export const BACKENDS: BackendName[] = ['memory', 'redis'];

/**
 * Call at describe level: returns a getter for a fresh app per test on the given backend.
 * Redis tests get their own key prefix, removed after each test.
 */
export function useTestApp(backend: BackendName, opts: { cap?: number } = {}): () => TestApp {
  const redis = backend === 'redis' ? withRedis() : null;
  let current: TestApp | undefined;
  let prefix: string | undefined;
  const auth = createAuth(SECRET);
  const logger = pino({ level: 'silent' });

  afterEach(async () => {
    await current?.app.close(100);
    current = undefined;
    if (redis && prefix) await deleteByPrefix(redis, prefix);
  });
  afterAll(() => current?.app.close(100));

  return () => {
    if (current) return current;
    const cap = opts.cap ?? 50;
    prefix = uniquePrefix();
    const store = redis ? createRedisStore({ redis, cap, prefix }) : createMemoryStore({ cap });
    const clock: TestClock = {
      now: Date.now(),
      advance(ms) {
        this.now += ms;
      },
    };
    const app = createApp({ store, auth, logger, clock: () => clock.now });
    const token = (sub: string, roles: Role[] = ['user']) => auth.sign({ sub, roles, expiresIn: '1h' });
    current = {
      app,
      store,
      clock,
      token,
      async run(doc, variables, as) {
        const bearer = as === null ? null : typeof as === 'string' ? as : await token(as.sub, as.roles);
        const res = await app.yoga.fetch('http://test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          body: JSON.stringify({ query: print(doc), variables }),
        });
        return (await res.json()) as ExecutionResult<any>;
      },
    };
    return current;
  };
}

export const SERVICE = { sub: 'svc', roles: ['service'] as Role[] };
export const ADMIN = { sub: 'root', roles: ['admin'] as Role[] };
export const asUser = (sub: string) => ({ sub, roles: ['user'] as Role[] });

/** The error codes of a result, in order. */
export const codes = (r: ExecutionResult<unknown>) => (r.errors ?? []).map((e) => e.extensions?.code);
