import type { Context } from 'koa';
import { SsoError, type ErrorCode } from '../errors.ts';
import { loggableError, type Logger } from '../logger.ts';
import { loginErrorPage, sendPage } from '../pages.ts';
import { loggedPath } from './request-log.ts';

export const REALM = 'koa-oidc-sso';

const TITLES: Record<number, string> = {
  400: 'Sign-in failed',
  401: 'Sign-in required',
  404: 'Not found',
  502: 'Identity provider error',
  503: 'Identity provider unavailable',
};

/** RFC 6750 3: error_description may hold only %x20-21 / %x23-5B / %x5D-7E. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/** Errors thrown by Koa and its helpers (ctx.throw, body parsers) carry status and expose. */
function toSsoError(error: unknown): SsoError {
  if (error instanceof SsoError) return error;
  const candidate = error as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof candidate?.status === 'number' && candidate.status >= 400 && candidate.status < 500 && candidate.expose) {
    return new SsoError('invalid_request', String(candidate.message), { cause: error, status: candidate.status });
  }
  return new SsoError('internal', 'Internal server error', { cause: error });
}

function wantsHtml(ctx: Context): boolean {
  return ctx.accepts('json', 'html') === 'html';
}

/** Koa leaves an unrouted request at 404 with no body: it gets the same error response as any other. */
export function isUnrouted(ctx: Context): boolean {
  return ctx.status === 404 && ctx.body === undefined;
}

export function notFound(ctx: Context): SsoError {
  // The path as requested: inside a mounted app (the development IdP), ctx.path lacks the mount's prefix.
  return new SsoError('not_found', `No route for ${ctx.method} ${ctx.originalUrl.replace(/[?#].*/s, '')}`);
}

/** 5xx errors that report the identity provider's state (logged as warnings, without stacks). */
const OPERATIONAL: ReadonlySet<ErrorCode> = new Set(['idp_unavailable', 'invalid_id_token']);

/**
 * The one place that turns errors into responses: JSON with RFC 6750 headers for API clients,
 * a page with the login-error marker for browsers. 5xx details are logged, never shown.
 */
export function respondWithError(ctx: Context, thrown: unknown, logger: Logger): void {
  const error = toSsoError(thrown);
  if (OPERATIONAL.has(error.code)) {
    // The IdP down or answering garbage is the IdP's state, not a bug here: what failed, no stacks.
    logger.warn({ err: loggableError(thrown, { stack: false }), path: loggedPath(ctx.path) }, error.message);
  } else if (error.status >= 500) {
    logger.error({ err: loggableError(thrown), path: loggedPath(ctx.path) }, error.message);
  }
  const message = error.expose ? error.message : 'Something went wrong on the server. Please try again later.';

  ctx.status = error.status;
  ctx.set('Cache-Control', 'no-store');
  if (error.status === 401) {
    // RFC 6750 3.1: no error attribute when the request carried no token.
    const challenge =
      error.code === 'invalid_token'
        ? `Bearer realm="${REALM}", error="invalid_token", error_description="${quotable(message)}"`
        : `Bearer realm="${REALM}"`;
    ctx.set('WWW-Authenticate', challenge);
  }
  if (wantsHtml(ctx)) {
    sendPage(ctx, loginErrorPage(TITLES[error.status] ?? 'Error', message));
  } else {
    ctx.body = { error: error.code, error_description: message };
  }
}
