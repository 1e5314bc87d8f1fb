import Keygrip from 'keygrip';
import type Koa from 'koa';
import session from 'koa-session';
import { z } from 'zod';
import type { PendingLogin } from './oidc/client.ts';

export const SESSION_COOKIE = 'koa-oidc-sso';

/**
 * The session cookie's name. Under https it carries the `__Host-` prefix: browsers then take it
 * only from a secure page of this very host, for path / and without a Domain, so a sibling
 * subdomain (or a plain-http page) cannot plant a session that would be read as this server's
 * (RFC 6265bis 4.1.3.2; OWASP's session management cheat sheet). Plain http cannot have it.
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

const SESSION_MAX_AGE_MS = 12 * 60 * 60_000;

/** What the session cookie holds: the id_token after sign-in, the one-time values during it. */
export interface SessionData {
  idToken?: string;
  /** Sign-ins started in this browser and not finished yet (several tabs), oldest first. */
  logins?: PendingLogin[];
}

/**
 * The shape a session must have to be used at all. A signed cookie of another shape (an older
 * version of this server, or another application sharing SESSION_KEYS) is ignored, as a
 * missing one is: the routes can trust what they read. Strict: an unknown key such as
 * `__proto__` would reach koa-session's Session object. koa-session checks `_expire` only when
 * it is a number, so it must be one: a session that never expires is not one this server wrote.
 */
const sessionSchema = z.strictObject({
  idToken: z.string().optional(),
  logins: z
    .array(
      z.strictObject({
        state: z.string(),
        nonce: z.string(),
        codeVerifier: z.string(),
        returnTo: z.string().optional(),
        startedAt: z.number(),
      }),
    )
    .optional(),
  _expire: z.number(),
  _maxAge: z.number().positive(),
});

/** Whether a signed session cookie's content has the shape this server writes. */
export function isWellFormedSession(value: unknown): boolean {
  return sessionSchema.safeParse(value).success;
}

/** At most this many sign-ins wait for their callback at once; older ones are dropped. */
export const MAX_PENDING_LOGINS = 3;

/**
 * Browsers drop cookies over 4096 bytes. The cookie carries the session as base64 JSON (4/3 of
 * its length) plus koa-session's expiry fields and the cookie's name and attributes.
 */
export const MAX_SESSION_JSON_LENGTH = 2850;

/** Whether this session still fits in one cookie. */
export function fitsInCookie(session: SessionData): boolean {
  return JSON.stringify(session).length <= MAX_SESSION_JSON_LENGTH;
}

/**
 * The session to store: the given one, minus the oldest pending sign-ins while it would not fit.
 * @returns undefined when it does not fit even without them.
 */
export function fitted(session: SessionData): SessionData | undefined {
  const logins = [...(session.logins ?? [])].slice(-MAX_PENDING_LOGINS);
  for (;;) {
    const candidate: SessionData = { ...session, logins };
    if (logins.length === 0) delete candidate.logins;
    if (fitsInCookie(candidate)) return candidate;
    if (logins.length === 0) return undefined;
    logins.shift();
  }
}

/**
 * The session once a sign-in starts, when nothing has to go to make room: the signed-in token
 * stays until the new sign-in completes, and so do the sign-ins in progress in other tabs.
 * @returns undefined when the token or another sign-in would have to be dropped.
 */
export function withPendingLogin(session: SessionData, pending: PendingLogin): SessionData | undefined {
  const logins = [...(session.logins ?? []), pending];
  const candidate: SessionData = { ...(session.idToken ? { idToken: session.idToken } : {}), logins };
  return logins.length <= MAX_PENDING_LOGINS && fitsInCookie(candidate) ? candidate : undefined;
}

/**
 * The session for a sign-in that replaces what is in the way: `pending` and the newest sign-ins in
 * progress (at most MAX_PENDING_LOGINS), with the signed-in token while it still fits; when it
 * does not, without it (the new sign-in replaces it) and then without the oldest sign-ins.
 * @returns undefined when `pending` does not fit even alone: its callback could never find it.
 */
export function replacedByPendingLogin(session: SessionData, pending: PendingLogin): SessionData | undefined {
  const logins = [...(session.logins ?? []), pending].slice(-MAX_PENDING_LOGINS);
  const withToken: SessionData | undefined = session.idToken ? { idToken: session.idToken, logins } : undefined;
  if (withToken && fitsInCookie(withToken)) return withToken;
  const candidate = fitted({ logins });
  return candidate?.logins?.includes(pending) ? candidate : undefined;
}

declare module 'koa' {
  interface DefaultContext {
    session: SessionData | null;
  }
}

/**
 * Whether the request's session cookie is signed with a key after the first in SESSION_KEYS (a
 * key being rotated out). The cookies library then re-signs it with the first key, but writes
 * only the `.sig` cookie and with none of the session cookie's attributes: no expiry (gone when
 * the browser closes, and with it the sign-in), no SameSite.
 */
function signedWithOlderKey(ctx: Koa.Context, name: string, keys: Keygrip): boolean {
  const value = ctx.cookies.get(name, { signed: false });
  const signature = ctx.cookies.get(`${name}.sig`, { signed: false });
  return Boolean(value && signature && keys.index(`${name}=${value}`, signature) > 0);
}

/**
 * Signed, httpOnly, SameSite=Lax cookie sessions; Secure when the public URL is https.
 * `keys` are the application's cookie keys (SESSION_KEYS), first one signing.
 */
export function sessionMiddleware(app: Koa, options: { secure: boolean; keys: readonly string[] }): Koa.Middleware {
  const name = sessionCookieName(options.secure);
  // The cookies library's own signer, over the same keys: it tells which key signed a cookie.
  const keys = new Keygrip([...options.keys]);
  const cookieSession = session(
    {
      key: name,
      maxAge: SESSION_MAX_AGE_MS,
      httpOnly: true,
      signed: true,
      sameSite: 'lax',
      secure: options.secure,
      overwrite: true,
      rolling: false,
      renew: false,
      valid: (_ctx: unknown, value: unknown) => isWellFormedSession(value),
    },
    app,
  );
  return (ctx, next) =>
    cookieSession(ctx, async () => {
      // Saved again as a whole, both cookies with all their attributes (and a renewed expiry).
      const loaded = signedWithOlderKey(ctx, name, keys) ? (ctx.session as { isNew?: boolean; save?: () => Promise<void> } | null) : null;
      if (loaded && !loaded.isNew) await loaded.save?.();
      return next();
    });
}
