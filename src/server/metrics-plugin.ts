/**
 * GraphQL metrics as a yoga/envelop plugin: subscriptions over SSE by name and outcome with
 * their setup's duration (queries and mutations are timed in execute.ts), live SSE
 * subscriptions by root field, events written to SSE, and errors by code for every HTTP
 * response. WebSocket subscriptions and WebSocket errors are counted in websocket.ts, which
 * runs them without yoga's executor.
 */
import { GraphQLError, getOperationAST, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Metrics, OperationType } from '../metrics/metrics.js';
import { DomainError } from '../notifications/errors.js';

/** The code a client sees for `error` (as maskError gives it), whether or not it was masked yet; `fallback` for a GraphQLError without one. */
export function errorCode(error: unknown, fallback?: string): unknown {
  if (!(error instanceof GraphQLError)) return isObject(error) ? (codeOfJson(error) ?? fallback) : 'INTERNAL_SERVER_ERROR';
  if (error.extensions?.code !== undefined) return error.extensions.code;
  const original = error.originalError;
  if (original instanceof DomainError) return original.code;
  if (original && !(original instanceof GraphQLError)) return 'INTERNAL_SERVER_ERROR';
  return original?.extensions?.code ?? fallback;
}

/**
 * Counts errors by code: GraphQLErrors or their JSON. `fallback` names errors without a code
 * (graphql-js's own parse and validation errors over WebSocket, where yoga doesn't add one).
 */
export function countErrors(metrics: Metrics, errors: readonly unknown[] | undefined, fallback?: string): void {
  if (!errors) return;
  for (const e of errors) metrics.errors.inc({ code: metrics.errorLabel(errorCode(e, fallback)) });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
/** an error already serialised (`{ message, extensions: { code } }`) */
const codeOfJson = (e: Record<string, unknown>) => (isObject(e.extensions) ? e.extensions.code : undefined);

/** The executed operation's type and `operation` label (`op`: getOperationAST's, which callers have already). */
export function operationOf(metrics: Metrics, op: OperationDefinitionNode | null | undefined): { type: OperationType; label: string; field: string } {
  const root = op?.selectionSet.selections[0];
  return {
    type: op?.operation ?? 'query',
    label: metrics.operationLabel(op?.name?.value),
    field: root?.kind === 'Field' ? root.name.value : 'unknown',
  };
}

export const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> => isObject(v) && Symbol.asyncIterator in v;

export function metricsPlugin(metrics: Metrics): Plugin {
  if (!metrics.enabled) return {};
  return {
    // Subscriptions over HTTP (SSE); WebSocket ones don't come through here.
    onSubscribe({ args }) {
      const start = performance.now();
      const { label, field } = operationOf(metrics, getOperationAST(args.document, args.operationName));
      return {
        onSubscribeResult({ result }) {
          const live = isAsyncIterable(result);
          metrics.operationDuration.observe({ operation: label, type: 'subscription', outcome: live ? 'ok' : 'error' }, (performance.now() - start) / 1000);
          if (!live) return;
          const labels = { field, transport: 'sse' };
          metrics.subscriptions.inc(labels);
          return {
            onNext({ result: event }) {
              metrics.tallies.sseEvents++;
              countErrors(metrics, event.errors);
            },
            onEnd: () => metrics.subscriptions.dec(labels),
          };
        },
      };
    },
    // Every HTTP response's errors, those refused before execution (parse, validation, auth) included.
    onResultProcess({ result }) {
      if (isAsyncIterable(result)) return;
      for (const r of Array.isArray(result) ? result : [result]) countErrors(metrics, r.errors);
    },
  };
}
