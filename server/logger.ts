import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; tokens, cookies and authorization headers are never logged. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['*.authorization', '*.cookie', '*.idToken', '*.token'], censor: '[redacted]' },
  });
}
