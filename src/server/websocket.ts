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
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Auth } from './auth.js';
import { maskError, type GraphQLServer } from './yoga.js';

export interface WebSocketDeps {
  server: http.Server;
  yoga: GraphQLServer;
  auth: Auth;
  logger: Logger;
  /** ping interval; a peer that misses a pong is dropped. @default 12000 */
  keepAliveMs?: number;
}

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
export function attachWebSocket({ server, yoga, auth, logger, keepAliveMs = 12_000 }: WebSocketDeps): WebSocketEndpoint {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  // event object -> operation key -> result: shared executions live as long as the event.
  const shared = new WeakMap<object, Map<string, ExecutionResult>>();

  const disposable = useServer(
    {
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          return (await auth.verify(typeof header === 'string' ? header : null)) !== null;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          if (err instanceof GraphQLError) return [err];
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
          rootValue: { execute, subscribe, sharedKey },
        };
        return args;
      },
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => {
        const { sharedKey, subscribe } = args.rootValue as { sharedKey: string | null; subscribe: (a: ExecutionArgs) => unknown };
        if (!sharedKey) return subscribe(args) as any;
        return sharedSubscribe({ ...args, rootValue: undefined }, sharedKey, shared);
      },
      // Same error policy as HTTP: codes for domain errors, internal ones masked.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => maskError(e, 'Unexpected error.', logger).toJSON()) } : undefined,
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

/**
 * graphql-js subscribe, except that each event's selection is executed once per distinct
 * operation and shared by every subscriber on this instance (the event object is the same for
 * all of them: the bus parses a message once).
 */
async function sharedSubscribe(args: ExecutionArgs, key: string, cache: WeakMap<object, Map<string, ExecutionResult>>) {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in (source as object))) return source as ExecutionResult;
  const it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const run = (event: unknown) => graphqlExecute({ ...args, rootValue: event }) as ExecutionResult;
  return {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      const r = await it.next();
      if (r.done) return { value: undefined, done: true };
      const event = r.value;
      if (typeof event !== 'object' || event === null) return { value: run(event), done: false };
      let byOp = cache.get(event);
      if (!byOp) cache.set(event, (byOp = new Map()));
      let result = byOp.get(key);
      if (!result) byOp.set(key, (result = run(event)));
      return { value: result, done: false };
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
