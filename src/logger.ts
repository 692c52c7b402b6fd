/** Process logger: pino, JSON lines on stdout (pipe through pino-pretty locally if you want colours). */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * Creates the root logger. Child loggers (`logger.child({ module: 'x' })`) share its stream.
 *
 * Authorization headers and anything named token/secret/password are redacted,
 * so logging a request or a config object never leaks credentials.
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'authorization',
        'token',
        'jwtSecret',
        'password',
        '*.token',
        '*.jwtSecret',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
