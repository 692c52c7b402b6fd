/**
 * What runs around the execution of a query or mutation, whatever the transport: its duration
 * and outcome in the metrics, and, for a mutation, the principal's rate limit (refused: the
 * RATE_LIMITED result, no resolver runs); and the operation's field scopes checked once, up
 * front, where they can be (schema/scope-precheck.ts). One function, used twice:
 * - installed as yoga's execute ({@link executePlugin}), for the requests yoga answers itself;
 * - called directly by the HTTP fast path and the WebSocket server, which so skip envelop's
 *   hook machinery around each call (a promise chain, closures and arrays per plugin and
 *   call: about 10 KB of the 73 KB a send allocated).
 * Errors are masked after it, by yoga's masked-errors plugin or with yoga's own masking
 * (yoga.ts maskedExecute).
 */
import { normalizedExecutor } from '@graphql-tools/executor';
import { getOperationAST, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { Context } from '../schema/context.js';
import { grantedScopes } from '../schema/builder.js';
import { precheckScopes } from '../schema/scope-precheck.js';
import { isAsyncIterable, operationOf } from './metrics-plugin.js';
import { mutationCost, rateLimited, type MutationLimiter } from './rate-limit.js';

/** A single result or, for an operation with @defer/@stream, a stream of them (yoga's executor). */
type Executed = ExecutionResult | AsyncIterable<ExecutionResult>;
export type Execute = (args: ExecutionArgs) => Promise<Executed>;

export interface ExecuteDeps {
  metrics: Metrics;
  /** mutations per principal; absent: no limit */
  limiter?: MutationLimiter | null;
  logger: Logger;
}

/**
 * @returns execute: the duration is measured from before the rate limit, and a refused
 * mutation counts as an error, as when these were two envelop plugins in that order.
 */
export function createExecute({ metrics, limiter, logger }: ExecuteDeps): Execute {
  /** null: go ahead (a limiter that fails lets the mutation through: it needs Redis itself and reports that on its own) */
  const refusal = async (args: ExecutionArgs, op: OperationDefinitionNode | null | undefined): Promise<ExecutionResult | null> => {
    const principal = (args.contextValue as Partial<Context> | undefined)?.principal;
    if (!limiter || op?.operation !== 'mutation' || !principal) return null;
    let wait: number | null;
    try {
      wait = await limiter.take(principal, mutationCost(op.selectionSet, args.document));
    } catch (err) {
      logger.warn({ err }, 'rate limiter unavailable; mutation allowed');
      return null;
    }
    return wait === null ? null : { errors: [rateLimited(wait)] };
  };

  return async (args) => {
    const start = performance.now();
    const op = getOperationAST(args.document, args.operationName);
    let result: Executed | null = await refusal(args, op);
    if (!result) {
      const context = args.contextValue as Context | undefined;
      if (op && context) precheckScopes(args.schema, args.document, op, context, grantedScopes(context));
      result = (await normalizedExecutor(args)) as Executed;
    }
    if (metrics.enabled) {
      const { type, label } = operationOf(metrics, op);
      const failed = !isAsyncIterable(result) && result.errors !== undefined;
      metrics.operationDuration.observe({ operation: label, type, outcome: failed ? 'error' : 'ok' }, (performance.now() - start) / 1000);
    }
    return result;
  };
}

/** Makes `execute` yoga's execute for queries and mutations. */
export function executePlugin(execute: Execute): Plugin {
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(execute as Parameters<typeof setExecuteFn>[0]);
    },
  };
}
