/**
 * The common request, answered without yoga's HTTP layer: a POST of a JSON body
 * `{query|documentId, variables, operationName}` from a client that sends no Origin (a service,
 * not a browser) and accepts JSON. Profiled on the per-user send, yoga's fetch adapter (a
 * WHATWG Request and Response per request, its body piped through a TransformStream for the
 * size limit, the promise chain of its hooks) cost about as much CPU as the GraphQL work.
 *
 * The GraphQL work is the same as yoga's: its enveloped parse, validate (once per document
 * text) and context, the execute yoga runs (execute.ts: metrics and rate limit, called here
 * without envelop's hooks around it) and yoga's error masking, so auth, query limits, rate
 * limits, metrics and error masking run exactly as they do through yoga. Only a result
 * without errors is written here (200, the content type yoga would choose, `JSON.stringify`
 * of the result, which is what yoga writes for it). Everything else goes to yoga, so its
 * answers stay the single source of HTTP statuses and error formats:
 * - before execution (an unusual request, a parse, validation or auth error) the request is
 *   handed to yoga as it came, the body already read (`req.body`, which yoga's Node adapter takes);
 * - after execution (errors in the result) nothing runs twice: yoga gets the result through
 *   {@link precomputedResults}, and formats, counts and answers it.
 */
import type http from 'node:http';
import { GraphQLError, getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import type { Plugin } from 'graphql-yoga';
import { maskedExecute, type GraphQLServer } from './yoga.js';
import { operationIdOf, type PersistedOperations } from './persisted-operations.js';
import type { Execute } from './execute.js';

/** Documents the fast path remembers as checked (yoga's own caches hold 1 024). */
const CHECKED_DOCUMENTS = 1024;

/** yoga's own default body limit, used when MAX_BODY_BYTES isn't set. */
const YOGA_DEFAULT_BODY_LIMIT = 25_000_000;

type NodeRequest = http.IncomingMessage & { body?: Buffer; [RESULT]?: ExecutionResult };
const RESULT = Symbol('precomputed GraphQL result');

/**
 * A yoga plugin that answers a request with the result the fast path already computed for it
 * (listed last, so the result is what yoga processes, whatever the other params hooks did).
 */
export function precomputedResults(): Plugin {
  return {
    onParams({ context, setResult }) {
      const result = (context as { req?: NodeRequest }).req?.[RESULT];
      if (result) setResult(result);
    },
  };
}

const PARAM_NAMES = new Set(['query', 'variables', 'operationName', 'extensions', 'documentId']);

/** The response's content type, when the Accept header leaves no doubt; else null (yoga negotiates). */
function contentTypeFor(accept: string | undefined): string | null {
  if (accept === undefined || accept === '*/*' || accept === 'application/json') return 'application/json; charset=utf-8';
  const first = accept.split(',', 1)[0]!.split(';', 1)[0]!.trim();
  if (first === 'application/json' || first === '*/*') return 'application/json; charset=utf-8';
  if (first === 'application/graphql-response+json') return 'application/graphql-response+json; charset=utf-8';
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface FastPathDeps {
  yoga: GraphQLServer;
  /** the execute yoga was given (execute.ts) */
  execute: Execute;
  persisted?: PersistedOperations;
  /** MAX_BODY_BYTES (checked before, by body-limit.ts); absent: yoga's default */
  maxBodyBytes?: number;
  logger: Logger;
}

/** What yoga answers for an error thrown out of execution: logged, masked. */
function unexpected(err: unknown, logger: Logger): ExecutionResult {
  logger.error({ err }, 'unexpected error executing a request');
  return { errors: [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
}

/** Returns the HTTP handler: the fast path where it applies, else yoga. */
export function createFastPath({ yoga, execute, persisted, maxBodyBytes = YOGA_DEFAULT_BODY_LIMIT, logger }: FastPathDeps) {
  const executeMasked = maskedExecute(yoga, execute);
  /**
   * Document texts that parsed and validated through the envelop, and their documents. The
   * rules don't depend on the request (graphql-js's and armor's fixed limits), so a document
   * that passed once passes again: a repeat skips the hooks (yoga's cache lookups, which key
   * the rules by their names on every call, were 3 % of a send's CPU).
   */
  const checked = new Map<string, DocumentNode>();
  const toYoga = (req: NodeRequest, res: http.ServerResponse, body?: Buffer, result?: ExecutionResult) => {
    if (body) req.body = body;
    if (result) req[RESULT] = result;
    void yoga(req, res);
  };

  /** The document text for params, or null when yoga should answer (errors, ids it doesn't know). */
  const documentOf = (params: Record<string, unknown>): string | null => {
    for (const k of Object.keys(params)) if (!PARAM_NAMES.has(k)) return null;
    if (params.extensions != null && !(isObject(params.extensions) && persisted && persisted.mode !== 'off')) return null;
    if (!persisted || persisted.mode === 'off') return params.documentId === undefined && typeof params.query === 'string' ? params.query : null;
    const id = operationIdOf(params);
    if (id === null) return persisted.mode === 'allow' && typeof params.query === 'string' ? params.query : null;
    if (params.query !== undefined) return null;
    return persisted.get(id) ?? null;
  };

  async function run(req: NodeRequest, res: http.ServerResponse, body: Buffer, contentType: string): Promise<void> {
    let params: unknown;
    try {
      params = JSON.parse(body.toString('utf8'));
    } catch {
      return toYoga(req, res, body);
    }
    if (!isObject(params)) return toYoga(req, res, body);
    const query = documentOf(params);
    const { variables = null, operationName = null } = params;
    if (query === null || (variables !== null && !isObject(variables)) || (operationName !== null && typeof operationName !== 'string')) return toYoga(req, res, body);

    const authorization = req.headers.authorization ?? null;
    // What the context function reads of the request (yoga.ts authorizationOf).
    const request = { method: 'POST', headers: { get: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : null) } };
    const { schema, parse, validate, contextFactory } = yoga.getEnveloped({ req, res, request, params: { query, variables, operationName } });
    let document = checked.get(query);
    if (!document) {
      let parsed: DocumentNode;
      try {
        parsed = parse(query);
      } catch {
        return toYoga(req, res, body);
      }
      if (validate(schema, parsed).length > 0) return toYoga(req, res, body);
      if (checked.size >= CHECKED_DOCUMENTS) checked.clear();
      checked.set(query, (document = parsed));
    }
    const op = getOperationAST(document, operationName);
    if (!op || op.operation === 'subscription') return toYoga(req, res, body);
    let contextValue;
    try {
      contextValue = await contextFactory();
    } catch {
      return toYoga(req, res, body);
    }
    let result: ExecutionResult;
    try {
      result = (await executeMasked({ schema, document, variableValues: variables, operationName, contextValue })) as ExecutionResult;
    } catch (err) {
      // Executed, or partly: yoga answers with the error, nothing runs twice.
      return toYoga(req, res, body, unexpected(err, logger));
    }
    if (result.errors?.length || result.extensions) return toYoga(req, res, body, result);
    const text = JSON.stringify(result);
    res.writeHead(200, { 'Content-Type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  return (req: NodeRequest, res: http.ServerResponse): void => {
    const contentType = contentTypeFor(req.headers.accept);
    const length = Number(req.headers['content-length']);
    if (
      req.method !== 'POST' ||
      req.url !== yoga.graphqlEndpoint ||
      contentType === null ||
      req.headers.origin !== undefined ||
      req.body !== undefined ||
      !(length > 0 && length <= maxBodyBytes) ||
      !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')
    ) {
      void yoga(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      run(req, res, body, contentType).catch((err: unknown) => {
        if (!res.headersSent) toYoga(req, res, body, unexpected(err, logger));
      });
    });
  };
}
