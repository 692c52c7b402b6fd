/**
 * The node:http server: health probes and /metrics answered here (cheap, no
 * GraphQL machinery), everything else handed to yoga.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { YogaServerInstance } from 'graphql-yoga';
import { boundEventStream } from './backpressure.js';
import { limitBody } from './body-limit.js';
import type { UserConnections } from './connection-limits.js';

/** What {@link createHttpServer} needs. */
export interface HttpServerDeps {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any context type is fine here
  yoga: YogaServerInstance<any, any>;
  /** handles what yoga would (http-fast-path.ts answers the common POST itself); absent: yoga */
  graphql?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Readiness check (e.g. Redis PING). Rejecting, or taking longer than {@link READY_TIMEOUT_MS}, counts as not ready. */
  ready: () => Promise<boolean>;
  logger: Logger;
  /** an SSE response whose backlog stays above this is ended (backpressure.ts). @default 1 MiB */
  maxBufferedBytes?: number;
  /** serves the built pages at /console and /inbox (web-pages.ts); none: those paths go to yoga */
  pages?: (req: http.IncomingMessage, res: http.ServerResponse, path: string) => boolean;
  /** largest request body (config MAX_BODY_BYTES); absent: no limit */
  maxBodyBytes?: number;
  /** open connections allowed on this instance (0: no limit); `open` counts WebSockets and SSE streams */
  connectionLimit?: { total: number; open: () => number };
  /** open connections per user (shared with WebSockets); `sub` reads the caller from the Authorization header */
  userConnections?: { slots: UserConnections; sub: (authorization: string | undefined) => Promise<string | null> } | null;
  /** `GET /metrics`; absent: 404 like any unknown path */
  metrics?: MetricsRoute | null;
}

/** Who may read `GET /metrics`, and what it answers (src/server/metrics-route.ts). */
export interface MetricsRoute {
  /** 200 to serve; else 401 (no or bad credentials) or 403 (a valid token without the admin role) */
  authorize(authorization: string | undefined): Promise<200 | 401 | 403>;
  render(): Promise<{ contentType: string; body: string }>;
}

/** How long `/readyz` waits for `ready()`; probes usually time out at 1-2 s themselves. */
export const READY_TIMEOUT_MS = 1000;

// Every socket each server has, including upgraded (WebSocket) ones, which
// http's closeAllConnections() does not track, so shutdown can end them too.
const socketsByServer = new WeakMap<http.Server, Set<Socket>>();
// Servers inside closeHttpServer: a keep-alive connection whose last response
// just finished is closed then, instead of idling until the forced close.
const closing = new WeakSet<http.Server>();
// Open text/event-stream responses (SSE subscriptions) per server, for the dashboard.
const eventStreams = new WeakMap<http.Server, { open: number }>();

/** Open SSE responses (requests that accept text/event-stream) of a server made by {@link createHttpServer}. */
export function openEventStreams(server: http.Server): number {
  return eventStreams.get(server)?.open ?? 0;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : text);
}

async function isReady(ready: () => Promise<boolean>, logger: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      logger.warn({ timeoutMs: READY_TIMEOUT_MS }, 'readiness check timed out');
      resolve(false);
    }, READY_TIMEOUT_MS);
  });
  try {
    // Promise.resolve().then() also turns a synchronous throw from ready() into a rejection.
    return (await Promise.race([Promise.resolve().then(ready), timeout])) === true;
  } catch (err) {
    logger.warn({ err }, 'readiness check failed');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function serveMetrics(route: MetricsRoute, req: http.IncomingMessage, res: http.ServerResponse, head: boolean): Promise<void> {
  const status = await route.authorize(req.headers.authorization);
  if (status !== 200) {
    if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="metrics"');
    sendJson(res, status, { status: status === 401 ? 'unauthorized' : 'forbidden' }, head);
    return;
  }
  const { contentType, body } = await route.render();
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

/**
 * Creates (does not start) the HTTP server.
 *
 * - `GET|HEAD /healthz` → 200 `{"status":"ok"}` while the process is up (liveness).
 * - `GET|HEAD /readyz` → 200 `{"status":"ready"}` when `ready()` resolves true,
 *   else 503 `{"status":"unavailable"}` (readiness).
 * - `GET|HEAD /metrics` (with `metrics`) → Prometheus text, or 401/403 (see {@link MetricsRoute}).
 * - `GET|HEAD /console/…`, `/inbox/…` → the built web pages (when `pages` is given).
 * - anything else → yoga (GraphQL at its endpoint, GraphiQL, SSE).
 */
/**
 * How long an idle keep-alive connection stays open. Clients and load balancers keep idle
 * connections for up to a minute (an AWS ALB's default is 60 s) and may reuse one just as
 * Node's default of 5 s closes it: that request then fails with ECONNRESET, a send whose fate
 * its client can't know. The server outlives them instead.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function createHttpServer(deps: HttpServerDeps): http.Server {
  const { yoga, ready, logger, maxBufferedBytes = 1024 * 1024, metrics, maxBodyBytes, connectionLimit, userConnections, pages } = deps;
  const graphql = deps.graphql ?? ((req: http.IncomingMessage, res: http.ServerResponse) => void yoga(req, res));
  const pass = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (maxBodyBytes === undefined) graphql(req, res);
    else limitBody(req, res, maxBodyBytes, () => graphql(req, res));
  };

  const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: KEEP_ALIVE_TIMEOUT_MS + 1000 }, (req, res) => {
    res.once('finish', () => {
      // setImmediate: the connection only counts as idle after 'finish' handlers ran.
      if (closing.has(server)) setImmediate(() => server.closeIdleConnections());
    });
    const method = req.method ?? 'GET';
    // Only the path decides; probes may add query strings.
    const path = (req.url ?? '/').split('?', 1)[0];
    if ((method === 'GET' || method === 'HEAD') && (path === '/healthz' || path === '/readyz')) {
      const head = method === 'HEAD';
      if (path === '/healthz') {
        sendJson(res, 200, { status: 'ok' }, head);
        return;
      }
      isReady(ready, logger).then(
        (ok) => sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' }, head),
        (err: unknown) => {
          logger.error({ err }, 'readyz handler failed');
          if (!res.headersSent) sendJson(res, 503, { status: 'unavailable' }, head);
        },
      );
      return;
    }
    if (metrics && path === '/metrics' && (method === 'GET' || method === 'HEAD')) {
      serveMetrics(metrics, req, res, method === 'HEAD').catch((err: unknown) => {
        logger.error({ err }, 'metrics handler failed');
        if (!res.headersSent) sendJson(res, 500, { status: 'error' }, false);
      });
      return;
    }
    if (pages?.(req, res, path ?? '/')) return;
    if (req.headers.accept?.includes('text/event-stream')) {
      if (connectionLimit && connectionLimit.total > 0 && connectionLimit.open() >= connectionLimit.total) {
        const message = `Server connection limit reached (${connectionLimit.total}); try again later.`;
        res.setHeader('retry-after', '5');
        sendJson(res, 503, { errors: [{ message, extensions: { code: 'CONNECTION_LIMIT' } }] }, method === 'HEAD');
        return;
      }
      streams.open++;
      res.once('close', () => streams.open--);
      boundEventStream(res, maxBufferedBytes, (buffered) => logger.warn({ buffered }, 'ending a slow SSE client'));
      if (userConnections) {
        // A bad or missing token takes no slot: yoga answers it.
        void userConnections.sub(req.headers.authorization).then(
          (sub) => {
            if (req.socket.destroyed) return; // gone meanwhile: its 'close' may have passed
            const release = sub === null ? () => {} : userConnections.slots.take(sub);
            if (!release) {
              const message = `Too many connections for this user (limit ${userConnections.slots.max}).`;
              sendJson(res, 429, { errors: [{ message, extensions: { code: 'CONNECTION_LIMIT' } }] }, method === 'HEAD');
              return;
            }
            res.once('close', release);
            pass(req, res);
          },
          () => pass(req, res),
        );
        return;
      }
    }
    pass(req, res);
  });
  const streams = { open: 0 };
  eventStreams.set(server, streams);

  const sockets = new Set<Socket>();
  socketsByServer.set(server, sockets);
  // One listener for every socket (a socket closes once), not a closure per connection.
  const untrack = function (this: Socket) {
    sockets.delete(this);
  };
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', untrack);
  });
  return server;
}

/**
 * Gracefully stops `server`: stops accepting, closes idle keep-alive
 * connections at once, lets in-flight requests finish, and after `timeoutMs`
 * force-closes whatever is still open (long polls, SSE streams, WebSockets).
 *
 * Resolves once every connection is gone; also resolves if the server was not listening.
 * @returns `forced: true` when the timeout had to cut connections.
 */
export async function closeHttpServer(server: http.Server, timeoutMs: number): Promise<{ forced: boolean }> {
  let forced = false;
  closing.add(server);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      forced = true;
      server.closeAllConnections();
      for (const socket of socketsByServer.get(server) ?? []) socket.destroy();
    }, timeoutMs);
    // close() waits for every connection (upgraded ones included) to end;
    // its ERR_SERVER_NOT_RUNNING error just means there is nothing to wait for.
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
  return { forced };
}
