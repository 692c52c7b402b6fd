/**
 * Start-up failures as one line each: the cause and the setting to change (docs/configuration.md,
 * "Start-up errors"). main.ts prints the line on stderr and exits 1; the stack follows only at
 * LOG_LEVEL=debug or trace, since an operator needs the setting, not our call chain.
 */
import type { Redis } from 'ioredis';
import { ConfigError, redactUrl } from './config.js';

/** A start-up failure whose message already names the cause and the setting to change. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** How long start-up waits for Redis to answer PING before giving up. */
export const REDIS_STARTUP_TIMEOUT_MS = 5000;

/** Explains a failed `server.listen()`. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): StartupError {
  const options = { cause: err };
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(`Port ${port} is already in use on ${host}: set PORT to a free port, or stop the process that holds it`, options);
    case 'EACCES':
      return new StartupError(`Not allowed to listen on port ${port} (ports below 1024 need privileges): set PORT to 1024 or above`, options);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`Cannot listen on HOST ${host}: it is not an address of this machine; set HOST (0.0.0.0: every interface, 127.0.0.1: local only)`, options);
    default:
      return new StartupError(`Cannot listen on ${host}:${port} (${err.code ?? err.message}): check PORT and HOST`, options);
  }
}

/**
 * Start-up's bounded connection check: every connection must answer PING within
 * {@link REDIS_STARTUP_TIMEOUT_MS}. Later outages are different: the server keeps running and
 * `/readyz` reports them.
 * @throws {@link StartupError} naming REDIS_URL and what went wrong (refused, unknown host, auth).
 */
export async function checkRedis(connections: Redis[], url: string, timeoutMs = REDIS_STARTUP_TIMEOUT_MS): Promise<void> {
  // ioredis reports the cause (ECONNREFUSED, ENOTFOUND, WRONGPASS) as 'error' events; PING itself
  // only fails with "max retries reached" or not at all.
  let cause: Error | undefined;
  const onError = (err: Error) => (cause = err);
  for (const c of connections) c.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([Promise.all(connections.map((c) => c.ping())), timeout]);
    if (outcome !== 'timeout') return;
  } catch (err) {
    cause ??= err as Error;
  } finally {
    clearTimeout(timer);
    for (const c of connections) c.off('error', onError);
  }
  const where = redactUrl(url);
  const hint = 'check REDIS_URL and that Redis runs there, or unset REDIS_URL for the memory backend';
  throw new StartupError(
    cause ? `Cannot reach Redis at ${where} (${cause.message}): ${hint}` : `Redis at ${where} did not answer PING within ${timeoutMs / 1000} s: ${hint}`,
    { cause },
  );
}

/** One line on stderr (the stack too when `debug`), then exit code 1. */
export function exitOnStartupFailure(err: unknown, debug: boolean): never {
  const line = err instanceof StartupError || err instanceof ConfigError ? err.message : `Start-up failed: ${err instanceof Error ? err.message : String(err)}`;
  console.error(line);
  if (debug) console.error(err); // the stack, and the cause's
  process.exit(1);
}
