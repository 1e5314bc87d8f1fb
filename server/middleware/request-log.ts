import type { Context } from 'koa';
import onExit from 'on-exit-leak-free';
import { ROUTES } from '../../shared/constants.ts';
import type { Logger } from '../logger.ts';

const DEV_IDP_PREFIX = `${ROUTES.devIdp}/`;
/** The development IdP's sign-in URLs carry the interaction id, which is also its cookie's value. */
const INTERACTION_PATH = new RegExp(`^(${ROUTES.devIdp}/(?:auth|interaction))/[^/]+`);

/** The path as logged: the development IdP's interaction ids left out. */
export function loggedPath(path: string): string {
  return path.startsWith(DEV_IDP_PREFIX) ? path.replace(INTERACTION_PATH, '$1/:uid') : path;
}

/** What a request line holds: method, path (never the query: it carries codes and state), status, duration. */
interface RequestLine {
  method: string;
  path: string;
  status: number;
  ms: number;
}

/**
 * One line per request, logged at info. A turn of the event loop's lines go to the logger together,
 * at its end: a busy server then runs pino for 40 lines in a row instead of once between every two
 * requests, which cuts what a line costs by about a third (`BENCH_REQUEST_LINES=1 npm run bench`:
 * 8.5-9.2 against 12.6-14.9 µs of CPU a request). So a line's `time` is the end of its turn; `ms` is
 * the request's own. Lines still waiting at exit are logged then.
 * @returns the function that logs a finished request, given when it started (performance.now()).
 */
export function requestLog(logger: Logger): (ctx: Context, startedMs: number) => void {
  let pending: RequestLine[] = [];
  const logPending = () => {
    const lines = pending;
    pending = [];
    for (const line of lines) logger.info(line);
  };
  const log = (ctx: Context, startedMs: number) => {
    pending.push({
      method: ctx.method,
      path: loggedPath(ctx.path),
      status: ctx.status,
      ms: Math.round((performance.now() - startedMs) * 10) / 10,
    });
    if (pending.length === 1) setImmediate(logPending);
  };
  onExit.register(log, logPending);
  return log;
}
