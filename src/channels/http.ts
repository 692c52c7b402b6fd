/**
 * What the three providers share about HTTP: reading a bounded body, Retry-After, and turning
 * a thrown client error into a SendResult. Error texts built here are scrubbed by the caller.
 */
import type { Dispatcher } from 'undici';
import { BlockedAddressError } from './ssrf.js';
import type { SendResult } from './provider.js';

/** Reads at most `limit` bytes of a response body as UTF-8 and drops the rest. */
export async function readText(body: Dispatcher.ResponseData['body'], limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > limit) {
      chunks.push(chunk.subarray(0, limit - size));
      body.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Discards a body we don't read, so the connection can be reused. */
export async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

/** Retry-After as ms from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** One header value as a string (undici gives string | string[] | undefined). */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A request that threw: a refused address is permanent, everything else (refused or reset
 * connections, DNS, TLS, timeouts, our own abort) may pass and is retried.
 */
export function thrownResult(err: unknown, timeoutMs: number, timedOut: boolean): SendResult {
  if (err instanceof BlockedAddressError) return { kind: 'fail', error: err.message };
  if (timedOut) return { kind: 'retry', error: `timed out after ${timeoutMs} ms` };
  const e = err as { name?: string; code?: string; message?: string } | undefined;
  if (e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED') return { kind: 'retry', error: 'aborted' };
  const code = e?.code ? `${e.code}: ` : '';
  return { kind: 'retry', error: `${code}${e?.message ?? String(err)}` };
}

/**
 * The caller's signal and our total timeout as one signal; `timedOut()` tells which fired,
 * `done()` clears the timer. (One controller and one timer: AbortSignal.any and
 * AbortSignal.timeout cost several times more per request.)
 */
export function deadline(timeoutMs: number, signal?: AbortSignal): { signal: AbortSignal; timedOut(): boolean; done(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = (): void => controller.abort();
  if (signal?.aborted) controller.abort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}
