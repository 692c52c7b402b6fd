/**
 * GraphQL from the pages: the kit's typed documents, sent as their text (from the persisted
 * manifest the kit ships) over HTTP to this origin's /graphql, or over graphql-ws.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import { persistedDocuments } from '../../client/src/index';

export const httpEndpoint = () => `${location.origin}/graphql`;
export const wsEndpoint = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/** A server answer that was an error: its message and extensions.code. */
export class ServerError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** Set once a server answered PERSISTED_QUERY_ONLY (PERSISTED_OPERATIONS=only): send ids from then on. */
let idsOnly = false;
export const PERSISTED_QUERY_ONLY = 'PERSISTED_QUERY_ONLY';

/** The request for a typed document: its text, or its persisted id where the server takes only ids. */
export function payloadOf(doc: object, variables: unknown = {}): { query: string; variables: Record<string, unknown>; extensions?: Record<string, unknown> } {
  const hash = (doc as { __meta__?: { hash: string } }).__meta__?.hash;
  const text = hash ? (persistedDocuments as Record<string, string>)[hash] : undefined;
  if (!hash || text === undefined) throw new Error('document not in the manifest');
  const vars = variables as Record<string, unknown>;
  return idsOnly ? { query: '', variables: vars, extensions: { persistedQuery: { version: 1, sha256Hash: hash.replace(/^sha256:/, '') } } } : { query: text, variables: vars };
}

/** True (and ids from now on) when `code` says the server takes ids only and we sent text. */
export function switchToIds(code: string | null | undefined): boolean {
  if (idsOnly || code !== PERSISTED_QUERY_ONLY) return false;
  idsOnly = true;
  return true;
}

interface Answer<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function gql<R, V>(token: string, doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  try {
    return await post(token, doc, variables);
  } catch (err) {
    if (err instanceof ServerError && switchToIds(err.code)) return post(token, doc, variables);
    throw err;
  }
}

async function post<R, V>(token: string, doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  let res: Response;
  try {
    res = await fetch(httpEndpoint(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(payloadOf(doc, variables)),
    });
  } catch (err) {
    throw new ServerError(`server not reachable: ${(err as Error).message}`, null);
  }
  let body: Answer<R>;
  try {
    body = (await res.json()) as Answer<R>;
  } catch {
    throw new ServerError(`HTTP ${res.status} ${res.statusText}`, null);
  }
  const e = body.errors?.[0];
  if (e) throw new ServerError(e.message, e.extensions?.code ?? null);
  if (!body.data) throw new ServerError(`HTTP ${res.status}: no data`, null);
  return body.data;
}

/** A graphql-ws client that retries for as long as the page is open. */
export function wsClient(token: string, on: { connected?: () => void; closed?: (e: unknown) => void } = {}): Client {
  return createClient({
    url: wsEndpoint(),
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity,
    shouldRetry: () => true,
    keepAlive: 10_000,
    on: { connected: on.connected, closed: on.closed },
  });
}

export const message = (err: unknown): string => {
  if (err instanceof ServerError) return err.code ? `${err.message} (${err.code})` : err.message;
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return err.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  const ev = err as { code?: number; reason?: string } | null;
  if (ev && typeof ev.code === 'number') return `connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`;
  return String(err);
};
