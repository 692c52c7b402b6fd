/**
 * Persisted operations: clients send an id from a manifest instead of the document.
 *
 * Ids come from the server's own codegen manifest (src/client/gql/persisted-documents.json,
 * keys `sha256:<hex>`) and from Apollo-format manifests (PERSISTED_OPERATIONS_MANIFESTS, what
 * Apollo Kotlin and Apollo iOS builds produce). Clients can't register new ones. Both wire
 * formats are read: GraphQL-over-HTTP's `documentId` and Apollo's
 * `extensions.persistedQuery.sha256Hash`; `sha256:<hex>` and `<hex>` name the same operation.
 *
 * HTTP and SSE go through yoga's plugin ({@link persistedOperationsPlugin}); graphql-ws
 * subscriptions bypass yoga's params hooks, so websocket.ts asks {@link resolveOperation}.
 */
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import codegenManifest from '../client/gql/persisted-documents.json' with { type: 'json' };
import type { PersistedOperationsMode } from '../config.js';
import type { PersistedManifest } from './persisted-manifest.js';

export type { PersistedOperationsMode };

/** The operations a server accepts by id, and whether it still accepts documents. */
export interface PersistedOperations {
  readonly mode: PersistedOperationsMode;
  /** how many distinct ids are known */
  readonly size: number;
  /** The document for an id (`sha256:<hex>` or `<hex>`), or undefined. */
  get(id: string): string | undefined;
}

/** A document was sent as text where only ids are accepted. */
export const PERSISTED_QUERY_ONLY = 'PERSISTED_QUERY_ONLY';
/** An id that is in no manifest. The message is Apollo's, which its clients recognise. */
export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';

const normalise = (id: string) => (id.startsWith('sha256:') ? id.slice(7) : id);

/**
 * The server's own manifest plus `extra` ones.
 * @throws Error when two manifests give one id different documents.
 */
export function createPersistedOperations(mode: PersistedOperationsMode, extra: readonly PersistedManifest[] = []): PersistedOperations {
  const byId = new Map<string, string>();
  const add = (id: string, body: string, from: string) => {
    const key = normalise(id);
    const had = byId.get(key);
    if (had !== undefined && had !== body) throw new Error(`persisted operation ${JSON.stringify(id)} in ${from} has a different document than the one loaded before`);
    byId.set(key, body);
  };
  for (const [id, body] of Object.entries(codegenManifest as Record<string, string>)) add(id, body, 'the server manifest');
  for (const m of extra) for (const op of m.operations) add(op.id, op.body, JSON.stringify(m.path));
  return { mode, size: byId.size, get: (id) => byId.get(normalise(id)) };
}

/** The id a request names: `documentId`, else Apollo's `extensions.persistedQuery.sha256Hash`. */
export function operationIdOf(params: { documentId?: unknown; extensions?: unknown }): string | null {
  if (typeof params.documentId === 'string' && params.documentId !== '') return params.documentId;
  const pq = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | null | undefined)?.persistedQuery;
  return typeof pq?.sha256Hash === 'string' && pq.sha256Hash !== '' ? pq.sha256Hash : null;
}

const errors = {
  only: () =>
    new GraphQLError('This server accepts persisted operations only: send the operation id (documentId or extensions.persistedQuery.sha256Hash) instead of the document', {
      extensions: { code: PERSISTED_QUERY_ONLY, http: { status: 400 } },
    }),
  notFound: () => new GraphQLError('PersistedQueryNotFound', { extensions: { code: PERSISTED_QUERY_NOT_FOUND } }),
  missing: () =>
    new GraphQLError('Send a persisted operation id (documentId or extensions.persistedQuery.sha256Hash) or a document (query)', {
      extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
    }),
};

/** yoga's plugin over our store; null when the mode is `off` (yoga then reads documents only). */
export function persistedOperationsPlugin(store: PersistedOperations): Plugin | null {
  if (store.mode === 'off') return null;
  return usePersistedOperations({
    allowArbitraryOperations: store.mode === 'allow',
    // GraphQL-over-HTTP GET carries documentId in the query string, which yoga's parser doesn't read.
    extractPersistedOperationId: (params, request) => operationIdOf(params as { documentId?: unknown }) ?? (request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null),
    getPersistedOperation: (id) => store.get(id) ?? null,
    customErrors: { persistedQueryOnly: errors.only, notFound: errors.notFound, keyNotFound: errors.missing },
  }) as Plugin;
}

/**
 * The document of a graphql-ws subscribe payload: its `query`, or the one its id names
 * (websocket.ts fills an empty `query` for clients that leave it out).
 * @returns the document text, or the error to answer with.
 */
export function resolveOperation(store: PersistedOperations, params: { query: string; documentId?: unknown; extensions?: unknown }): string | GraphQLError {
  if (store.mode === 'off') return params.query;
  if (params.query !== '') return store.mode === 'allow' ? params.query : errors.only();
  const id = operationIdOf(params);
  if (id === null) return errors.missing();
  return store.get(id) ?? errors.notFound();
}
