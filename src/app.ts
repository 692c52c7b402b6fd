import type http from 'node:http';
import type { Logger } from 'pino';
import { NotificationService } from './notifications/service.js';
import type { Auth } from './server/auth.js';
import { closeHttpServer, createHttpServer } from './server/http-server.js';
import { createGraphQLServer, type GraphQLServer } from './server/yoga.js';
import type { Store } from './store/store.js';

export interface AppDeps {
  store: Store;
  auth: Auth;
  logger: Logger;
  clock?: () => number;
  graphiqlToken?: string;
}

export interface App {
  service: NotificationService;
  yoga: GraphQLServer;
  server: http.Server;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Everything but connections and process wiring: main.ts (and tests) hand in the store and
 * auth, and own what they created.
 */
export function createApp({ store, auth, logger, clock, graphiqlToken }: AppDeps): App {
  const service = new NotificationService(store, clock);
  const yoga = createGraphQLServer({ service, auth, logger, graphiqlToken });
  const server = createHttpServer({ yoga, ready: () => store.ping(), logger });
  return {
    service,
    yoga,
    server,
    async close(timeoutMs = 5000) {
      await closeHttpServer(server, timeoutMs);
    },
  };
}
