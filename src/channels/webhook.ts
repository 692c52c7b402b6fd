/**
 * WEBHOOK: a POST of the rendered payload as JSON, signed the Standard Webhooks way with the
 * address's own secret. `webhook-id` is the delivery id, the same at every attempt, so a
 * receiver can drop duplicates; `webhook-timestamp` and `webhook-signature` are made afresh at
 * each attempt, since receivers refuse old timestamps. Redirects are not followed.
 */
import { Webhook } from 'standardwebhooks';
import { Agent } from 'undici';
import { scrubSecrets, webhookSecrets } from './addresses.js';
import { deadline, discard, header, parseRetryAfter, thrownResult } from './http.js';
import type { ClosableProvider, Destination, OutboundMessage, SendResult } from './provider.js';
import { createConnector } from './connector.js';
import type { LookupFunction } from './ssrf.js';

export interface WebhookProviderOptions {
  /** WEBHOOK_ALLOW_PRIVATE: http, loopback and private addresses allowed @default false */
  allowPrivate?: boolean;
  /** to open the connection (TCP and TLS) @default 10_000 */
  connectTimeoutMs?: number;
  /** the whole attempt, from connect to the end of the response @default 10_000 */
  timeoutMs?: number;
  /** the resolver, checked at connect time; tests map names to loopback with it @default dns.lookup */
  lookup?: LookupFunction;
  /** the clock of `webhook-timestamp` @default Date.now */
  now?: () => number;
  /** sent as user-agent @default 'notification-server-webhooks/1' */
  userAgent?: string;
}

export function createWebhookProvider(options: WebhookProviderOptions = {}): ClosableProvider {
  const {
    allowPrivate = false,
    connectTimeoutMs = 10_000,
    timeoutMs = 10_000,
    lookup,
    now = Date.now,
    userAgent = 'notification-server-webhooks/1',
  } = options;
  const agent = new Agent({
    connect: createConnector({ guard: !allowPrivate, connectTimeoutMs, ...(lookup ? { lookup } : {}) }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  async function attempt(to: Destination, message: OutboundMessage, signal?: AbortSignal): Promise<SendResult> {
    let url: URL;
    try {
      url = new URL(to.address);
    } catch {
      return { kind: 'fail', error: 'not a URL' };
    }
    if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
      return { kind: 'fail', error: `${url.protocol} URL refused: webhooks use https` };
    }
    if (!to.secret) return { kind: 'fail', error: 'the address has no signing secret' };

    const body = JSON.stringify(message.payload);
    const at = new Date(now());
    let signature: string;
    try {
      signature = new Webhook(to.secret).sign(message.deliveryId, at, body);
    } catch {
      return { kind: 'fail', error: 'the signing secret is not valid' };
    }

    const limit = deadline(timeoutMs, signal);
    try {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': userAgent,
          'webhook-id': message.deliveryId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        signal: limit.signal,
      });
      await discard(res.body);
      return classifyStatus(res.statusCode, header(res.headers, 'retry-after'), now());
    } catch (err) {
      return thrownResult(err, timeoutMs, limit.timedOut());
    } finally {
      limit.done();
    }
  }

  return {
    channel: 'WEBHOOK',
    async send(to, message, signal) {
      const result = await attempt(to, message, signal);
      if (result.kind === 'ok') return result;
      return { ...result, error: scrubSecrets(result.error, webhookSecrets(to.address)) };
    },
    close: () => agent.close(),
  };
}

/**
 * 2xx ok; 429 retry (after Retry-After); 408 and 5xx retry; 3xx fail (redirects are not
 * followed: a receiver that moved must be set again); other 4xx fail (410 Gone included).
 */
export function classifyStatus(status: number, retryAfter: string | undefined, now: number = Date.now()): SendResult {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 429) {
    const after = parseRetryAfter(retryAfter, now);
    return { kind: 'retry', error: 'HTTP 429 Too Many Requests', ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  if (status === 408 || status >= 500) {
    const after = status === 503 ? parseRetryAfter(retryAfter, now) : undefined;
    return { kind: 'retry', error: `HTTP ${status}`, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  if (status >= 300 && status < 400) return { kind: 'fail', error: `HTTP ${status}: redirect not followed` };
  return { kind: 'fail', error: `HTTP ${status}` };
}
