/**
 * Persisted operations over HTTP, SSE and WebSocket: ids from the codegen manifest and from an
 * Apollo-format manifest read from disk (as PERSISTED_OPERATIONS_MANIFESTS does), in both wire
 * formats (documentId, extensions.persistedQuery.sha256Hash).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MeQuery, SendNotificationMutation, UnreadCountChangedSubscription, UpsertUserMutation } from '../src/client/operations.js';
import { loadConfig } from '../src/config.js';
import { createPersistedOperations, PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_ONLY } from '../src/server/persisted-operations.js';
import { useTestApp, type TestApp } from './helpers/app.js';
import { wsClient } from './helpers/ws.js';

const idOf = (doc: TypedDocumentNode<any, any>) => (doc as { __meta__?: { hash: string } }).__meta__!.hash;
const hex = (doc: TypedDocumentNode<any, any>) => idOf(doc).replace(/^sha256:/, '');
const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

// What an Apollo Kotlin / iOS build writes: its own documents (with __typename), its own ids.
const APOLLO_ME = 'query Me { me { __typename id unreadCount } }';
// (No __typename at a subscription's root, where only one field may be; the id differs by layout.)
const APOLLO_COUNT = 'subscription UnreadCountChanged {\n  unreadCountChanged\n}';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const manifestPath = join(mkdtempSync(join(tmpdir(), 'apollo-manifest-')), 'persisted-query-manifest.json');
writeFileSync(
  manifestPath,
  JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: [
      { id: sha(APOLLO_ME), body: APOLLO_ME, name: 'Me', type: 'query' },
      { id: sha(APOLLO_COUNT), body: APOLLO_COUNT, name: 'UnreadCountChanged', type: 'subscription' },
    ],
  }),
);
const store = (mode: string) => {
  const c = loadConfig({ PERSISTED_OPERATIONS: mode, PERSISTED_OPERATIONS_MANIFESTS: manifestPath });
  return createPersistedOperations(c.persistedOperations, c.persistedOperationsManifests);
};

type Result = ExecutionResult<any> & { errors?: { message: string; extensions?: { code?: string } }[] };

/** A raw GraphQL request: whatever body the client sends, with a user token for `sub`. */
async function post(t: TestApp, body: Record<string, unknown>, sub = 'pia', roles?: ('user' | 'service')[]) {
  const res = await t.app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token(sub, roles)}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Result };
}

const codeOf = (r: { body: Result } | Result) => ('body' in r ? r.body : r).errors?.map((e) => e.extensions?.code);

/** POST with Accept: text/event-stream; resolves with the first `next` payload. */
async function sseFirst(url: string, token: string, body: Record<string, unknown>): Promise<{ status: number; first: Result }> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      const data = /^event: next\ndata: (.*)$/m.exec(buf)?.[1];
      if (data && buf.includes('\n\n', buf.indexOf(data))) return { status: res.status, first: JSON.parse(data) as Result };
    }
    throw new Error(`SSE ended without a next event: ${buf}`);
  } finally {
    controller.abort();
  }
}

/** A bare graphql-transport-ws exchange: the subscribe payload exactly as given (Apollo Kotlin leaves `query` out). */
async function rawWsFirst(url: string, token: string, payload: Record<string, unknown>): Promise<{ type: string; payload: unknown }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  try {
    const messages: { type: string; payload: unknown }[] = [];
    const next = () =>
      new Promise<{ type: string; payload: unknown }>((resolve, reject) => {
        const m = messages.shift();
        if (m) return resolve(m);
        const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
        socket.once('message', () => (clearTimeout(timer), resolve(messages.shift()!)));
        socket.once('close', (code, reason) => (clearTimeout(timer), reject(new Error(`closed ${code} ${reason}`))));
      });
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    expect((await next()).type).toBe('connection_ack');
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
    return await next();
  } finally {
    socket.close();
  }
}

describe('PERSISTED_OPERATIONS=only', () => {
  const t = useTestApp('memory', { persisted: store('only') });

  it('HTTP: runs the codegen manifest by documentId, with or without the sha256: prefix, and by Apollo hash', async () => {
    for (const body of [{ documentId: idOf(MeQuery) }, { documentId: hex(MeQuery) }, { extensions: apq(hex(MeQuery)) }, { extensions: apq(idOf(MeQuery)) }]) {
      const r = await post(t(), body);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.me).toMatchObject({ id: 'pia', unreadCount: 0, preferences: { mutedTypes: [] } });
    }
  });

  it('HTTP: passes variables and operationName through, mutations included', async () => {
    const r = await post(t(), { documentId: idOf(UpsertUserMutation), operationName: 'UpsertUser', variables: { id: 'quinn', displayName: 'Q' } }, 'svc', ['service']);
    expect(r.body).toEqual({ data: { upsertUser: { id: 'quinn', displayName: 'Q', active: true } } });
    const sent = await post(t(), { documentId: idOf(SendNotificationMutation), variables: { input: { userIds: ['quinn'], type: 'x', title: 'hi', body: '' } } }, 'svc', ['service']);
    expect(sent.body.data.sendNotification.notifications).toHaveLength(1);
  });

  it('HTTP: runs an Apollo-format manifest loaded from disk, over POST and over GET (Apollo Kotlin/iOS send hashed queries as GET)', async () => {
    const r = await post(t(), { operationName: 'Me', extensions: apq(sha(APOLLO_ME)) });
    expect(r.body).toEqual({ data: { me: { __typename: 'User', id: 'pia', unreadCount: 0 } } });
    const qs = new URLSearchParams({ operationName: 'Me', extensions: JSON.stringify(apq(sha(APOLLO_ME))) });
    const get = await t().app.yoga.fetch(`http://test/graphql?${qs}`, { headers: { authorization: `Bearer ${await t().token('pia')}` } });
    expect(await get.json()).toEqual({ data: { me: { __typename: 'User', id: 'pia', unreadCount: 0 } } });
    const byDocumentId = await t().app.yoga.fetch(`http://test/graphql?documentId=${idOf(MeQuery)}`, { headers: { authorization: `Bearer ${await t().token('pia')}` } });
    expect(((await byDocumentId.json()) as Result).data.me).toMatchObject({ id: 'pia' });
  });

  it('HTTP: refuses an unknown id with PERSISTED_QUERY_NOT_FOUND (a client cannot register one)', async () => {
    for (const body of [{ documentId: 'sha256:' + '0'.repeat(64) }, { extensions: apq('f'.repeat(64)) }, { query: print(MeQuery), extensions: apq('e'.repeat(64)) }]) {
      const r = await post(t(), body);
      expect(r.body.data).toBeUndefined();
      expect(codeOf(r)).toEqual([body.query ? PERSISTED_QUERY_ONLY : PERSISTED_QUERY_NOT_FOUND]);
    }
    expect((await post(t(), { documentId: 'nope' })).body.errors).toEqual([{ message: 'PersistedQueryNotFound', extensions: { code: PERSISTED_QUERY_NOT_FOUND } }]);
  });

  it('HTTP: refuses a document sent as text, even one from the manifest, with PERSISTED_QUERY_ONLY (400)', async () => {
    for (const body of [{ query: print(MeQuery) }, { query: '{ __typename }' }, { query: print(MeQuery), documentId: idOf(MeQuery) }]) {
      const r = await post(t(), body);
      expect(r.status).toBe(400);
      expect(r.body.data).toBeUndefined();
      expect(codeOf(r)).toEqual([PERSISTED_QUERY_ONLY]);
      expect(r.body.errors![0]!.message).toMatch(/persisted operations only: send the operation id \(documentId or extensions\.persistedQuery\.sha256Hash\)/);
    }
    expect(codeOf(await post(t(), {}))).toEqual(['BAD_REQUEST']);
  });

  it('SSE: subscribes by id; text is refused', async () => {
    const { http } = await t().listen();
    const token = await t().token('pia');
    expect(await sseFirst(http, token, { documentId: idOf(UnreadCountChangedSubscription) })).toEqual({ status: 200, first: { data: { unreadCountChanged: 0 } } });
    expect((await sseFirst(http, token, { extensions: apq(sha(APOLLO_COUNT)) })).first).toEqual({ data: { unreadCountChanged: 0 } });
    const refused = await sseFirst(http, token, { query: print(UnreadCountChangedSubscription) });
    expect(codeOf(refused.first)).toEqual([PERSISTED_QUERY_ONLY]);
  });

  it('WebSocket (graphql-ws client): subscribes by documentId or Apollo hash; text and unknown ids get an error', async () => {
    const { ws } = await t().listen();
    const { client } = wsClient(ws, await t().token('pia'));
    const first = (payload: Record<string, unknown>) =>
      new Promise<Result>((resolve, reject) => {
        const stop = client.subscribe({ query: '', ...payload } as { query: string }, {
          next: (r) => (stop(), resolve(r as Result)),
          error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(e)),
          complete: () => {},
        });
      });
    expect(await first({ documentId: idOf(UnreadCountChangedSubscription) })).toEqual({ data: { unreadCountChanged: 0 } });
    expect(await first({ documentId: hex(UnreadCountChangedSubscription) })).toEqual({ data: { unreadCountChanged: 0 } });
    expect(await first({ extensions: apq(sha(APOLLO_COUNT)) })).toEqual({ data: { unreadCountChanged: 0 } });
    expect(codeOf(await first({ query: print(UnreadCountChangedSubscription) }))).toEqual([PERSISTED_QUERY_ONLY]);
    expect(codeOf(await first({ documentId: 'sha256:' + '1'.repeat(64) }))).toEqual([PERSISTED_QUERY_NOT_FOUND]);
    expect(codeOf(await first({}))).toEqual(['BAD_REQUEST']);
    // Queries and mutations over the socket go the same way.
    expect(await first({ documentId: idOf(MeQuery) })).toMatchObject({ data: { me: { id: 'pia' } } });
  });

  it('WebSocket: a subscribe message without `query` (as Apollo Kotlin and iOS send an id) is accepted', async () => {
    const { ws } = await t().listen();
    const r = await rawWsFirst(ws, await t().token('pia'), { operationName: 'UnreadCountChanged', extensions: apq(sha(APOLLO_COUNT)) });
    expect(r).toEqual({ id: '1', type: 'next', payload: { data: { unreadCountChanged: 0 } } });
  });
});

describe('PERSISTED_OPERATIONS=allow', () => {
  const t = useTestApp('memory', { persisted: store('allow') });

  it('accepts documents and manifest ids; an unknown id stays unknown after its document was sent', async () => {
    expect((await post(t(), { query: '{ me { id } }' })).body).toEqual({ data: { me: { id: 'pia' } } });
    expect((await post(t(), { documentId: idOf(MeQuery) })).body.data.me).toMatchObject({ id: 'pia' });
    const made = 'a'.repeat(64);
    expect((await post(t(), { query: '{ me { id } }', extensions: apq(made) })).body).toEqual({ data: { me: { id: 'pia' } } });
    expect(codeOf(await post(t(), { extensions: apq(made) }))).toEqual([PERSISTED_QUERY_NOT_FOUND]);
  });

  it('accepts documents over SSE, as GraphiQL sends them', async () => {
    const { http } = await t().listen();
    const token = await t().token('pia');
    expect((await sseFirst(http, token, { query: 'subscription { unreadCountChanged }', extensions: {} })).first).toEqual({ data: { unreadCountChanged: 0 } });
    expect((await sseFirst(http, token, { documentId: idOf(UnreadCountChangedSubscription) })).first).toEqual({ data: { unreadCountChanged: 0 } });
  });

  it('accepts documents and ids over WebSocket too', async () => {
    const { ws } = await t().listen();
    const token = await t().token('pia');
    expect(await rawWsFirst(ws, token, { query: 'subscription { unreadCountChanged }' })).toMatchObject({ type: 'next', payload: { data: { unreadCountChanged: 0 } } });
    expect(await rawWsFirst(ws, token, { documentId: idOf(UnreadCountChangedSubscription) })).toMatchObject({ type: 'next', payload: { data: { unreadCountChanged: 0 } } });
    expect(await rawWsFirst(ws, token, { documentId: 'nope' })).toMatchObject({ type: 'error', payload: [{ message: 'PersistedQueryNotFound', extensions: { code: PERSISTED_QUERY_NOT_FOUND } }] });
  });
});

describe('PERSISTED_OPERATIONS=off (the default)', () => {
  const t = useTestApp('memory', { persisted: store('off') });

  it('reads documents only, as before', async () => {
    expect((await post(t(), { query: '{ me { id } }' })).body).toEqual({ data: { me: { id: 'pia' } } });
    expect(codeOf(await post(t(), { extensions: apq(hex(MeQuery)) }))).toEqual(['BAD_REQUEST']);
  });
});
