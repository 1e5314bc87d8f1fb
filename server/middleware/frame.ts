import type { Middleware } from 'koa';
import { SsoError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isValidHost, REPEATED, singletonHeader } from '../request-headers.ts';
import { isUnrouted, notFound, respondWithError } from './errors.ts';
import { requestLog } from './request-log.ts';

export interface FrameOptions {
  /** Mark cookies Secure whatever the connection says (an https PUBLIC_URL: TLS may end at a proxy). */
  secureCookies: boolean;
}

/**
 * What every request gets, in one middleware rather than three (one async step per request
 * instead of three): the nosniff header (pages add their CSP), a 400 for a repeated or malformed
 * Host header (RFC 9112 3.2), typed errors turned into responses, and the request's log line with
 * the final status.
 */
export function requestFrame(logger: Logger, options: FrameOptions): Middleware {
  const logRequest = requestLog(logger);
  return async (ctx, next) => {
    // Request lines are at info: below that level they cost nothing at all. Asked per request,
    // so a level changed at run time (as `npm run bench` does) takes effect at once.
    const logRequests = logger.isLevelEnabled('info');
    const startedMs = logRequests ? performance.now() : 0;
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (options.secureCookies) ctx.cookies.secure = true;
    try {
      const host = singletonHeader(ctx.req.rawHeaders, 'host');
      if (host === REPEATED) throw new SsoError('invalid_request', 'The request has more than one Host header');
      if (!isValidHost(host)) throw new SsoError('invalid_request', 'The Host header is not a host name or address with an optional port');
      await next();
      if (isUnrouted(ctx)) throw notFound(ctx);
    } catch (thrown) {
      respondWithError(ctx, thrown, logger);
    } finally {
      if (logRequests) logRequest(ctx, startedMs);
    }
  };
}
