import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createYoga, type Plugin, type YogaMaskedErrorOpts, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from '../notifications/errors.js';
import { RETRY_AFTER_S, isBackendUnavailable } from '../store/unavailable.js';
import type { Dashboard } from '../dashboard/dashboard.js';
import type { DashboardFeed } from '../dashboard/feed.js';
import type { NotificationService } from '../notifications/service.js';
import type { DeliveryService } from '../channels/delivery-service.js';
import type { Role } from '../notifications/types.js';
import type { Realtime } from '../realtime/realtime.js';
import type { JobsApi } from '../scheduler/scheduler.js';
import { createLoaders, type Context } from '../schema/context.js';
import { buildSchema } from '../schema/index.js';
import { AuthError, type Auth } from './auth.js';
import { graphiqlOptions, renderGraphiQL } from './graphiql.js';
import { persistedOperationsPlugin, type PersistedOperations } from './persisted-operations.js';
import { precomputedResults } from './http-fast-path.js';
import type { Metrics } from '../metrics/metrics.js';
import { isAsyncIterable, metricsPlugin } from './metrics-plugin.js';
import { executePlugin, type Execute } from './execute.js';

export interface GraphQLServerDeps {
  service: NotificationService;
  deliveries: DeliveryService;
  realtime: Realtime;
  dashboard: Dashboard;
  dashboardFeed: DashboardFeed;
  /** the `jobs` query and `runJob` mutation */
  jobs?: JobsApi | null;
  topicRoles: Readonly<Record<string, Role>>;
  auth: Auth;
  logger: Logger;
  /** Pre-filled in GraphiQL's headers editor (development only). */
  graphiqlToken?: string;
  /** ids clients may send instead of documents (PERSISTED_OPERATIONS); absent: documents only */
  persisted?: PersistedOperations;
  metrics: Metrics;
  /** queries and mutations, with their metrics and rate limit (execute.ts) */
  execute: Execute;
  /**
   * true when the HTTP server limits bodies itself (body-limit.ts, MAX_BODY_BYTES): yoga's own
   * limit, which pipes every body through a TransformStream, is then turned off.
   */
  bodyLimited?: boolean;
}

export type GraphQLServer = YogaServerInstance<Record<string, unknown>, Context>;

/** Reads the bearer token from an HTTP request or, over WebSocket, from connectionParams. */
function authorizationOf(init: Record<string, unknown>): string | null {
  const request = init.request as Request | undefined;
  const fromHeader = request?.headers.get('authorization');
  if (fromHeader) return fromHeader;
  const params = init.connectionParams as Record<string, unknown> | undefined;
  const fromParams = params?.authorization ?? params?.Authorization;
  return typeof fromParams === 'string' ? fromParams : null;
}

export function createGraphQLServer({ service, deliveries, realtime, dashboard, dashboardFeed, jobs = null, topicRoles, auth, logger, graphiqlToken, persisted, metrics, execute, bodyLimited = false }: GraphQLServerDeps): GraphQLServer {
  const persistedPlugin = persisted ? persistedOperationsPlugin(persisted) : null;
  return createYoga<Record<string, unknown>, Context>({
    schema: buildSchema(),
    logging: logger,
    renderGraphiQL,
    graphiql: graphiqlOptions(graphiqlToken),
    landingPage: false,
    context: async (init): Promise<Context> => {
      let principal;
      try {
        principal = await auth.verify(authorizationOf(init));
      } catch (err) {
        if (err instanceof AuthError) throw new GraphQLError(err.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
        throw err;
      }
      const inboxUserId = principal?.roles.includes('user') ? principal.sub : null;
      if (inboxUserId) await service.ensureUser(inboxUserId);
      return { principal, inboxUserId, service, deliveries, realtime, dashboard, dashboardFeed, jobs, topicRoles, loaders: createLoaders(service) };
    },
    maskedErrors: { maskError: (error, message) => maskError(error, message, logger) },
    plugins: [
      jsonParamsChecked(),
      codedRequestErrors(),
      queryLimits(),
      ...(persistedPlugin ? [persistedPlugin] : []),
      metricsPlugin(metrics),
      executePlugin(execute),
      // Last: a result the fast path computed is the one yoga answers with.
      precomputedResults(),
    ],
    ...(bodyLimited ? { maxRequestBodySize: false as const } : {}),
    // GraphQL-over-HTTP's persisted-document parameter, read by the plugin above.
    extraParamNames: persistedPlugin ? ['documentId'] : [],
  });
}

/**
 * `execute` with yoga's masking of the errors in its result (its maskedErrors option as yoga
 * wraps it: {@link maskError}, yoga's log line for a masked error and its guard against masking
 * twice), for the transports that call it without yoga's enveloped execute (the HTTP fast
 * path, WebSocket). yoga doesn't type that field as public, so its absence fails at start,
 * not per request.
 */
export function maskedExecute(yoga: GraphQLServer, execute: Execute): Execute {
  const opts = (yoga as unknown as { maskedErrorsOpts?: YogaMaskedErrorOpts | null }).maskedErrorsOpts;
  if (!opts) throw new Error('yoga has no maskedErrors options');
  return async (args) => {
    const result = await execute(args);
    // A stream (@defer/@stream) passes as it is, as it did before.
    return isAsyncIterable(result) || !result.errors ? result : { ...result, errors: result.errors.map((e) => opts.maskError(e, opts.errorMessage, opts.isDev) as GraphQLError) };
  };
}

/**
 * yoga JSON.parses `variables` and `extensions` of a GET (SSE) query string unguarded; a
 * SyntaxError there would be masked as INTERNAL_SERVER_ERROR. Rejected first, as bad input.
 */
function jsonParamsChecked(): Plugin {
  return {
    onRequestParse({ url }) {
      for (const name of ['variables', 'extensions']) {
        const raw = url.searchParams.get(name);
        if (!raw) continue;
        try {
          JSON.parse(raw);
        } catch {
          throw new GraphQLError(`${name} must be JSON`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
        }
      }
    },
  };
}

/**
 * Every error a client gets carries extensions.code. graphql-js's own parse, validation and
 * variable errors come without one: GRAPHQL_PARSE_FAILED, BAD_USER_INPUT (a variable's value)
 * or GRAPHQL_VALIDATION_FAILED. Used for HTTP/SSE here and for WebSocket by websocket.ts.
 */
export function withCode(error: GraphQLError): GraphQLError {
  if (error.extensions?.code) return error;
  const code = /^Syntax Error/.test(error.message) ? 'GRAPHQL_PARSE_FAILED' : /^Variable "\$/.test(error.message) ? 'BAD_USER_INPUT' : error.path ? null : 'GRAPHQL_VALIDATION_FAILED';
  if (!code) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: { ...error.extensions, code } });
}

function codedRequestErrors(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors) return;
      setResult({ ...result, errors: result.errors.map((e) => (e instanceof GraphQLError ? withCode(e) : e)) });
    },
  };
}

/**
 * Depth, alias, cost, token and directive limits (graphql-armor), checked when a document is
 * parsed and validated: over HTTP, SSE and WebSocket alike, and cached with the validation
 * result, so a known document costs nothing more. Rejections are BAD_USER_INPUT validation
 * errors; the request does nothing. The limits leave room for every operation a client
 * needs: the deepest (a page's recipients' preferences) is 6 levels, the costliest (a full
 * page of 100 with every field and the recipient's) costs ~9 600 by armor's measure, and
 * loading users by id is one aliased `user(id:)` each (100, like a page).
 */
export const QUERY_LIMITS = { depth: 10, aliases: 100, cost: 25_000, tokens: 5000, directives: 50 } as const;

function queryLimits() {
  // armor's own rejection is a bare "Syntax Error: …" thrown out of validate(); report it as a
  // validation error with a code instead.
  const reject = [
    (ctx: ValidationContext | null, err: GraphQLError) =>
      ctx?.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'BAD_USER_INPUT' } })),
  ];
  const rule = { propagateOnRejection: false, onReject: reject };
  return EnvelopArmorPlugin({
    maxDepth: { n: QUERY_LIMITS.depth, ...rule },
    maxAliases: { n: QUERY_LIMITS.aliases, ...rule },
    costLimit: { maxCost: QUERY_LIMITS.cost, ...rule },
    maxDirectives: { n: QUERY_LIMITS.directives, ...rule },
    maxTokens: { n: QUERY_LIMITS.tokens },
    // The schema is public (introspection is on), so hiding "Did you mean" hides nothing.
    blockFieldSuggestion: { enabled: false },
  });
}

/**
 * Domain errors carry a code and a message written for the client; our own GraphQLErrors
 * (auth, scalars) pass as they are; a backend that is not answering (Redis down, restarting,
 * timing out) is SERVICE_UNAVAILABLE, retryable; anything else is masked and logged. Used for HTTP/SSE by
 * yoga and for WebSocket results by websocket.ts.
 */
export function maskError(error: unknown, message: string, logger: Logger): GraphQLError {
  const located = error instanceof GraphQLError ? error : null;
  const original = located ? located.originalError : error;
  if (original instanceof DomainError) {
    return new GraphQLError(original.message, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
    });
  }
  if (located && (!original || original instanceof GraphQLError)) return located;
  if (isBackendUnavailable(original)) {
    // Retryable, and no 5xx: the GraphQL response (200) carries the code and a Retry-After.
    logger.warn({ err: (original as Error).message }, 'backend unavailable');
    return new GraphQLError('The service is unavailable for a moment (its store is not answering); retry shortly.', {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: RETRY_AFTER_S, http: { status: 200, headers: { 'retry-after': String(RETRY_AFTER_S) } } },
    });
  }
  logger.error({ err: original }, 'unexpected error in a resolver');
  return new GraphQLError(message, { nodes: located?.nodes, path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
