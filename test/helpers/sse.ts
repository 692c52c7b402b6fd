/**
 * A minimal GraphQL-over-SSE client (yoga's "distinct connections" mode): POST with
 * Accept: text/event-stream, then read `event: next` / `event: complete` frames.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';

export function sseSubscribe<R, V extends Record<string, unknown>>(url: string, token: string, doc: TypedDocumentNode<R, V>, variables: V) {
  const controller = new AbortController();
  const results: ExecutionResult<R>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const done = (async () => {
    const res = await fetch(url, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(doc), variables }),
    });
    if (!res.body) throw new Error(`no SSE body (status ${res.status})`);
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let at: number;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event === 'complete') return;
          if (event === 'next' && data) {
            results.push(JSON.parse(data));
            for (const w of [...waiters]) if (results.length >= w.n) waiters.splice(waiters.indexOf(w), 1), w.resolve();
          }
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  return {
    results,
    done,
    stop: () => controller.abort(),
    waitFor(n: number, timeoutMs = 5000): Promise<ExecutionResult<R>[]> {
      if (results.length >= n) return Promise.resolve(results);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`SSE: timed out waiting for ${n}, have ${results.length}`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(results)) });
      });
    },
  };
}
