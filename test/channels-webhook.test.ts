/**
 * The webhook provider against a real receiver on 127.0.0.1: Standard Webhooks signatures,
 * retry classification, redirects, timeouts, and the SSRF guard in the connect step.
 */
import type { LookupAddress } from 'node:dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableProvider, OutboundMessage } from '../src/channels/provider.js';
import { renderMessage } from '../src/channels/render.js';
import type { LookupFunction } from '../src/channels/ssrf.js';
import { createWebhookProvider } from '../src/channels/webhook.js';
import { generateWebhookSecret } from '../src/channels/addresses.js';
import { closedPort, startWebhookReceiver, type FakeWebhookReceiver } from './helpers/fake-providers.js';

const secret = generateWebhookSecret();
let receiver: FakeWebhookReceiver;
const providers: ClosableProvider[] = [];

function provider(options: Parameters<typeof createWebhookProvider>[0] = {}): ClosableProvider {
  const p = createWebhookProvider({ timeoutMs: 2_000, ...options });
  providers.push(p);
  return p;
}

let seq = 0;
function message(): OutboundMessage {
  seq += 1;
  return renderMessage(`dlv_${seq}`, {
    id: `n${seq}`,
    userId: 'alice',
    type: 'order.shipped',
    title: 'Shipped',
    body: 'On its way',
    priority: 'NORMAL',
    data: { orderId: seq },
    createdAt: Date.now(),
  });
}

/** Resolves every name to one address, as a DNS answer that was rebound to loopback would. */
function lookupTo(address: string, calls: string[] = []): LookupFunction {
  return (hostname, options, callback) => {
    calls.push(hostname);
    if (options.all) callback(null, [{ address, family: 4 } satisfies LookupAddress]);
    else callback(null, address, 4);
  };
}

beforeAll(async () => {
  receiver = await startWebhookReceiver([secret]);
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await receiver.close();
});

describe('webhook delivery (WEBHOOK_ALLOW_PRIVATE=true, receiver on loopback)', () => {
  it('POSTs the payload signed with the address secret; the receiver verifies it with standardwebhooks', async () => {
    const m = message();
    const before = receiver.accepted.length;
    const result = await provider({ allowPrivate: true }).send({ address: receiver.at('/hooks/alice'), secret }, m);
    expect(result).toEqual({ kind: 'ok' });
    const got = receiver.accepted[before];
    expect(got).toMatchObject({ id: m.deliveryId, verified: true, status: 204 });
    expect(JSON.parse(got!.body)).toEqual(m.payload);
    expect(receiver.log.at(-1)).toEqual({ method: 'POST', path: '/hooks/alice' });
  });

  it('a signature made with another secret is refused by the receiver (401 → fail)', async () => {
    const result = await provider({ allowPrivate: true }).send({ address: receiver.at(), secret: generateWebhookSecret() }, message());
    expect(result).toEqual({ kind: 'fail', error: 'HTTP 401' });
    expect(receiver.requests.at(-1)?.verified).toBe(false);
  });

  it('429 with Retry-After → retry after that many seconds', async () => {
    receiver.failNext(1, { status: 429, headers: { 'retry-after': '7' } });
    const result = await provider({ allowPrivate: true }).send({ address: receiver.at(), secret }, message());
    expect(result).toEqual({ kind: 'retry', error: 'HTTP 429 Too Many Requests', retryAfterMs: 7000 });
  });

  it('5xx then success: one webhook-id, a fresh timestamp and signature, accepted once', async () => {
    let offset = 0;
    const p = provider({ allowPrivate: true, now: () => Date.now() + offset });
    const m = message();
    receiver.failNext(1, { status: 503 });
    const first = receiver.requests.length;
    expect(await p.send({ address: receiver.at(), secret }, m)).toEqual({ kind: 'retry', error: 'HTTP 503' });
    offset = 2_000; // the retry comes later: its timestamp must be its own
    expect(await p.send({ address: receiver.at(), secret }, m)).toEqual({ kind: 'ok' });
    const [a, b] = receiver.requests.slice(first);
    expect(a!.id).toBe(m.deliveryId);
    expect(b!.id).toBe(m.deliveryId);
    expect(Number(b!.timestamp) - Number(a!.timestamp)).toBeGreaterThanOrEqual(1);
    expect(b!.signature).not.toBe(a!.signature);
    expect([a!.verified, b!.verified]).toEqual([true, true]);
    expect(receiver.accepted.filter((r) => r.id === m.deliveryId)).toHaveLength(1);
  });

  it('a repeated webhook-id is dropped by the receiver as a duplicate', async () => {
    const p = provider({ allowPrivate: true });
    const m = message();
    const duplicates = receiver.duplicates;
    expect(await p.send({ address: receiver.at(), secret }, m)).toEqual({ kind: 'ok' });
    expect(await p.send({ address: receiver.at(), secret }, m)).toEqual({ kind: 'ok' });
    expect(receiver.duplicates).toBe(duplicates + 1);
    expect(receiver.accepted.filter((r) => r.id === m.deliveryId)).toHaveLength(1);
  });

  it.each([400, 404, 410, 422])('permanent %i → fail', async (status) => {
    receiver.failNext(1, { status });
    expect(await provider({ allowPrivate: true }).send({ address: receiver.at(), secret }, message())).toEqual({ kind: 'fail', error: `HTTP ${status}` });
  });

  it('a redirect is not followed: fail, and nothing reaches the target', async () => {
    receiver.failNext(1, { status: 302, headers: { location: receiver.at('/elsewhere') } });
    const before = receiver.log.length;
    const result = await provider({ allowPrivate: true }).send({ address: receiver.at('/moved'), secret }, message());
    expect(result).toEqual({ kind: 'fail', error: 'HTTP 302: redirect not followed' });
    expect(receiver.log.slice(before)).toEqual([{ method: 'POST', path: '/moved' }]);
  });

  it('a receiver that never answers → retry after the timeout', async () => {
    receiver.failNext(1, { status: 200, hang: true });
    const result = await provider({ allowPrivate: true, timeoutMs: 300 }).send({ address: receiver.at(), secret }, message());
    expect(result).toEqual({ kind: 'retry', error: 'timed out after 300 ms' });
  });

  it('a closed port → retry', async () => {
    const port = await closedPort();
    const result = await provider({ allowPrivate: true }).send({ address: `http://127.0.0.1:${port}/x`, secret }, message());
    expect(result.kind).toBe('retry');
    expect(result.kind === 'retry' && result.error).toMatch(/ECONNREFUSED/);
  });

  it('the caller aborting → retry (the outbox tries again later)', async () => {
    receiver.failNext(1, { status: 200, hang: true });
    const controller = new AbortController();
    const before = receiver.requests.length;
    const sending = provider({ allowPrivate: true }).send({ address: receiver.at(), secret }, message(), controller.signal);
    await receiver.waitUntil(() => receiver.requests.length > before);
    controller.abort();
    expect(await sending).toEqual({ kind: 'retry', error: 'aborted' });
  });

  it('no secret, or one that is not a secret → fail before sending', async () => {
    const before = receiver.log.length;
    const p = provider({ allowPrivate: true });
    expect(await p.send({ address: receiver.at() }, message())).toEqual({ kind: 'fail', error: 'the address has no signing secret' });
    expect(await p.send({ address: receiver.at(), secret: 'whsec_' }, message())).toEqual({ kind: 'fail', error: 'the signing secret is not valid' });
    expect(receiver.log.length).toBe(before);
  });
});

describe('the SSRF guard (WEBHOOK_ALLOW_PRIVATE unset)', () => {
  it('refuses http at all', async () => {
    const connections = receiver.connections;
    const result = await provider().send({ address: receiver.at(), secret }, message());
    expect(result).toEqual({ kind: 'fail', error: 'http: URL refused: webhooks use https' });
    expect(receiver.connections).toBe(connections);
  });

  it.each([
    ['https://127.0.0.1:PORT/hook', 'refused to connect to 127.0.0.1 (loopback address)'],
    ['https://[::ffff:127.0.0.1]:PORT/hook', 'refused to connect to ::ffff:7f00:1 (loopback address)'],
    ['https://[::1]:PORT/hook', 'refused to connect to ::1 (loopback address)'],
    ['https://0.0.0.0:PORT/hook', 'refused to connect to 0.0.0.0 (unspecified address)'],
  ])('refuses the literal %s in the connect step, before any connection', async (address, error) => {
    const connections = receiver.connections;
    const result = await provider().send({ address: address.replace('PORT', String(receiver.port)), secret }, message());
    expect(result).toEqual({ kind: 'fail', error });
    expect(receiver.connections).toBe(connections);
  });

  it('refuses https://localhost:PORT/ at connect time: the name resolves to loopback', async () => {
    const connections = receiver.connections;
    const result = await provider().send({ address: `https://localhost:${receiver.port}/hook`, secret }, message());
    expect(result.kind).toBe('fail');
    expect(result.kind === 'fail' && result.error).toMatch(/^refused to connect to (127\.0\.0\.1|::1) \(loopback address\)$/);
    expect(receiver.connections).toBe(connections);
  });

  it('checks the address the resolver gives at connect time (a name rebound to 127.0.0.1 is refused)', async () => {
    const calls: string[] = [];
    const connections = receiver.connections;
    const guarded = provider({ lookup: lookupTo('127.0.0.1', calls) });
    const result = await guarded.send({ address: `https://hooks.example.test:${receiver.port}/hook`, secret }, message());
    expect(result).toEqual({ kind: 'fail', error: 'refused to connect to 127.0.0.1 (loopback address)' });
    expect(calls).toEqual(['hooks.example.test']);
    expect(receiver.connections).toBe(connections);

    // the same resolver without the guard really connects: the answer checked is the one used
    const before = receiver.accepted.length;
    const open = provider({ allowPrivate: true, lookup: lookupTo('127.0.0.1') });
    expect(await open.send({ address: `http://hooks.example.test:${receiver.port}/hook`, secret }, message())).toEqual({ kind: 'ok' });
    expect(receiver.accepted.length).toBe(before + 1);
  });

  it('refuses an answer that mixes a public address with a loopback one', async () => {
    const mixed: LookupFunction = (_hostname, options, callback) => {
      const all: LookupAddress[] = [
        { address: '93.184.216.34', family: 4 },
        { address: '::1', family: 6 },
      ];
      if (options.all) callback(null, all);
      else callback(null, '::1', 6);
    };
    const connections = receiver.connections;
    const result = await provider({ lookup: mixed }).send({ address: `https://hooks.example.test:${receiver.port}/`, secret }, message());
    expect(result).toEqual({ kind: 'fail', error: 'refused to connect to ::1 (loopback address)' });
    expect(receiver.connections).toBe(connections);
  });

  it('scrubs the path and query of the URL from the error', async () => {
    const failing: LookupFunction = (hostname, _options, callback) => {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} for https://${hostname}/in/s3cret-path?token=abcdef`), { code: 'ENOTFOUND' });
      callback(err, '', 4);
    };
    const result = await provider({ lookup: failing }).send({ address: 'https://hooks.example.test/in/s3cret-path?token=abcdef', secret }, message());
    expect(result.kind).toBe('retry');
    const error = result.kind === 'retry' ? result.error : '';
    expect(error).toContain('hooks.example.test');
    expect(error).not.toContain('s3cret-path');
    expect(error).not.toContain('abcdef');
  });
});
