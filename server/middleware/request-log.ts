import type { Context } from 'koa';
import type { Logger } from '../logger.ts';

/** One line per request: method, path (never the query: it carries codes and state), status, duration. */
export function logRequest(logger: Logger, ctx: Context, startedMs: number): void {
  logger.info({
    method: ctx.method,
    path: ctx.path,
    status: ctx.status,
    ms: Math.round((performance.now() - startedMs) * 10) / 10,
  });
}
