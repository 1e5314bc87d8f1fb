import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout. Nothing logged carries a token, a cookie or a header: requests are
 * logged by method, path and status only, and errors by our own messages, which never quote tokens.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined });
}
