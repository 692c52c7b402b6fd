import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from '../notifications/errors.js';
import type { Dashboard } from '../dashboard/dashboard.js';
import type { DashboardFeed } from '../dashboard/feed.js';
import type { NotificationService } from '../notifications/service.js';
import type { Role } from '../notifications/types.js';
import type { Realtime } from '../realtime/realtime.js';
import type { JobsApi } from '../scheduler/scheduler.js';
import { createLoaders, type Context } from '../schema/context.js';
import { buildSchema } from '../schema/index.js';
import { AuthError, type Auth } from './auth.js';
import { graphiqlOptions, renderGraphiQL } from './graphiql.js';

export interface GraphQLServerDeps {
  service: NotificationService;
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

export function createGraphQLServer({ service, realtime, dashboard, dashboardFeed, jobs = null, topicRoles, auth, logger, graphiqlToken }: GraphQLServerDeps): GraphQLServer {
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
      return { principal, inboxUserId, service, realtime, dashboard, dashboardFeed, jobs, topicRoles, loaders: createLoaders(service) };
    },
    maskedErrors: { maskError: (error, message) => maskError(error, message, logger) },
  });
}

/**
 * Domain errors carry a code and a message written for the client; our own GraphQLErrors
 * (auth, scalars) pass as they are; anything else is masked and logged. Used for HTTP/SSE by
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
  logger.error({ err: original }, 'unexpected error in a resolver');
  return new GraphQLError(message, { nodes: located?.nodes, path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
