import Router from '@koa/router';
import { ROUTES } from '../../shared/constants.ts';
import { SsoError } from '../errors.ts';
import { verifySession } from '../middleware/authenticate.ts';
import type { TokenVerifier } from '../oidc/verify.ts';

/**
 * Set as a header rather than with `ctx.type = 'text/plain'`: Koa's type setter looks the type up
 * in mime-db on every response, which measured about 3 µs a request on /user/id (`npm run bench`).
 */
const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** GET /user/token: the session's id_token, to its owner only (session cookie, never a Bearer header). */
export function tokenRoute(verifier: TokenVerifier): Router {
  const router = new Router();
  router.get(ROUTES.userToken, async (ctx) => {
    const session = await verifySession(ctx, verifier);
    if (!session) throw new SsoError('unauthenticated', 'No session: sign in at /login first');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', TEXT_PLAIN);
    ctx.body = session.idToken;
  });
  return router;
}

/** The routes that need a verified user (authenticate() runs before them). */
export function userRoutes(): Router {
  const router = new Router();
  router.get(ROUTES.userId, (ctx) => {
    const claims = ctx.state.user?.claims;
    const email = claims?.email;
    if (typeof email !== 'string' || !email) {
      throw new SsoError('not_found', 'The token has no email claim: the identity provider put none in the id_token (is "email" among OIDC_SCOPES, and does the IdP release it?)');
    }
    // An address the IdP marks unverified must not stand for who the user is. Some IdPs never
    // send email_verified (Entra ID): their addresses are taken as the IdP's word (README).
    if (claims?.email_verified === false) {
      throw new SsoError('email_not_verified', 'The identity provider says this email address is not verified');
    }
    // Personal data, answered per token or session: no cache keeps it.
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', TEXT_PLAIN);
    ctx.body = email;
  });
  router.get(ROUTES.userMe, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = ctx.state.user?.claims;
  });
  return router;
}
