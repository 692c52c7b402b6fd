/**
 * The plain POST answered without yoga's HTTP layer (src/server/http-fast-path.ts) answers as
 * yoga does, and a result with errors, handed to yoga to answer, is not executed twice.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS, SERVICE, useTestApp } from './helpers/app.js';

async function post(url: string, token: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), cors: res.headers.get('access-control-allow-origin'), body: (await res.json()) as { data?: any; errors?: any[] } };
}

const send = (alias: string, user: string, title: string) =>
  `${alias}: sendNotification(input: { userIds: ["${user}"], type: "t", title: "${title}", body: "" }) { notifications { id } }`;

describe.each(BACKENDS)('plain POSTs (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real' });

  it('answer with the status, content type and body yoga gives, whatever the Accept header', async () => {
    const url = (await t().listen()).http;
    const token = await t().token('reader');
    const query = '{ me { id unreadCount } }';
    const expected = { data: { me: { id: 'reader', unreadCount: 0 } } };
    for (const [accept, type] of [
      [undefined, 'application/json; charset=utf-8'],
      ['*/*', 'application/json; charset=utf-8'],
      ['application/json', 'application/json; charset=utf-8'],
      ['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
      ['application/graphql-response+json, application/json;q=0.9', 'application/graphql-response+json; charset=utf-8'],
    ] as const) {
      const r = await post(url, token, { query }, accept ? { accept } : {});
      expect({ status: r.status, type: r.type, body: r.body }, String(accept)).toEqual({ status: 200, type, body: expected });
    }
    // A browser's request (Origin) still gets yoga's CORS headers.
    const cors = await post(url, token, { query }, { origin: 'http://app.example' });
    expect({ status: cors.status, cors: cors.cors, body: cors.body }).toEqual({ status: 200, cors: 'http://app.example', body: expected });
  });

  it('a mutation with an error in its result runs once: the stored part stays single, the error has its code', async () => {
    const url = (await t().listen()).http;
    const svc = await t().token(SERVICE.sub, SERVICE.roles);
    const r = await post(url, svc, { query: `mutation { ${send('ok', 'once', 'fine')} ${send('bad', 'once', 'x'.repeat(201))} }` });
    expect(r.status).toBe(200);
    expect(r.body.data).toBeNull(); // non-null field failed: the whole data is null, as yoga answers
    expect(r.body.errors?.map((e) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    const me = await post(url, await t().token('once'), { query: '{ me { unreadCount } }' });
    expect(me.body).toEqual({ data: { me: { unreadCount: 1 } } });
  });

  it('bad requests are answered by yoga: parse and validation errors, unknown parameters, bad variables', async () => {
    const url = (await t().listen()).http;
    const token = await t().token('reader');
    expect((await post(url, token, { query: '{ me { id' })).body.errors?.[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    // twice: only documents that passed are remembered as checked
    for (let i = 0; i < 2; i++) expect((await post(url, token, { query: '{ nope }' })).body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await post(url, token, { query: '{ me { id } }', extra: 1 })).status).toBe(400);
    expect((await post(url, token, { query: '{ me { id } }', variables: [1] })).status).toBe(400);
    expect((await post(url, 'not-a-token', { query: '{ me { id } }' })).body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
