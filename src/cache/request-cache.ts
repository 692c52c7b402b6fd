import DataLoader from 'dataloader';
import type { Cached, CachedFn } from './cache.js';

interface Call {
  fn: CachedFn<any, unknown>;
  args: unknown;
}

/**
 * The per-request level in front of the two-level cache: a DataLoader keyed by the cache key,
 * so one request asks the cache (and so computes) each entry at most once, however many
 * fields, aliases or events need it. Made per request in the context factory (schema/context.ts).
 */
export class RequestCache {
  private readonly loader = new DataLoader<Call, Cached<unknown>, string>(
    // Each call on its own: the cache does the deduplication across requests; here only the memo matters.
    async ([call]) => [await call!.fn(call!.args).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))],
    { batch: false, cacheKeyFn: (c) => c.fn.key(c.args) },
  );

  load<A, T>(fn: CachedFn<A, T>, args: A): Promise<Cached<T>> {
    return this.loader.load({ fn, args }) as Promise<Cached<T>>;
  }

  /** Forgets what this request loaded (a subscription's context lives across events). */
  clear(): void {
    this.loader.clearAll();
  }
}
