import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from '../notifications/errors.js';
import type { NotificationService } from '../notifications/service.js';
import { createLoaders, type Context } from '../schema/context.js';
import { buildSchema } from '../schema/index.js';
import { AuthError, type Auth } from './auth.js';
import { graphiqlOptions, renderGraphiQL } from './graphiql.js';

export interface GraphQLServerDeps {
  service: NotificationService;
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

export function createGraphQLServer({ service, auth, logger, graphiqlToken }: GraphQLServerDeps): GraphQLServer {
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
      return { principal, inboxUserId, service, loaders: createLoaders(service) };
    },
    maskedErrors: {
      // Domain errors carry a code and a message written for the client; anything else is masked.
      maskError(error, message) {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original instanceof DomainError) {
          return new GraphQLError(original.message, {
            nodes: (error as GraphQLError).nodes,
            path: (error as GraphQLError).path,
            extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
          });
        }
        // Our own GraphQLErrors (auth, scalars) already carry a code; keep them with their path.
        if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return error;
        logger.error({ err: original }, 'unexpected error in a resolver');
        return new GraphQLError(message, {
          nodes: (error as GraphQLError).nodes,
          path: (error as GraphQLError).path,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      },
    },
  });
}
