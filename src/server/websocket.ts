import type http from 'node:http';
import {
  GraphQLError,
  createSourceEventStream,
  execute as graphqlExecute,
  getOperationAST,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { Disposable } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { EventQueue, type QueueSink } from '../realtime/event-queue.js';
import type { Logger } from 'pino';
import type { Auth } from './auth.js';
import type { Socket } from 'node:net';
import { checkWebSocketBacklog } from './backpressure.js';
import { corkForTurn } from './coalesce-writes.js';
import { resolveOperation, type PersistedOperations } from './persisted-operations.js';
import type { UserConnections } from './connection-limits.js';
import { maskError, maskedExecute, withCode, type GraphQLServer } from './yoga.js';
import type { Execute } from './execute.js';
import type { Metrics } from '../metrics/metrics.js';
import { countErrors } from './metrics-plugin.js';

export interface WebSocketDeps {
  server: http.Server;
  yoga: GraphQLServer;
  /** the execute yoga was given (execute.ts), for queries and mutations */
  execute: Execute;
  auth: Auth;
  logger: Logger;
  /** ping interval; a peer that misses a pong is dropped. @default 12000 */
  keepAliveMs?: number;
  /** ids clients may send instead of documents, as over HTTP (yoga's params hooks don't run here) */
  persisted?: PersistedOperations;
  /** a client whose backlog stays above this is closed with 4008 (backpressure.ts). @default 1 MiB */
  maxBufferedBytes?: number;
  metrics: Metrics;
  /** open connections allowed on this instance (0: no limit); `open` counts WebSockets and SSE streams */
  limits?: { total: number; open: () => number };
  /** open connections per user, shared with SSE; absent: no limit */
  userConnections?: UserConnections | null;
  /** largest message a client may send, bytes (ws closes with 1009 above it). @default 1 MiB */
  maxPayload?: number;
}

/** Largest message a client may send (MAX_BODY_BYTES sets it); a bigger one closes the connection with 1009. */
export const MAX_WS_MESSAGE_BYTES = 1024 * 1024;

/** Close codes of refused connections (docs/api.md, "Rate and connection limits"). */
export const CLOSE_INSTANCE_FULL = 1013; // "Try Again Later": the graphql-ws client retries it
export const CLOSE_USER_FULL = 4430;

/** Root fields whose result is the same for every subscriber of an event: executed once per event and operation. */
const SHARED_ROOT_FIELDS = new Set(['topic', 'dashboardUpdated']);

export interface WebSocketEndpoint extends Disposable {
  /** open graphql-ws connections on this instance */
  connections(): number;
}

/**
 * graphql-ws on the same port and path as HTTP. The token comes in
 * connectionParams.authorization; a missing or bad one closes with 4403, and every
 * operation is authorised again through yoga's context, as over HTTP.
 */
export function attachWebSocket({ server, yoga, execute, auth, logger, keepAliveMs = 12_000, persisted, maxBufferedBytes = 1024 * 1024, metrics, limits, userConnections, maxPayload = MAX_WS_MESSAGE_BYTES }: WebSocketDeps): WebSocketEndpoint {
  // noServer: the HTTP server's own errors (a port in use) stay with it instead of being
  // re-emitted here, where graphql-ws would print them as an internal error.
  const onSlow = (buffered: number) => logger.warn({ buffered }, 'closing a slow WebSocket client');
  const wss = new WebSocketServer({ noServer: true, maxPayload, WebSocket: serverWebSocket(maxBufferedBytes, onSlow) });
  // One listener for every socket: a closure made inside the upgrade handler would keep that
  // handler's scope, and with it the upgrade request, for the connection's lifetime.
  const onProtocolError = (err: Error) => logger.debug({ err: err.message }, 'websocket protocol error');
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '/').split('?', 1)[0] !== yoga.graphqlEndpoint) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const full = limits !== undefined && limits.total > 0 && limits.open() >= limits.total;
    wss.handleUpgrade(req, socket, head, (client) => {
      if (full) client.close(CLOSE_INSTANCE_FULL, `server connection limit reached (${limits!.total}); try again later`);
      else {
        wss.emit('connection', client, req);
        // ws closes the socket itself on a protocol error (1009: a message over maxPayload);
        // graphql-ws's listener would print that as an internal error with a stack.
        client.removeAllListeners('error');
        client.on('error', onProtocolError);
      }
    });
  });
  // Shared executions live as long as their event object.
  const frames: SharedFrames = new WeakMap();

  const disposable = useServer(
    {
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        let principal;
        try {
          principal = await auth.verify(typeof header === 'string' ? header : null);
        } catch {
          return false;
        }
        if (principal === null) return false;
        // Gone while its token was checked: a 'close' listener added now would never run.
        if (ctx.extra.socket.readyState !== WebSocket.OPEN) return false;
        if (userConnections) {
          // A slot is taken once the token checks out.
          const release = userConnections.take(principal.sub);
          if (!release) {
            // graphql-ws then tries 4403, which the closing socket ignores: the client sees this code.
            ctx.extra.socket.close(CLOSE_USER_FULL, `too many connections for this user (limit ${userConnections.max})`);
            return false;
          }
          // `on`, not `once` (a socket closes once): once's wrapper would be kept per connection.
          ctx.extra.socket.on('close', release);
        }
        // The upgrade request isn't needed after the handshake (the token travels in
        // connectionParams); let it go instead of keeping it for the connection's lifetime.
        (ctx.extra as { request?: unknown }).request = undefined;
        return true;
      },
      // Apollo Kotlin and iOS leave `query` out when they send only an id; graphql-ws requires a string.
      jsonMessageReviver: persisted && persisted.mode !== 'off' ? emptyQueryForIds : clientMessagesOnly,
      onSubscribe: async (ctx, id, payload) => {
        const query = persisted ? resolveOperation(persisted, payload) : payload.query;
        if (typeof query !== 'string') return [withoutHttp(query)];
        const params = query === payload.query ? payload : { ...payload, query };
        // Only what the context function reads (yoga.ts authorizationOf): the context lives as
        // long as the subscription, and graphql-ws's connection state has no use there.
        const { schema, contextFactory, parse, validate } = yoga.getEnveloped({ connectionParams: ctx.connectionParams, params });
        // Refused before execution: counted here, as yoga counts them for HTTP.
        const refuse = (errors: readonly GraphQLError[], code: string) => (countErrors(metrics, errors, code), errors);
        let document;
        try {
          document = parse(params.query);
        } catch (err) {
          return refuse([withoutHttp(err instanceof GraphQLError ? err : new GraphQLError(String(err)))], 'GRAPHQL_PARSE_FAILED');
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return refuse(errors.map(withoutHttp), 'GRAPHQL_VALIDATION_FAILED');
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          if (err instanceof GraphQLError) return refuse([err], 'UNAUTHENTICATED');
          throw err;
        }
        const op = getOperationAST(document, params.operationName);
        const root = op?.selectionSet.selections[0];
        const sharedKey =
          op?.operation === 'subscription' && op.selectionSet.selections.length === 1 && root?.kind === 'Field' && SHARED_ROOT_FIELDS.has(root.name.value)
            ? `${params.query}\n${JSON.stringify(params.variables ?? {})}\n${params.operationName ?? ''}`
            : null;
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { sharedKey, socket: ctx.extra.socket, id, operation: metrics.operationLabel(op?.name?.value), field: root?.kind === 'Field' ? root.name.value : 'unknown' },
        };
        return args;
      },
      // yoga's execute (metrics, rate limit), called without envelop's hooks around it, as the HTTP fast path does.
      execute: maskedExecute(yoga, execute),
      subscribe: (args: any) => {
        const { sharedKey, socket, id, operation, field } = args.rootValue as { sharedKey: string | null; socket: WebSocket; id: string; operation: string; field: string };
        // graphql-ws keeps `args` for the subscription's lifetime; drop yoga's per-operation closures.
        args.rootValue = undefined;
        return directSubscribe(args, sharedKey, frames, socket, id, logger, { metrics, operation, field });
      },
      // Same error policy as HTTP: codes for domain errors, internal ones masked.
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        const errors = result.errors.map((e) => withoutHttp(maskError(e, 'Unexpected error.', logger)).toJSON());
        countErrors(metrics, errors);
        return { ...result, errors };
      },
    },
    wss,
    keepAliveMs,
  );

  return {
    connections: () => wss.clients.size,
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
    },
  };
}

type WriteCallback = (err?: Error) => void;

/**
 * ws's WebSocket whose frames written in the same turn leave in one write (coalesce-writes.ts)
 * and whose backlog is bounded (backpressure.ts). A class, so that costs a prototype method
 * instead of two wrapper closures and bound functions per connection.
 */
function serverWebSocket(maxBufferedBytes: number, onSlow: (buffered: number) => void): typeof WebSocket {
  return class ServerWebSocket extends WebSocket {
    override send(data: unknown, options?: object | WriteCallback, cb?: WriteCallback): void {
      if (typeof options === 'function') {
        cb = options as WriteCallback;
        options = {};
      }
      corkForTurn((this as unknown as { _socket?: Socket })._socket);
      super.send(data as string, (options ?? {}) as Parameters<WebSocket['send']>[1] & object);
      // Once queued, so graphql-ws's next frame joins this write (coalesce-writes.ts).
      if (cb) queueMicrotask(cb);
      checkWebSocketBacklog(this, maxBufferedBytes, onSlow);
    }
  };
}

/** Types a client may send. graphql-ws answers the server's own (next, connection_ack, …) with 4500 and a logged "internal error"; this makes them 4400. */
const CLIENT_MESSAGE_TYPES = new Set(['connection_init', 'ping', 'pong', 'subscribe', 'complete']);

function clientMessagesOnly(key: string, value: unknown): unknown {
  // A throw here is a parse failure to graphql-ws: 4400 "Invalid message received".
  if (key === '' && !CLIENT_MESSAGE_TYPES.has((value as { type?: unknown } | null)?.type as string)) throw new Error('not a client message');
  return value;
}

function emptyQueryForIds(this: unknown, key: string, value: unknown): unknown {
  if (key !== '') return value;
  clientMessagesOnly(key, value);
  const m = value as { type?: unknown; payload?: { query?: unknown } } | null;
  if (m?.type === 'subscribe' && typeof m.payload === 'object' && m.payload !== null && m.payload.query === undefined) m.payload.query = '';
  return value;
}

/** yoga marks parse and validation errors with extensions.http (its HTTP status); over WebSocket that means nothing. */
function withoutHttp(error: GraphQLError): GraphQLError {
  error = withCode(error);
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
}

/** Cached per event object: operation key -> the serialised `payload` of a `next` frame. */
type SharedFrames = WeakMap<object, Map<string, string | Promise<string>>>;

/**
 * Subscriptions over WebSocket, executed without yoga's executor: each event's selection is
 * run by graphql-js and the `next` frame written straight to the socket. No iterator chain,
 * promise or JSON.stringify of the whole message per event and subscriber, which is most of
 * an idle subscription's memory and of a fan-out's CPU. Where the result is the same for
 * every subscriber (`sharedKey`: topic, dashboardUpdated) the selection is executed and
 * serialised once per event and distinct operation on this instance (the bus parses a
 * message once, so all local subscribers get the same event object). Sources other than an
 * EventQueue fall back to plain iterator semantics.
 */
async function directSubscribe(
  args: ExecutionArgs,
  key: string | null,
  frames: SharedFrames,
  socket: WebSocket,
  id: string,
  logger: Logger,
  { metrics, operation, field }: { metrics: Metrics; operation: string; field: string },
) {
  const start = performance.now();
  const source = await createSourceEventStream({ ...args, contextValue: ownContext(args) });
  const live = Symbol.asyncIterator in (source as object);
  metrics.operationDuration.observe({ operation, type: 'subscription', outcome: live ? 'ok' : 'error' }, (performance.now() - start) / 1000);
  if (!live) return source as ExecutionResult;
  const stream = new DirectStream(args, key, frames, logger, metrics);
  if (!(source instanceof EventQueue)) {
    const it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    return {
      async next(): Promise<IteratorResult<ExecutionResult>> {
        const r = await it.next();
        return r.done ? { value: undefined, done: true } : { value: JSON.parse(await stream.payloadOf(r.value)) as ExecutionResult, done: false };
      },
      async return(): Promise<IteratorResult<ExecutionResult>> {
        await it.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
  stream.start(socket, id, field);
  source.pipeTo(stream);
  return new StreamEnd(stream.finished, source);
}

/**
 * Subscribing and each event run like requests of their own: what they cache on the context
 * (scope-auth's per-request cache) goes with them instead of living as long as the socket. A
 * copy, not Object.create: an object used as a prototype gets a hidden class of its own, about
 * 600 bytes per subscription.
 */
const ownContext = (args: ExecutionArgs): unknown => ({ ...(args.contextValue as object) });

/**
 * What an idle subscription keeps between events, as fields of one object with the per-event
 * work in methods: closures made per subscription were most of its own memory.
 */
class DirectStream implements QueueSink<unknown> {
  /** frames keep their order even if a selection resolves asynchronously */
  private pending: Promise<void> | null = null;
  private socket: WebSocket | null = null;
  private prefix = '';
  private field = '';
  private finish: ((r: IteratorResult<ExecutionResult>) => void) | null = null;
  /** resolves once the stream has ended and its last frame is written */
  readonly finished = new Promise<IteratorResult<ExecutionResult>>((resolve) => (this.finish = resolve));

  constructor(
    private readonly args: ExecutionArgs,
    private readonly key: string | null,
    private readonly frames: SharedFrames,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  start(socket: WebSocket, id: string, field: string): void {
    this.socket = socket;
    this.prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    this.field = field;
    this.metrics.subscriptions.inc({ field, transport: 'ws' });
  }

  /** An event: its `next` frame is written now, or after the frames before it. */
  next(event: unknown): void {
    const payload = this.payloadOf(event);
    if (!this.pending && typeof payload === 'string') return this.write(payload);
    this.pending = (this.pending ?? Promise.resolve()).then(() => payload).then(
      (p) => this.write(p),
      (err) => {
        this.metrics.tallies.droppedFailed++;
        this.logger.error({ err }, 'shared subscription event failed');
      },
    );
  }

  end(error?: unknown): void {
    this.metrics.subscriptions.dec({ field: this.field, transport: 'ws' });
    void (this.pending ?? Promise.resolve()).then(() => {
      // An ended stream (token expiry) says why before graphql-ws completes the operation.
      if (error !== undefined) {
        const e = withoutHttp(maskError(error, 'Unexpected error.', this.logger)).toJSON();
        countErrors(this.metrics, [e]);
        this.write(JSON.stringify({ errors: [e] }));
      }
      this.finish!({ value: undefined, done: true });
    });
  }

  payloadOf(event: unknown): string | Promise<string> {
    const { key } = this;
    if (key === null || typeof event !== 'object' || event === null) return this.run(event);
    let byOp = this.frames.get(event);
    if (!byOp) this.frames.set(event, (byOp = new Map()));
    let payload = byOp.get(key);
    if (payload === undefined) byOp.set(key, (payload = this.run(event)));
    return payload;
  }

  private run(event: unknown): string | Promise<string> {
    const r = graphqlExecute({ ...this.args, rootValue: event, contextValue: ownContext(this.args) });
    return r instanceof Promise ? r.then((x) => this.serialise(x)) : this.serialise(r as ExecutionResult);
  }

  private serialise(result: ExecutionResult): string {
    if (!result.errors) return JSON.stringify(result);
    const errors = result.errors.map((e) => withoutHttp(maskError(e, 'Unexpected error.', this.logger)).toJSON());
    countErrors(this.metrics, errors);
    return JSON.stringify({ ...result, errors });
  }

  private write(payload: string): void {
    const { socket } = this;
    if (socket!.readyState !== WebSocket.OPEN) return void this.metrics.tallies.droppedClosed++;
    socket!.send(this.prefix + payload + '}');
    this.metrics.tallies.wsFrames++;
  }
}

/** What graphql-ws iterates: it waits for the end, or ends the stream (client completes, socket closes). */
class StreamEnd {
  constructor(
    private readonly finished: Promise<IteratorResult<ExecutionResult>>,
    private readonly source: EventQueue<unknown>,
  ) {}

  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.finished;
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
