/**
 * Mutations per principal (config RATE_LIMIT_SERVICE, RATE_LIMIT_USER), checked when an
 * operation is about to execute: over HTTP, SSE and WebSocket alike (websocket.ts executes
 * through yoga's enveloped execute), and before any resolver runs, so a refused operation
 * changes nothing.
 *
 * Each principal has `rate` mutations per second plus a burst allowance of another `rate`,
 * refilled every {@link BURST_WINDOW_S} s (rate-limiter-flexible's BurstyRateLimiter): a burst
 * can reach twice the rate, the sustained ceiling is rate × (1 + 1/10). Counters live in Redis
 * (shared by every instance, keys from keys.ts) or, on the memory backend, in this process.
 */
import { GraphQLError, Kind, getOperationAST, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Context } from '../schema/context.js';
import { rateLimitKeys } from '../store/redis/keys.js';
import type { Principal } from './auth.js';

/** Mutations per second per principal class; 0 turns that limit off. */
export interface RateLimits {
  /** service and admin principals */
  service: number;
  /** principals with only the user role */
  user: number;
}

/** How often the burst allowance refills. */
export const BURST_WINDOW_S = 10;

type PrincipalClass = keyof RateLimits;

export interface MutationLimiter {
  /**
   * Takes `points` (the operation's mutation fields) from the principal's budget.
   * @returns null when allowed, else the whole seconds to wait before retrying.
   */
  take(principal: Principal, points: number): Promise<number | null>;
}

/** @param redis - the command connection (Redis backend); null: counters in this process. */
export function createMutationLimiter({ limits, redis, prefix }: { limits: RateLimits; redis: Redis | null; prefix?: string }): MutationLimiter {
  const keys = rateLimitKeys(prefix);
  const make = (cls: PrincipalClass): BurstyRateLimiter | null => {
    const rate = limits[cls];
    if (rate === 0) return null;
    const limiter = (keyPrefix: string, duration: number) =>
      redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points: rate, duration }) : new RateLimiterMemory({ keyPrefix, points: rate, duration });
    return new BurstyRateLimiter(limiter(`${keys.window}:${cls}`, 1), limiter(`${keys.burst}:${cls}`, BURST_WINDOW_S));
  };
  const byClass: Record<PrincipalClass, BurstyRateLimiter | null> = { service: make('service'), user: make('user') };
  return {
    async take(principal, points) {
      const limiter = byClass[principal.roles.some((r) => r === 'service' || r === 'admin') ? 'service' : 'user'];
      if (!limiter || points === 0) return null;
      try {
        await limiter.consume(principal.sub, points);
        return null;
      } catch (err) {
        if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw err;
      }
    },
  };
}

/** Root fields of the operation's selection, through fragments: what a mutation costs. */
function rootFields(set: SelectionSetNode, document: DocumentNode): number {
  let n = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) n += s.name.value === '__typename' ? 0 : 1;
    else if (s.kind === Kind.INLINE_FRAGMENT) n += rootFields(s.selectionSet, document);
    else {
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) n += rootFields(fragment.selectionSet, document);
    }
  }
  return n;
}

/** The RATE_LIMITED error; over HTTP also status 429 with Retry-After. */
export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many mutations: rate limit reached, retry in ${retryAfterSeconds} s.`, {
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds, http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } } },
  });
}

/**
 * The yoga plugin. A limiter that fails (Redis away) lets the mutation through: it needs Redis
 * itself and reports that on its own, and a guard must not add an outage of its own.
 */
export function rateLimitMutations(limiter: MutationLimiter, logger: Logger): Plugin<Context> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const op = getOperationAST(args.document, args.operationName);
      const principal = (args.contextValue as Partial<Context>).principal;
      if (op?.operation !== 'mutation' || !principal) return;
      let wait: number | null;
      try {
        wait = await limiter.take(principal, rootFields(op.selectionSet, args.document));
      } catch (err) {
        logger.warn({ err }, 'rate limiter unavailable; mutation allowed');
        return;
      }
      if (wait !== null) setResultAndStopExecution({ errors: [rateLimited(wait)] });
    },
  };
}
