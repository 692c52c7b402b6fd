/**
 * What a benchmark scenario is, plus small printing helpers shared by scenarios.
 * A scenario lives in its own file (bench/<name>.ts) and is listed in bench/index.ts.
 */
import type { BenchRedis } from './redis-server.js';

export interface OptionSpec {
  /** 'int': a positive integer, checked by index.ts before any Redis is started */
  type: 'string' | 'boolean' | 'int';
  /** shown in the usage text */
  description: string;
  default?: string | boolean | number;
}

/** Option values by name: 'int' options as numbers. */
export type ParsedOptions = Record<string, string | boolean | number | undefined>;

export interface ScenarioContext {
  /** The bench Redis (private server or BENCH_REDIS_URL) and the run's key prefix. */
  redis: BenchRedis;
  /** Parsed `--name value` / `--flag` options, as declared in `options`. */
  options: ParsedOptions;
}

export interface Scenario {
  name: string;
  /** one line for the scenario list */
  summary: string;
  options: Record<string, OptionSpec>;
  run(ctx: ScenarioContext): Promise<void>;
}

/** An 'int' option's value, or the fallback when absent. */
export function intOption(options: ParsedOptions, name: string, fallback: number): number {
  const v = options[name];
  return typeof v === 'number' ? v : fallback;
}

/** Parses an 'int' option's raw text: a positive integer ("100000", "100_000", "1e5"). */
export function parsePositiveInt(name: string, raw: string): number {
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return n;
}

/** Bad command-line input: index.ts prints the message and the usage, exits 1. */
export class UsageError extends Error {}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const seconds = (s: number) => (s >= 10 ? `${s.toFixed(1)} s` : s >= 0.1 ? `${s.toFixed(3)} s` : `${s.toFixed(5)} s`);
export const perSecond = (n: number) => (n >= 1e7 ? `${n.toExponential(2)}/s` : `${int(n)}/s`);
export const bytes = (b: number) => (Math.abs(b) >= 100 ? `${int(b)} B` : `${b.toFixed(2)} B`);
export const ms = (v: number) => `${v.toFixed(1)} ms`;

/** Prints aligned "label  value" rows under a heading. */
export function section(title: string, rows: [string, string][]): void {
  console.log(`\n== ${title}`);
  const width = Math.max(...rows.map(([l]) => l.length));
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

/** Runs `work(i)` for i in [0, n) with at most `inFlight` calls pending at once. */
export async function pool(n: number, inFlight: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
}
