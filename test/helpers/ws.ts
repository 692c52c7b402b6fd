/**
 * A graphql-ws client for tests: real sockets, typed documents, and waits on queued events
 * instead of sleeping.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import type { Channels } from '../../src/realtime/channels.js';

export interface Feed<R> {
  /** every result received so far */
  results: ExecutionResult<R>[];
  /** resolves once `n` results (in total) have arrived */
  waitFor(n: number, timeoutMs?: number): Promise<ExecutionResult<R>[]>;
  /** resolves when the server completes or errors the operation */
  ended: Promise<{ error?: unknown }>;
  stop(): void;
}

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

/** A connected client; `closed` resolves with the close event (code, reason). */
export function wsClient(url: string, token: string | null, opts: { lazy?: boolean; retryAttempts?: number } = {}) {
  let closeEvent: (e: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((r) => (closeEvent = r));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: opts.lazy ?? true,
    retryAttempts: opts.retryAttempts ?? 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (e) => closeEvent(e as { code: number; reason: string }) },
  });
  clients.push(client);
  return { client, closed };
}

export function subscribe<R, V extends Record<string, unknown>>(client: Client, doc: TypedDocumentNode<R, V>, variables: V): Feed<R> {
  const results: ExecutionResult<R>[] = [];
  const waiters: { n: number; resolve: (r: ExecutionResult<R>[]) => void }[] = [];
  let endResolve: (e: { error?: unknown }) => void = () => {};
  const ended = new Promise<{ error?: unknown }>((r) => (endResolve = r));
  const stop = client.subscribe<R>(
    { query: print(doc), variables },
    {
      next: (r) => {
        results.push(r as ExecutionResult<R>);
        for (const w of [...waiters]) if (results.length >= w.n) waiters.splice(waiters.indexOf(w), 1), w.resolve(results);
      },
      error: (error) => endResolve({ error }),
      complete: () => endResolve({}),
    },
  );
  return {
    results,
    ended,
    stop,
    waitFor(n, timeoutMs = 5000) {
      if (results.length >= n) return Promise.resolve(results);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} results, have ${results.length}: ${JSON.stringify(results).slice(0, 500)}`)), timeoutMs);
        waiters.push({ n, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
  };
}

/**
 * Live subscriptions of this instance on a channel, as acknowledged by the bus (on Redis a
 * subscription counts once Redis confirmed SUBSCRIBE or SSUBSCRIBE; the in-process PubSub at once).
 */
export function listeners(app: { realtime: unknown }, channel: (ch: Channels) => string): number {
  const rt = app.realtime as { bus: any; ch: Channels };
  const name = channel(rt.ch);
  if (typeof rt.bus.listenerCount === 'function') return rt.bus.listenerCount(name);
  return rt.bus.ee.listenerCount(name);
}

/** Waits until `n` subscriptions listen on the channel: a send after this can't be missed. */
export async function untilListening(app: { realtime: unknown }, channel: Parameters<typeof listeners>[1], n = 1, timeoutMs = 5000) {
  const start = Date.now();
  while (listeners(app, channel) < n) {
    if (Date.now() - start > timeoutMs) throw new Error(`only ${listeners(app, channel)}/${n} subscriptions listening`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
