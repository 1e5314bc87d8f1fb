import test from 'ava';
import type { PendingLogin } from '../../server/oidc/client.ts';
import { fitted, MAX_PENDING_LOGINS, SESSION_COOKIE, type SessionData } from '../../server/session.ts';

/** The Set-Cookie header koa-session writes for this session (base64 JSON plus its expiry fields). */
function cookieLength(session: SessionData): number {
  const value = Buffer.from(JSON.stringify({ ...session, _expire: Date.now() + 43_200_000, _maxAge: 43_200_000 })).toString('base64');
  return `${SESSION_COOKIE}=${value}; path=/; expires=Sat, 28 Nov 2026 16:18:45 GMT; samesite=lax; secure; httponly`.length;
}

const pending = (returnTo: string): PendingLogin => ({
  state: 's'.repeat(43),
  nonce: 'n'.repeat(43),
  codeVerifier: 'v'.repeat(43),
  returnTo,
  startedAt: Date.now(),
});

test('the largest id_token accepted still fits in one cookie', (t) => {
  const session = fitted({ idToken: 'x'.repeat(2800) });
  t.truthy(session);
  t.true(cookieLength(session!) <= 4096, String(cookieLength(session!)));
});

test('an id_token too large for a cookie is refused rather than silently dropped by the browser', (t) => {
  t.is(fitted({ idToken: 'x'.repeat(2900) }), undefined);
});

test('pending sign-ins with long return_to paths are dropped, oldest first, until the cookie fits', (t) => {
  const logins = Array.from({ length: 5 }, (_, index) => pending(`/${index}`.padEnd(512, 'p')));
  const session = fitted({ idToken: 'x'.repeat(2000), logins });
  t.truthy(session);
  t.true(cookieLength(session!) <= 4096);
  t.true((session!.logins?.length ?? 0) < MAX_PENDING_LOGINS);
  t.is(session!.logins?.at(-1), logins.at(-1), 'the newest sign-in is kept');

  const many = fitted({ logins: Array.from({ length: 5 }, () => pending('/short')) });
  t.is(many?.logins?.length, MAX_PENDING_LOGINS);
});
