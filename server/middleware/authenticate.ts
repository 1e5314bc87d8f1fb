import type { Context, Middleware } from 'koa';
import type { IdTokenClaims } from '../../shared/claims.ts';
import { SsoError } from '../errors.ts';
import type { TokenVerifier } from '../oidc/verify.ts';
import { REPEATED, singletonHeader } from '../request-headers.ts';

/** Who made the request, once authenticate() has let it through. */
export interface AuthenticatedUser {
  claims: IdTokenClaims;
  /** Where the token came from. */
  source: 'bearer' | 'session';
}

declare module 'koa' {
  interface DefaultState {
    user?: AuthenticatedUser;
  }
}

/** An Authorization header of the Bearer scheme (any case), well-formed or not. */
const BEARER_SCHEME = /^Bearer(?:\s|$)/i;
/** RFC 6750 2.1: `Bearer`, one or more spaces, the token. */
const BEARER_PREFIX = /^Bearer +/i;

/**
 * The token of an `Authorization: Bearer` header; undefined when the request has no such header.
 * The token's own syntax (RFC 6750 b64token, here a compact JWS) is the verifier's to check.
 * @throws SsoError invalid_token when the header says Bearer but carries no token, or when the
 *   request has more than one Authorization header (a malformed header is a 401, like any other).
 */
export function bearerToken(ctx: Context): string | undefined {
  // Counted even when the first is empty: Node keeps that one, and a second could go unseen.
  const header = singletonHeader(ctx.req.rawHeaders, 'authorization');
  if (header === undefined) return undefined;
  if (header === REPEATED) throw new SsoError('invalid_token', 'The request has more than one Authorization header');
  if (!BEARER_SCHEME.test(header)) return undefined;
  const prefix = BEARER_PREFIX.exec(header);
  const token = prefix ? header.slice(prefix[0].length).trimEnd() : '';
  if (!token) throw new SsoError('invalid_token', 'The Authorization header is not of the form "Bearer <token>"');
  return token;
}

/**
 * Requires a valid id_token from `Authorization: Bearer` or, failing that, from the session,
 * verified exactly as at sign-in (minus the nonce); puts the claims on ctx.state.user.
 * A Bearer request never touches the session: `session` (the cookie middleware) runs only for
 * requests without one, around the rest of the chain.
 */
export function authenticate(verifier: TokenVerifier, session: Middleware): Middleware {
  const authenticateBySession: Middleware = async (ctx, next) => {
    const signedIn = await verifySession(ctx, verifier);
    if (!signedIn) {
      // Another scheme (Basic, a bare JWT) is no Bearer token: say so rather than only "sign in".
      const other = ctx.headers.authorization ? 'The Authorization header is not of the Bearer scheme. ' : '';
      throw new SsoError('unauthenticated', `${other}Sign in first: send "Authorization: Bearer <id_token>" or sign in at /login`);
    }
    ctx.state.user = { claims: signedIn.claims, source: 'session' };
    return next();
  };
  return (ctx, next) => {
    const presented = bearerToken(ctx);
    if (presented === undefined) return session(ctx, () => authenticateBySession(ctx, next));
    // Most requests carry a token verified moments ago: answered without waiting on a promise.
    const remembered = verifier.remembered(presented);
    if (remembered) {
      ctx.state.user = { claims: remembered, source: 'bearer' };
      return next();
    }
    return verifier.verify(presented).then((claims) => {
      ctx.state.user = { claims, source: 'bearer' };
      return next();
    });
  };
}

/**
 * The session's id_token and its verified claims; undefined without one.
 * A session whose token no longer verifies (expired, key rotated away) is cleared.
 */
export async function verifySession(ctx: Context, verifier: TokenVerifier): Promise<{ idToken: string; claims: IdTokenClaims } | undefined> {
  const idToken = ctx.session?.idToken;
  if (!idToken) return undefined;
  try {
    return { idToken, claims: await verifier.verify(idToken) };
  } catch (error) {
    if (error instanceof SsoError && error.code === 'invalid_token') {
      ctx.session = null;
      throw new SsoError('invalid_token', 'Your session has expired: sign in again at /login', { cause: error });
    }
    throw error;
  }
}
