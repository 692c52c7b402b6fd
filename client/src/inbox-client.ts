/**
 * An inbox screen's state, kept live: the `inbox` subscription over graphql-ws, page 1 over
 * HTTP when the stream says the list must be reloaded, mark-read over HTTP.
 *
 * - The list holds each notification once, newest first (ids sort in creation order).
 * - The unread count is the one the last stream event carried: exact, never computed here.
 * - A lost connection is retried with backoff; the new stream resumes with `after` = the newest
 *   id held, so what arrived meanwhile is replayed once. A replay marker with
 *   `replayComplete: false` (some notifications are gone, or the cursor is unknown) reloads
 *   page 1.
 * - `setToken` replaces the token and reconnects at once with it (the server ends a stream
 *   whose token expired; the app hands a fresh one here).
 */
import { createClient, type Client } from 'graphql-ws';
import manifest from './gql/persisted-documents.json' with { type: 'json' };
import {
  InboxDocument,
  MarkAllReadDocument,
  MarkReadDocument,
  NotificationsDocument,
  type InboxSubscription,
  type MarkAllReadMutation,
  type MarkReadMutation,
  type NotificationFieldsFragment,
  type NotificationsQuery,
} from './gql/graphql.js';

export type InboxNotification = NotificationFieldsFragment;

/** `connecting`: first connection or a retry under way; `live`: the stream is attached. */
export type InboxConnection = 'connecting' | 'live' | 'offline' | 'closed';

export interface InboxState {
  /** newest first, each id once */
  readonly items: readonly InboxNotification[];
  /** the caller's exact unread count (null until the stream has said it) */
  readonly unreadCount: number | null;
  readonly connection: InboxConnection;
  /** the last error (connection or server), cleared once live again */
  readonly error: string | null;
}

export interface InboxClientOptions {
  /** the GraphQL endpoint over WebSocket, e.g. `wss://host/graphql` */
  url: string;
  /** a user's token, or a function asked for one on every (re)connect */
  token: string | (() => string | Promise<string>);
  /** the HTTP endpoint for queries and mutations; by default `url` with http(s) */
  httpUrl?: string;
  /** how many notifications page 1 holds. @default 50 */
  pageSize?: number;
  /**
   * true: send operation ids only; false: documents only. Unset: documents, and ids from the
   * first `PERSISTED_QUERY_ONLY` answer on (a server with PERSISTED_OPERATIONS=only).
   */
  persistedOperations?: boolean;
  /** a WebSocket class where there is no global one (Node 20: `ws`) */
  webSocketImpl?: unknown;
  /** a fetch where there is no global one */
  fetch?: typeof fetch;
  /** longest wait between reconnect attempts, ms. @default 5000 */
  maxRetryDelayMs?: number;
}

export interface InboxClient {
  getState(): InboxState;
  /** Calls `listener` with every new state (not with the current one); returns the unsubscribe. */
  subscribe(listener: (state: InboxState) => void): () => void;
  markRead(ids: readonly string[]): Promise<void>;
  markAllRead(): Promise<void>;
  /** Uses `token` from now on and reconnects with it at once. */
  setToken(token: string): void;
  /** Stops for good. */
  close(): void;
}

interface Doc {
  __meta__?: { hash: string };
}

/** A GraphQL error of an operation, with its `extensions.code`. */
export class InboxClientError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'InboxClientError';
  }
}

const documents = manifest as Record<string, string>;
const PERSISTED_QUERY_ONLY = 'PERSISTED_QUERY_ONLY';

function request(doc: object, variables: Record<string, unknown>, persisted: boolean): { query: string; variables: Record<string, unknown>; extensions?: Record<string, unknown> } {
  const hash = (doc as Doc).__meta__?.hash;
  const text = hash ? documents[hash] : undefined;
  if (!hash || text === undefined) throw new Error('document is not in the persisted manifest');
  return persisted
    ? { query: '', variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash.replace(/^sha256:/, '') } } }
    : { query: text, variables };
}

interface GqlResult<T> {
  data?: T | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

function firstError(r: GqlResult<unknown>): InboxClientError | null {
  const e = r.errors?.[0];
  if (!e) return null;
  const code = e.extensions?.['code'];
  return new InboxClientError(e.message, typeof code === 'string' ? code : null);
}

const byNewest = (a: InboxNotification, b: InboxNotification) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export function createInboxClient(opts: InboxClientOptions): InboxClient {
  const pageSize = opts.pageSize ?? 50;
  let persisted = opts.persistedOperations ?? false;
  const auto = opts.persistedOperations === undefined;
  /** Switches to ids when the server says it takes nothing else; true when it did. */
  const idsOnly = (code: string | null) => {
    if (!auto || persisted || code !== PERSISTED_QUERY_ONLY) return false;
    persisted = true;
    return true;
  };
  const maxDelay = opts.maxRetryDelayMs ?? 5000;
  const httpUrl = opts.httpUrl ?? opts.url.replace(/^ws/, 'http');
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  let token = opts.token;

  const items = new Map<string, InboxNotification>();
  let state: InboxState = { items: [], unreadCount: null, connection: 'connecting', error: null };
  const listeners = new Set<(s: InboxState) => void>();
  let closed = false;
  let ws: Client | null = null;
  /** wakes the retry wait early (setToken) */
  let wake: (() => void) | null = null;
  /** setToken asked for a reconnect: no backoff before it */
  let now = false;
  /** bumped by each stream: a page load for an older stream is dropped */
  let generation = 0;

  const emit = (patch: Partial<InboxState>, listChanged = false) => {
    state = { ...state, ...patch, ...(listChanged ? { items: [...items.values()].sort(byNewest) } : {}) };
    for (const l of listeners) l(state);
  };

  const currentToken = async () => (typeof token === 'function' ? await token() : token);

  async function http<T>(doc: object, variables: Record<string, unknown>): Promise<T> {
    try {
      return await post<T>(doc, variables);
    } catch (err) {
      if (err instanceof InboxClientError && idsOnly(err.code)) return post<T>(doc, variables);
      throw err;
    }
  }

  async function post<T>(doc: object, variables: Record<string, unknown>): Promise<T> {
    const res = await doFetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${await currentToken()}` },
      body: JSON.stringify(request(doc, variables, persisted)),
    });
    let body: GqlResult<T>;
    try {
      body = (await res.json()) as GqlResult<T>;
    } catch {
      throw new InboxClientError(`HTTP ${res.status}`, null);
    }
    const err = firstError(body);
    if (err) throw err;
    if (!body.data) throw new InboxClientError(`HTTP ${res.status}: no data`, null);
    return body.data;
  }

  /** the stream events applied while a page-1 reload is in flight, to apply again over the page */
  let duringReload: InboxSubscription['inbox'][] | null = null;
  let reloads = 0;

  /**
   * Page 1 replaces the list. The page was read at some point while the request was in flight,
   * so every stream event that came meanwhile is applied again over it (they are newer, or
   * already in it: applying one twice changes nothing).
   */
  async function reloadFirstPage(gen: number): Promise<void> {
    const mine = ++reloads;
    const log: InboxSubscription['inbox'][] = (duringReload = []);
    let data: NotificationsQuery;
    try {
      data = await http<NotificationsQuery>(NotificationsDocument, { first: pageSize });
    } finally {
      if (mine === reloads) duringReload = null;
    }
    if (gen !== generation || mine !== reloads) return;
    items.clear();
    for (const e of data.notifications.edges) {
      const { recipient: _r, ...n } = e.node;
      items.set(n.id, n);
    }
    for (const ev of log) applyToList(ev);
    emit({}, true);
  }

  /** An event's changes to the list; true when it changed. */
  function applyToList(ev: InboxSubscription['inbox']): boolean {
    let changed = false;
    if (ev.notification) {
      items.set(ev.notification.id, ev.notification);
      changed = true;
    }
    const setRead = (ids: readonly string[] | null, read: boolean) => {
      for (const id of ids ?? []) {
        const n = items.get(id);
        if (n && n.read !== read) {
          items.set(id, { ...n, read, readAt: read ? (n.readAt ?? new Date().toISOString()) : null });
          changed = true;
        }
      }
    };
    setRead(ev.readIds, true);
    setRead(ev.unreadIds, false);
    for (const id of ev.removedIds ?? []) changed = items.delete(id) || changed;
    return changed;
  }

  function apply(ev: InboxSubscription['inbox'], gen: number): void {
    duringReload?.push(ev);
    const changed = applyToList(ev);
    emit({ unreadCount: ev.unreadCount, connection: 'live', error: null }, changed);
    const attached = ev.notification === null && ev.replayComplete === null && !ev.readIds && !ev.unreadIds && !ev.removedIds;
    // Without `after` the first event says "attached": load page 1 now; a replay that could not
    // be proven complete: page 1 again.
    if ((attached && items.size === 0) || ev.replayComplete === false) {
      reloadFirstPage(gen).catch((err: unknown) => emit({ error: String((err as Error).message ?? err) }));
    }
  }

  /** One connection: follows the stream until it ends or fails. */
  async function follow(): Promise<void> {
    const gen = ++generation;
    const client = (ws = createClient({
      url: opts.url,
      webSocketImpl: opts.webSocketImpl,
      lazy: true,
      retryAttempts: 0,
      keepAlive: 10_000,
      connectionParams: async () => ({ authorization: `Bearer ${await currentToken()}` }),
    }));
    try {
      const newest = [...items.keys()].sort().at(-1) ?? null;
      const it = client.iterate<InboxSubscription>(request(InboxDocument, { after: newest }, persisted));
      for await (const r of it) {
        const err = firstError(r as GqlResult<unknown>);
        if (err) throw err;
        if (r.data) apply(r.data.inbox, gen);
      }
    } finally {
      if (ws === client) ws = null;
      void client.dispose();
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!closed) {
      const started = Date.now();
      try {
        await follow();
        if (closed) break;
        emit({ connection: 'offline' });
      } catch (err) {
        if (closed) break;
        const code = err instanceof InboxClientError ? err.code : Array.isArray(err) ? ((err[0] as { extensions?: { code?: string } })?.extensions?.code ?? null) : null;
        if (idsOnly(code)) now = true;
        else emit({ connection: 'offline', error: describe(err) });
      }
      // A stream that lived a while starts the backoff over.
      failures = Date.now() - started > 10_000 ? 1 : failures + 1;
      const delay = now ? 0 : Math.min(maxDelay, 200 * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
      now = false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
      if (!closed) emit({ connection: 'connecting' });
    }
  }
  void run();

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async markRead(ids) {
      const data = await http<MarkReadMutation>(MarkReadDocument, { ids: [...ids] });
      // The stream brings the count; the flags can show at once.
      let changed = false;
      for (const r of data.markRead) {
        const n = items.get(r.id);
        if (n) {
          items.set(r.id, { ...n, read: r.read, readAt: r.readAt });
          changed = true;
        }
      }
      if (changed) emit({}, true);
    },
    async markAllRead() {
      await http<MarkAllReadMutation>(MarkAllReadDocument, {});
    },
    setToken(t) {
      token = t;
      now = true;
      // Closing the socket ends the stream; the loop reconnects at once with the new token.
      const client = ws;
      ws = null;
      void client?.dispose();
      wake?.();
    },
    close() {
      closed = true;
      const client = ws;
      ws = null;
      void client?.dispose();
      wake?.();
      emit({ connection: 'closed' });
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  // graphql-ws rejects with the CloseEvent, or with an array of GraphQL errors.
  if (Array.isArray(err)) return err.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  const ev = err as { code?: number; reason?: string } | null;
  if (ev && typeof ev.code === 'number') {
    // 1006: the socket dropped without a close frame (network loss, server gone).
    if (ev.code === 1006) return 'connection lost; reconnecting';
    return `connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`;
  }
  return String(err);
}
