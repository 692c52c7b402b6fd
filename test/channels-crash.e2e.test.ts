/**
 * The outbox survives its process: a server SIGKILLed with webhook deliveries in flight, then
 * started again, delivers every one, each webhook-id accepted once by a receiver that drops
 * duplicates. The server runs as a real process (from sources) on the test Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuth } from '../src/server/auth.js';
import { startWebhookReceiver } from './helpers/fake-providers.js';
import { deleteByPrefix, redisUrl, uniquePrefix, withRedis } from './helpers/redis.js';
import { freePort } from './helpers/redis-server.js';
import { useServerChildren } from './helpers/server-child.js';

const SECRET = 'crash-test-secret-crash-test-secret-0000';
const redis = withRedis();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f();
});

const spawnServer = useServerChildren();
const startServer = (env: Record<string, string>) => spawnServer({ ...process.env, ...env });

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the outbox across a crash', () => {
  it('delivers everything once after a SIGKILL mid-delivery and a restart', { timeout: 90_000 }, async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteByPrefix(redis, prefix));
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const port = await freePort();
    const env = {
      PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, JWT_SECRET: SECRET,
      SCHEDULER_ENABLED: 'false', WEBHOOK_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn',
      DELIVERY_RECLAIM_IDLE_MS: '1500', DELIVERY_RETRY_BASE_MS: '50', DELIVERY_RETRY_MAX_MS: '200', DELIVERY_TIMEOUT_MS: '60000',
    };
    const auth = createAuth(SECRET);
    const service = `Bearer ${await auth.sign({ sub: 'svc', roles: ['service'] })}`;
    const gql = async (query: string, variables: Record<string, unknown>, authorization = service) => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const healthy = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200;

    let server = startServer(env);
    await until(healthy, 'first start');
    const set = await gql('mutation($u: ID!, $a: String!) { setChannelAddress(userId: $u, input: { channel: WEBHOOK, address: $a }) { webhookSecret } }', { u: 'kim', a: receiver.at('/kim') });
    receiver.addSecret(set.setChannelAddress.webhookSecret);
    const kim = `Bearer ${await auth.sign({ sub: 'kim', roles: ['user'] })}`;
    await gql('mutation { updatePreferences(input: { channels: [{ type: "*", channels: [WEBHOOK] }] }) { mutedTypes } }', {}, kim);

    // The first deliveries hang at the receiver: they are in flight when the process dies.
    receiver.failNext(4, { status: 200, hang: true });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await gql('mutation($i: SendNotificationInput!) { sendNotification(input: $i) { notifications { id } } }', {
        i: { userIds: ['kim'], type: 'task_assigned', title: `n${i}`, body: '', channels: ['WEBHOOK'] },
      });
      ids.push(r.sendNotification.notifications[0].id);
    }
    await until(() => receiver.requests.length >= 4, 'deliveries in flight');
    server.child.kill('SIGKILL');
    await server.exited;

    server = startServer(env);
    await until(healthy, 'restart');
    await receiver.waitForAccepted(20, 30_000);
    expect(receiver.accepted.map((a) => a.id).sort()).toEqual(ids.map((id) => `${id}-w`).sort());
    const log = await gql('query { deliveryLog(first: 50) { totalCount edges { node { status } } } }', {}, `Bearer ${await auth.sign({ sub: 'root', roles: ['admin'] })}`);
    expect(log.deliveryLog.totalCount).toBe(20);
    await until(async () => {
      const l = await gql('query { deliveryLog(first: 50, filter: { status: [DELIVERED] }) { totalCount } }', {}, `Bearer ${await auth.sign({ sub: 'root', roles: ['admin'] })}`);
      return l.deliveryLog.totalCount === 20;
    }, 'all DELIVERED');
    void server;
  });
});
