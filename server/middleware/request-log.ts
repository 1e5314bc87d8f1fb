import type { Middleware } from 'koa';
import type { Logger } from '../logger.ts';

/** One line per request: method, path (never the query: it carries codes and state), status, duration. */
export function requestLog(logger: Logger): Middleware {
  // Request lines are at info: below that level this step costs nothing at all.
  if (!logger.isLevelEnabled('info')) return (_ctx, next) => next();
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      logger.info({
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    }
  };
}
