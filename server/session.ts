import type Koa from 'koa';
import session from 'koa-session';
import type { PendingLogin } from './oidc/client.ts';

export const SESSION_COOKIE = 'koa-oidc-sso';
const SESSION_MAX_AGE_MS = 12 * 60 * 60_000;

/** What the session cookie holds: the id_token after sign-in, the one-time values during it. */
export interface SessionData {
  idToken?: string;
  login?: PendingLogin;
}

declare module 'koa' {
  interface DefaultContext {
    session: (SessionData & { [key: string]: unknown }) | null;
  }
}

/** Signed, httpOnly, SameSite=Lax cookie sessions; Secure when the public URL is https. */
export function sessionMiddleware(app: Koa, options: { secure: boolean }): Koa.Middleware {
  return session(
    {
      key: SESSION_COOKIE,
      maxAge: SESSION_MAX_AGE_MS,
      httpOnly: true,
      signed: true,
      sameSite: 'lax',
      secure: options.secure,
      overwrite: true,
      rolling: false,
      renew: false,
    },
    app,
  );
}
