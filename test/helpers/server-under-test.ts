/**
 * The server as a real process (from sources) on a Redis of the test's choosing, with a
 * GraphQL client: what the Redis outage and failover tests drive.
 */
import { createAuth } from '../../src/server/auth.js';
import { useServerChildren } from './server-child.js';
import { freePort } from './redis-server.js';

export const SECRET = 'outage-test-secret-outage-test-secret-00';
export const auth = createAuth(SECRET);

export type Principal = { sub: string; roles: ('user' | 'service' | 'admin')[] };
export const SERVICE: Principal = { sub: 'svc', roles: ['service'] };
export const user = (sub: string): Principal => ({ sub, roles: ['user'] });

export const SEND = 'mutation($i: SendNotificationInput!) { sendNotification(input: $i) { notifications { id title } scheduledId } }';
export const LIST = 'query($after: String) { notifications(first: 100, after: $after) { totalCount edges { node { id title } } pageInfo { hasNextPage endCursor } } }';

export async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type ServerUnderTest = Awaited<ReturnType<ReturnType<typeof useServerUnderTest>>>;

/**
 * Call at file level: starts the server on `redis` (REDIS_URL or REDIS_CLUSTER_NODES) with
 * `env` on top of the test defaults, once /readyz answers 200; killed after each test.
 */
export function useServerUnderTest() {
  const spawnServer = useServerChildren();
  return async (redis: { REDIS_URL: string } | { REDIS_CLUSTER_NODES: string }, env: Record<string, string> = {}) => {
    const port = await freePort();
    const spawnIt = () =>
      spawnServer({
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        ...redis,
        JWT_SECRET: SECRET,
        LOG_LEVEL: 'warn',
        REDIS_COMMAND_TIMEOUT_MS: '1000',
        INBOX_CAP: '1000',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        DELIVERY_RETRY_BASE_MS: '50',
        DELIVERY_RETRY_MAX_MS: '300',
        ...env,
      });
    let proc = spawnIt();
    const base = `http://127.0.0.1:${port}`;
    const s = {
      http: `${base}/graphql`,
      ws: `ws://127.0.0.1:${port}/graphql`,
      output: () => proc.output(),
      async readyz() {
        return (await fetch(`${base}/readyz`).catch(() => null))?.status ?? 0;
      },
      /** a GraphQL POST: the HTTP status, its Retry-After header and the body */
      async post(query: string, variables: Record<string, unknown>, as: Principal) {
        const token = await auth.sign({ sub: as.sub, roles: as.roles, expiresIn: '1h' });
        const res = await fetch(s.http, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } };
      },
      async gql(query: string, variables: Record<string, unknown>, as: Principal = SERVICE) {
        const { body } = await s.post(query, variables, as);
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return body.data;
      },
      async killAndRestart() {
        proc.child.kill('SIGKILL');
        await proc.exited;
        proc = spawnIt();
        await until(async () => (await s.readyz()) === 200, 'server ready again');
      },
    };
    await until(async () => (await s.readyz()) === 200, 'server ready');
    return s;
  };
}

/** Every notification of `userId`'s inbox, newest first, all pages. */
export async function inbox(s: ServerUnderTest, userId: string): Promise<{ id: string; title: string }[]> {
  const out: { id: string; title: string }[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = (await s.gql(LIST, { after }, user(userId))).notifications;
    out.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

export const send = (s: ServerUnderTest, userId: string, title: string, extra: Record<string, unknown> = {}) =>
  s.gql(SEND, { i: { userIds: [userId], type: 'task_assigned', title, body: '', ...extra } }).then((d) => d.sendNotification);
