import type http from 'node:http';
import type { PubSubEngine } from 'graphql-subscriptions';
import type { Logger } from 'pino';
import { NotificationService } from './notifications/service.js';
import type { Role } from './notifications/types.js';
import type { Channels } from './realtime/channels.js';
import { Realtime } from './realtime/realtime.js';
import type { Auth } from './server/auth.js';
import { closeHttpServer, createHttpServer } from './server/http-server.js';
import { attachWebSocket, type WebSocketEndpoint } from './server/websocket.js';
import { createGraphQLServer, type GraphQLServer } from './server/yoga.js';
import type { Store } from './store/store.js';

export interface AppDeps {
  store: Store;
  /** RedisPubSub on Redis, an in-process PubSub on the memory backend */
  bus: PubSubEngine;
  channels: Channels;
  auth: Auth;
  logger: Logger;
  clock?: () => number;
  graphiqlToken?: string;
  topicRoles?: Readonly<Record<string, Role>>;
  wsKeepAliveMs?: number;
}

export interface App {
  service: NotificationService;
  realtime: Realtime;
  yoga: GraphQLServer;
  server: http.Server;
  ws: WebSocketEndpoint;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Everything but connections and process wiring: main.ts (and tests) hand in the store, bus
 * and auth, and own what they created.
 */
export function createApp(deps: AppDeps): App {
  const { store, bus, channels, auth, logger, clock, graphiqlToken, topicRoles = { dashboard: 'admin' }, wsKeepAliveMs } = deps;
  const service = new NotificationService(store, clock);
  const realtime = new Realtime({ bus, channels, service });
  const yoga = createGraphQLServer({ service, realtime, topicRoles, auth, logger, graphiqlToken });
  const server = createHttpServer({ yoga, ready: () => store.ping(), logger });
  const ws = attachWebSocket({ server, yoga, auth, logger, keepAliveMs: wsKeepAliveMs });
  return {
    service,
    realtime,
    yoga,
    server,
    ws,
    async close(timeoutMs = 5000) {
      await ws.dispose();
      await closeHttpServer(server, timeoutMs);
    },
  };
}
