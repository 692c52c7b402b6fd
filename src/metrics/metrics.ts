/**
 * The server's Prometheus instruments, in one registry of their own (never prom-client's global
 * one: tests build many apps in one process). main.ts creates one {@link Metrics} and passes it
 * down; modules get this object, never prom-client itself. Every metric and label is listed in
 * docs/operations.md.
 *
 * Labels are bounded: operation names known to the server's manifest plus the first
 * {@link MAX_EXTRA_OPERATIONS} others, then "other"; error codes likewise; the rest come from
 * closed sets (root fields of the schema, job names, cache parts, Redis commands).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parse } from 'graphql';
import manifest from '../client/gql/persisted-documents.json' with { type: 'json' };

/** Names beyond the manifest's that get a label of their own; later ones count as "other". */
export const MAX_EXTRA_OPERATIONS = 50;
/** Distinct error codes that get a label of their own; later ones count as "OTHER". */
export const MAX_ERROR_CODES = 30;

/** Plain numbers bumped per delivered event (no label lookup on the fan-out path), read into counters at scrape time. */
export interface Tallies {
  /** `next` frames written to a WebSocket */
  wsFrames: number;
  /** events written to an SSE response */
  sseEvents: number;
  /** events not written because the socket had already closed */
  droppedClosed: number;
  /** events whose selection failed to execute (logged) */
  droppedFailed: number;
}

type Outcome = 'ok' | 'error';
export type OperationType = 'query' | 'mutation' | 'subscription';

export interface Metrics {
  /** false (METRICS_ENABLED=false): every instrument is a no-op and /metrics is not served */
  readonly enabled: boolean;
  readonly registry: Registry;
  readonly tallies: Tallies;
  /** per operation: `_count` is the number of operations; subscriptions measure the subscribe step */
  readonly operationDuration: Histogram<'operation' | 'type' | 'outcome'>;
  readonly errors: Counter<'code'>;
  readonly subscriptions: Gauge<'field' | 'transport'>;
  readonly connections: Gauge<'transport'>;
  readonly sends: Counter<'kind'>;
  readonly broadcasts: Counter;
  readonly recipients: Counter<'kind' | 'outcome'>;
  /** outcomes this instance's outbox recorded (delivered, retrying, failed, skipped), by channel */
  readonly deliveries: Counter<'channel' | 'status'>;
  /** deliveries the outbox keeps, by status (every instance's; read at scrape time) */
  readonly deliveriesKept: Gauge<'status'>;
  readonly redisDuration: Histogram<'command'>;
  readonly redisErrors: Counter<'command'>;
  /** times this process noticed Redis lost its data (store/epoch-watch.ts) */
  readonly redisDataLoss: Counter;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly jobDuration: Histogram<'job'>;
  readonly cacheHits: Counter<'part' | 'level'>;
  readonly cacheMisses: Counter<'part'>;
  /** the `operation` label of a name: itself when known or among the first others, "anonymous", else "other" */
  operationLabel(name: string | null | undefined): string;
  /** the `code` label of an error code ("NO_CODE" for an error without one) */
  errorLabel(code: unknown): string;
  /** Runs `fn` before every scrape (gauges computed from what exists, e.g. open connections). */
  onScrape(fn: () => void | Promise<void>): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** @default true */
  enabled?: boolean;
  /** Node's own metrics (event-loop lag, heap, GC, CPU); they watch the whole process, so main.ts only. @default false */
  defaults?: boolean;
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,39}$/;

/** Operation names of the server's own manifest (src/client/gql/persisted-documents.json). */
function manifestOperationNames(): string[] {
  const names: string[] = [];
  for (const text of Object.values(manifest as Record<string, string>)) {
    for (const def of parse(text).definitions) if (def.kind === 'OperationDefinition' && def.name) names.push(def.name.value);
  }
  return names;
}

/** A label that is the value itself for `known` ones and the first `max` others that pass `valid`, else `other`. */
function boundedLabel(known: readonly string[], max: number, valid: RegExp, other: string): (value: string) => string {
  const allowed = new Set(known);
  let extra = 0;
  return (value) => {
    if (allowed.has(value)) return value;
    if (extra >= max || !valid.test(value)) return other;
    extra++;
    allowed.add(value);
    return value;
  };
}

// Stands in for every instrument when metrics are off: a call and nothing else.
const NOOP: Record<string, unknown> = {
  inc() {},
  dec() {},
  set() {},
  observe() {},
  reset() {},
  remove() {},
  zero() {},
  startTimer: () => () => 0,
  labels: () => NOOP,
};

const SECONDS_FAST = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SECONDS_REQUEST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SECONDS_JOB = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export function createMetrics({ enabled = true, defaults = false }: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const tallies: Tallies = { wsFrames: 0, sseEvents: 0, droppedClosed: 0, droppedFailed: 0 };
  const scrapeHooks: (() => void)[] = [];
  if (enabled && defaults) collectDefaultMetrics({ register: registry });

  const make = <T>(create: () => T): T => (enabled ? create() : (NOOP as T));
  const registers = [registry];

  // Counters fed from plain tallies: each scrape adds what accrued since the last.
  const fromTallies = <L extends string>(name: string, help: string, labelName: L, read: Record<string, () => number>) => {
    const seen: Record<string, number> = {};
    const counter = new Counter<L>({
      name,
      help,
      labelNames: [labelName],
      registers,
      collect() {
        for (const [value, get] of Object.entries(read)) {
          const now = get();
          counter.inc({ [labelName]: value } as Record<L, string>, now - (seen[value] ?? 0));
          seen[value] = now;
        }
      },
    });
    return counter;
  };
  if (enabled) {
    fromTallies('ntf_realtime_events_delivered_total', 'Subscription events written to clients', 'transport', { ws: () => tallies.wsFrames, sse: () => tallies.sseEvents });
    fromTallies('ntf_realtime_events_dropped_total', 'Subscription events not written', 'reason', { closed: () => tallies.droppedClosed, failed: () => tallies.droppedFailed });
  }

  const operation = boundedLabel(manifestOperationNames(), MAX_EXTRA_OPERATIONS, NAME, 'other');
  const code = boundedLabel([], MAX_ERROR_CODES, CODE, 'OTHER');

  return {
    enabled,
    registry,
    tallies,
    operationDuration: make(
      () =>
        new Histogram({
          name: 'ntf_graphql_operation_duration_seconds',
          help: 'GraphQL operations by name, type and outcome (subscriptions: the subscribe step)',
          labelNames: ['operation', 'type', 'outcome'],
          buckets: SECONDS_REQUEST,
          registers,
        }),
    ),
    errors: make(() => new Counter({ name: 'ntf_graphql_errors_total', help: 'GraphQL errors returned to clients, by extensions.code', labelNames: ['code'], registers })),
    subscriptions: make(() => new Gauge({ name: 'ntf_graphql_subscriptions', help: 'Live subscriptions by root field and transport', labelNames: ['field', 'transport'], registers })),
    connections: make(() => new Gauge({ name: 'ntf_realtime_connections', help: 'Open WebSocket connections and SSE responses', labelNames: ['transport'], registers })),
    sends: make(() => new Counter({ name: 'ntf_notifications_sends_total', help: 'sendNotification calls that passed validation, by kind', labelNames: ['kind'], registers })),
    broadcasts: make(() => new Counter({ name: 'ntf_notifications_broadcasts_total', help: 'Broadcasts committed', registers })),
    recipients: make(
      () => new Counter({ name: 'ntf_notifications_recipients_total', help: 'Recipients of sends and broadcasts by outcome (stored, deduplicated, muted)', labelNames: ['kind', 'outcome'], registers }),
    ),
    deliveries: make(() => new Counter({ name: 'ntf_deliveries_total', help: 'Delivery outcomes this instance recorded, by channel and status', labelNames: ['channel', 'status'], registers })),
    deliveriesKept: make(() => new Gauge({ name: 'ntf_deliveries', help: 'Deliveries the outbox keeps (all instances), by status', labelNames: ['status'], registers })),
    redisDuration: make(
      () => new Histogram({ name: 'ntf_redis_command_duration_seconds', help: 'Redis commands of this process, by command (scripts by name)', labelNames: ['command'], buckets: SECONDS_FAST, registers }),
    ),
    redisErrors: make(() => new Counter({ name: 'ntf_redis_command_errors_total', help: 'Redis commands that failed, by command', labelNames: ['command'], registers })),
    redisDataLoss: make(() => new Counter({ name: 'ntf_redis_data_loss_total', help: 'Times this process noticed that Redis lost its data (restarted empty or wiped)', registers })),
    jobRuns: make(() => new Counter({ name: 'ntf_job_runs_total', help: 'Job runs by job and result (ok, failed, busy, done)', labelNames: ['job', 'result'], registers })),
    jobDuration: make(() => new Histogram({ name: 'ntf_job_run_duration_seconds', help: 'Duration of job runs that did the work', labelNames: ['job'], buckets: SECONDS_JOB, registers })),
    cacheHits: make(() => new Counter({ name: 'ntf_cache_hits_total', help: 'Cache hits by part and level (l1, l2, joined)', labelNames: ['part', 'level'], registers })),
    cacheMisses: make(() => new Counter({ name: 'ntf_cache_misses_total', help: 'Cache misses (computed here) by part', labelNames: ['part'], registers })),
    operationLabel: (name) => (name ? operation(name) : 'anonymous'),
    errorLabel: (c) => (typeof c === 'string' ? code(c) : 'NO_CODE'),
    onScrape(fn) {
      scrapeHooks.push(fn);
    },
    async render() {
      await Promise.all(scrapeHooks.map((fn) => fn()));
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
