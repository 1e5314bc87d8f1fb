import type { Context } from 'koa';
import { ROUTES } from '../../shared/constants.ts';
import type { Logger } from '../logger.ts';

const DEV_IDP_PREFIX = `${ROUTES.devIdp}/`;
/** The development IdP's sign-in URLs carry the interaction id, which is also its cookie's value. */
const INTERACTION_PATH = new RegExp(`^(${ROUTES.devIdp}/(?:auth|interaction))/[^/]+`);

/** The path as logged: the development IdP's interaction ids left out. */
export function loggedPath(path: string): string {
  return path.startsWith(DEV_IDP_PREFIX) ? path.replace(INTERACTION_PATH, '$1/:uid') : path;
}

/** One line per request: method, path (never the query: it carries codes and state), status, duration. */
export function logRequest(logger: Logger, ctx: Context, startedMs: number): void {
  logger.info({
    method: ctx.method,
    path: loggedPath(ctx.path),
    status: ctx.status,
    ms: Math.round((performance.now() - startedMs) * 10) / 10,
  });
}
