import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { IdTokenClaims } from '../../shared/claims.ts';
import { ROUTES } from '../../shared/constants.ts';
import { SsoError } from '../errors.ts';
import type { OidcClient, PendingLogin } from '../oidc/client.ts';
import type { Discovery } from '../oidc/discovery.ts';
import type { TokenVerifier } from '../oidc/verify.ts';
import { loginConfirmPage, loginSuccessPage, logoutConfirmPage, logoutPage, sendPage } from '../pages.ts';
import { fitted, replacedByPendingLogin, withPendingLogin } from '../session.ts';
import { parseReturnTo } from './return-to.ts';

/** How long a sign-in may take between /login and /callback. */
const LOGIN_TIMEOUT_MS = 15 * 60_000;
const MAX_PARAM_LENGTH = 4096;

export interface AuthRoutesOptions {
  oidc: OidcClient;
  discovery: Discovery;
  verifier: TokenVerifier;
  clientId: string;
  publicUrl: URL;
  now?: () => number;
}

/** One string query parameter; repeated or oversized parameters are refused. */
function queryParam(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new SsoError('invalid_request', `The ${name} parameter must appear once`);
  if (value.length > MAX_PARAM_LENGTH) throw new SsoError('invalid_request', `The ${name} parameter is too long`);
  return value;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The sign-in this browser started that the callback's state names (RFC 6749 10.12, RFC 9700 4.7).
 * A reply with an unknown state leaves the pending sign-ins alone, so a forged reply cannot cancel one.
 * With none pending, the likeliest cause besides a stale tab is a sign-in started at another
 * address (127.0.0.1 where PUBLIC_URL says localhost): its cookie belongs to that other host.
 */
function pendingLoginFor(logins: PendingLogin[], state: string | undefined, loginUrl: string): PendingLogin {
  if (logins.length === 0) {
    throw new SsoError(
      'login_state_mismatch',
      `This sign-in was not started in this browser, or it was already completed, or it was started at another address. Please start again at ${loginUrl}`,
    );
  }
  const login = state === undefined ? undefined : logins.find((candidate) => sameSecret(candidate.state, state));
  if (!login) {
    throw new SsoError(
      'login_state_mismatch',
      `This sign-in reply does not match a sign-in this browser started (state mismatch). Please start again at ${loginUrl}: a sign-in started at another address cannot finish here`,
    );
  }
  return login;
}

/**
 * Whether the request may not be the user's own doing: Lax cookies go along with a top-level GET
 * from anywhere, so any site's link or redirect could otherwise sign a user out.
 * - A prefetch or prerender (`Sec-Purpose`) is no visit yet: browsers prerender what the user
 *   may be about to open.
 * - Fetch Metadata (`Sec-Fetch-Site`) says whether another site sent the browser; same-site
 *   counts as another: a sibling subdomain is not this server.
 * - Browsers send it to https and localhost only. Elsewhere, a Referer of another origin still
 *   tells, unless that site hides it. With neither (the login helper, curl), the request is
 *   taken as the user's own.
 * @see https://www.w3.org/TR/fetch-metadata/
 */
function notTheUsersOwnVisit(ctx: Context, origin: string): boolean {
  if (ctx.get('Sec-Purpose')) return true;
  const site = ctx.get('Sec-Fetch-Site');
  if (site) return site === 'cross-site' || site === 'same-site';
  const referer = URL.parse(ctx.get('Referer'));
  return referer !== null && referer.origin !== origin;
}

/** The /login URL that starts the same sign-in again. */
function loginPathFor(returnTo: string | undefined): string {
  return returnTo ? `${ROUTES.login}?${new URLSearchParams({ return_to: returnTo })}` : ROUTES.login;
}

/**
 * Who signed in, as the success page names them: the email when it may stand for the user (as at
 * /user/id: present and not marked unverified), else the name, else the subject identifier.
 */
export function displayName(claims: IdTokenClaims): string {
  if (claims.email && claims.email_verified !== false) return claims.email;
  return claims.name || claims.sub;
}

/** GET /login, /callback and /logout: the authorization-code flow and RP-initiated logout. */
export function authRoutes(options: AuthRoutesOptions): Router {
  const { oidc, discovery, verifier, clientId, publicUrl, now = Date.now } = options;
  const router = new Router();
  const loginUrl = new URL(ROUTES.login, publicUrl).href;
  const noStore = async (ctx: Context, next: () => Promise<unknown>) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    await next();
  };

  router.get(ROUTES.login, noStore, async (ctx) => {
    const returnTo = parseReturnTo(ctx.query.return_to, publicUrl.origin);
    const { authorizationUrl, pending } = await oidc.startLogin(returnTo);
    if (ctx.session) {
      const current = { ...ctx.session, logins: (ctx.session.logins ?? []).filter((login) => now() - login.startedAt < LOGIN_TIMEOUT_MS) };
      const kept = withPendingLogin(current, pending);
      const session = kept ?? replacedByPendingLogin(current, pending);
      // Never send the browser to the IdP with a sign-in its callback cannot find.
      if (!session) throw new SsoError('invalid_request', 'This sign-in is too large to keep in the session cookie (a shorter return_to?)');
      // Making room signs the user out or ends another tab's sign-in: not at another site's word.
      if (!kept && notTheUsersOwnVisit(ctx, publicUrl.origin)) {
        const signsOut = current.idToken !== undefined && session.idToken === undefined;
        const endedSignIns = current.logins.filter((login) => !session.logins?.includes(login)).length;
        sendPage(ctx, loginConfirmPage(loginPathFor(returnTo), { signsOut, endedSignIns }));
        return;
      }
      ctx.session = session;
    }
    ctx.redirect(authorizationUrl);
  });

  router.get(ROUTES.callback, noStore, async (ctx) => {
    const logins = ctx.session?.logins ?? [];
    const login = pendingLoginFor(logins, queryParam(ctx, 'state'), loginUrl);
    // Its one-time values are used up by this reply, whatever its outcome. A token another tab's
    // sign-in has stored since stays: a sign-in that fails signs nobody out.
    const others = logins.filter((candidate) => candidate !== login);
    const signedIn = ctx.session?.idToken;
    ctx.session = signedIn || others.length > 0 ? { ...(signedIn ? { idToken: signedIn } : {}), logins: others } : null;
    if (now() - login.startedAt > LOGIN_TIMEOUT_MS) throw new SsoError('login_state_mismatch', 'The sign-in took too long. Please start again.');

    // RFC 9207: the iss parameter, where the provider sends it, names the provider we asked (mix-up defence).
    const document = await discovery.get();
    const iss = queryParam(ctx, 'iss');
    if (iss === undefined && document.authorization_response_iss_parameter_supported) {
      throw new SsoError('login_state_mismatch', 'The sign-in reply lacks the iss parameter its identity provider promises (RFC 9207)');
    }
    if (iss !== undefined && iss !== document.issuer) {
      throw new SsoError('login_state_mismatch', 'The sign-in reply comes from another identity provider (iss mismatch)');
    }
    const idpError = queryParam(ctx, 'error');
    if (idpError !== undefined) {
      const description = queryParam(ctx, 'error_description');
      // RFC 6749 4.1.2.1: error is required, but an IdP that sends it empty has still refused.
      const reason = [idpError, description && `(${description})`].filter(Boolean).join(' ') || 'it gave no reason';
      throw new SsoError('idp_error_reply', `The identity provider did not sign you in: ${reason}`);
    }
    const code = queryParam(ctx, 'code');
    if (!code) throw new SsoError('invalid_request', 'The sign-in reply has no authorization code');

    const idToken = await oidc.exchangeCode(code, login);
    const session = fitted({ idToken, logins: others });
    if (!session) {
      throw new SsoError('invalid_id_token', `The identity provider's id_token (${idToken.length} bytes) is too large for a session cookie: request fewer claims (OIDC_SCOPES)`);
    }
    let claims;
    try {
      claims = await verifier.verify(idToken, { nonce: login.nonce, fromTokenEndpoint: true });
    } catch (error) {
      if (error instanceof SsoError && error.code === 'invalid_token') {
        throw new SsoError('invalid_id_token', `The identity provider's id_token was rejected: ${error.message}`, { cause: error });
      }
      throw error;
    }

    ctx.session = session;
    if (login.returnTo) {
      ctx.status = 303;
      ctx.redirect(login.returnTo);
      return;
    }
    sendPage(ctx, loginSuccessPage(displayName(claims)));
  });

  router.get(ROUTES.logout, noStore, async (ctx) => {
    const idToken = ctx.session?.idToken;
    // Another site's link changes nothing: a signed-in user is asked, sign-ins in progress stay.
    if (notTheUsersOwnVisit(ctx, publicUrl.origin)) {
      sendPage(ctx, idToken ? logoutConfirmPage() : logoutPage());
      return;
    }
    ctx.session = null;
    const document = idToken ? await discovery.get().catch(() => undefined) : undefined;
    if (idToken && document?.end_session_endpoint) {
      // OpenID Connect RP-Initiated Logout 1.0, section 2; the IdP sends the browser back here.
      const endSession = new URL(document.end_session_endpoint);
      endSession.searchParams.set('id_token_hint', idToken);
      endSession.searchParams.set('client_id', clientId);
      endSession.searchParams.set('post_logout_redirect_uri', new URL(ROUTES.logout, publicUrl).href);
      ctx.redirect(endSession.href);
      return;
    }
    sendPage(ctx, logoutPage());
  });

  return router;
}
