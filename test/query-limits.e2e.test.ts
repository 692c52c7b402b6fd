/**
 * Query limits (graphql-armor, src/server/yoga.ts): documents too deep, with too many aliases
 * or too costly are refused with BAD_USER_INPUT, too long ones with GRAPHQL_PARSE_FAILED,
 * before anything runs, over HTTP and WebSocket alike; what clients need stays inside them.
 */
import { describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../src/server/yoga.js';
import { ADMIN, SERVICE, asUser, useTestApp } from './helpers/app.js';
import { wsClient } from './helpers/ws.js';

/** `{ __type(name: "User") { ofType { ofType { … name } } } }`: n levels deep */
const deep = (n: number) => `{ __type(name: "User") { ${'ofType { '.repeat(n - 2)}name${' }'.repeat(n - 2)} } }`;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
const PAGE = 'notifications(first: 100) { edges { node { id type title body data priority read readAt createdAt expiresAt broadcastId recipient { id displayName active createdAt unreadCount preferences { mutedTypes } } } } }';

describe('query limits', () => {
  const t = useTestApp('memory');

  async function post(query: string, as: { sub: string; roles?: ('user' | 'service' | 'admin')[] } = asUser('u1')) {
    const token = await t().token(as.sub, as.roles);
    const res = await t().app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
  }

  it('refuses a document deeper than the limit, naming it; the limit itself passes', async () => {
    const ok = await post(deep(QUERY_LIMITS.depth));
    expect(ok.errors).toBeUndefined();
    const r = await post(deep(QUERY_LIMITS.depth + 1));
    expect(r.errors).toEqual([{ message: `Query depth limit of ${QUERY_LIMITS.depth} exceeded, found ${QUERY_LIMITS.depth + 1}.`, extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(r.data).toBeUndefined();
  });

  it('refuses too many aliases', async () => {
    expect((await post(aliases(QUERY_LIMITS.aliases))).errors).toBeUndefined();
    const r = await post(aliases(QUERY_LIMITS.aliases + 1));
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(r.errors?.[0]?.message).toMatch(/^Aliases limit of 100 exceeded/);
  });

  it('refuses a costly document (a full page, many times over) before running it', async () => {
    expect((await post(`{ ${PAGE} }`)).errors).toBeUndefined();
    const r = await post(`{ ${Array.from({ length: 20 }, (_, i) => `p${i}: ${PAGE}`).join(' ')} }`);
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(r.errors?.[0]?.message).toMatch(/^Query Cost limit of 25000 exceeded/);
  });

  it('refuses a document of more tokens than the limit, as a parse error', async () => {
    const r = await post(`{ ${'__typename '.repeat(QUERY_LIMITS.tokens)} }`);
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(r.errors?.[0]?.message).toMatch(/Token limit of 5000 exceeded/);
  });

  it('applies over WebSocket too: the operation gets an error, the socket stays open', async () => {
    const { ws } = await t().listen();
    const { client } = wsClient(ws, await t().token('u1'));
    const run = (query: string) =>
      new Promise<unknown>((resolve) => {
        client.subscribe({ query }, { next: resolve, error: resolve, complete: () => {} });
      });
    expect(await run(deep(QUERY_LIMITS.depth + 1))).toEqual([
      { message: `Query depth limit of ${QUERY_LIMITS.depth} exceeded, found ${QUERY_LIMITS.depth + 1}.`, extensions: { code: 'BAD_USER_INPUT' } },
    ]);
    expect(await run('{ me { id } }')).toEqual({ data: { me: { id: 'u1' } } });
  });

  it('leaves room for the service and admin operations with large inputs', async () => {
    const r = await post(`mutation { sendNotification(input: { userIds: [${Array.from({ length: 1000 }, (_, i) => `"u${i}"`).join(',')}], type: "task_assigned", title: "t", body: "b" }) { notifications { id } } }`, SERVICE);
    expect(r.errors).toBeUndefined();
    expect((await post('{ dashboard { generatedAt notifications { sentToday byType { type count } } } }', ADMIN)).errors).toBeUndefined();
  });
});
