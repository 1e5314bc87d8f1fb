import { createHmac } from 'node:crypto';
import test from 'ava';
import { got } from 'got';
import type { PendingLogin } from '../../server/oidc/client.ts';
import { fitted, MAX_PENDING_LOGINS, replacedByPendingLogin, SESSION_COOKIE, sessionCookieName, withPendingLogin, type SessionData } from '../../server/session.ts';
import { TEST_CLIENT_ID } from '../helpers/idp.ts';
import { startIdpAndServer, TEST_SESSION_KEY } from '../helpers/server.ts';

/** The Set-Cookie header koa-session writes for this session (base64 JSON plus its expiry fields). */
function cookieLength(session: SessionData): number {
  const value = Buffer.from(JSON.stringify({ ...session, _expire: Date.now() + 43_200_000, _maxAge: 43_200_000 })).toString('base64');
  // The longer name, under https.
  return `${sessionCookieName(true)}=${value}; path=/; expires=Sat, 28 Nov 2026 16:18:45 GMT; samesite=lax; secure; httponly`.length;
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

test('a new sign-in keeps the signed-in token and the sign-ins in progress, or says something would have to go', (t) => {
  const token = 'x'.repeat(2000);
  const starting = pending('/short');
  const others = [pending('/a'), pending('/b')];
  t.deepEqual(withPendingLogin({ idToken: token, logins: others }, starting), { idToken: token, logins: [...others, starting] });

  // Too large together, or one sign-in too many: nothing is dropped here.
  t.is(withPendingLogin({ idToken: 'x'.repeat(2500) }, pending('/'.padEnd(512, 'p'))), undefined);
  t.is(withPendingLogin({ logins: [...others, pending('/c')] }, starting), undefined);
});

test('a sign-in that replaces what is in the way drops the oldest sign-in beyond 3, then the token and older sign-ins only as size forces', (t) => {
  const long = pending('/'.padEnd(512, 'p'));
  const other = pending('/other');
  t.deepEqual(replacedByPendingLogin({ idToken: 'x'.repeat(2500), logins: [other] }, long), { logins: [other, long] });
  const three = [pending('/a'), pending('/b'), pending('/c')];
  t.deepEqual(replacedByPendingLogin({ logins: three }, long), { logins: [three[1], three[2], long] });
  // Only the count is in the way: the token stays, the oldest sign-in goes.
  const fourth = pending('/d');
  t.deepEqual(replacedByPendingLogin({ idToken: 'x'.repeat(1000), logins: three }, fourth), { idToken: 'x'.repeat(1000), logins: [three[1], three[2], fourth] });
  // A sign-in that cannot fit even alone is refused.
  t.is(replacedByPendingLogin({}, pending('/'.padEnd(3000, 'p'))), undefined);
});

/**
 * A session cookie signed with the test servers' key, as koa-session and keygrip write one:
 * `content` with koa-session's expiry fields (which it may override), or JSON text as it is.
 */
function signedSessionCookie(content: object | string): string {
  const json = typeof content === 'string' ? content : JSON.stringify({ _expire: Date.now() + 60_000, _maxAge: 60_000, ...content });
  const value = Buffer.from(json).toString('base64');
  const signature = createHmac('sha1', TEST_SESSION_KEY).update(`${SESSION_COOKIE}=${value}`).digest('base64url');
  return `${SESSION_COOKIE}=${value}; ${SESSION_COOKIE}.sig=${signature}`;
}

test('a signed session of another shape is ignored like a missing one: never a 500', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const http = got.extend({ throwHttpErrors: false, followRedirect: false, retry: { limit: 0 } });
  const inAMinute = Date.now() + 60_000;
  const shapes: Array<object | string> = [
    { logins: 'x' },
    { logins: [null] },
    { logins: [{}] },
    { logins: [{ state: 5 }] },
    { idToken: 123 },
    { idToken: {} },
    { idToken: 'a.b.c', _expire: 'tomorrow' }, // koa-session would never expire it
    { idToken: 'a.b.c', _maxAge: 'x' },
    { idToken: 'a.b.c', extra: true },
    // An own __proto__ key would replace the prototype of koa-session's Session object.
    `{"__proto__":{"idToken":"a.b.c"},"_expire":${inAMinute},"_maxAge":60000}`,
  ];
  for (const shape of shapes) {
    const cookie = signedSessionCookie(shape);
    const what = typeof shape === 'string' ? shape : JSON.stringify(shape);
    t.is((await http.get(`${server.url}/login`, { headers: { cookie } })).statusCode, 302, what);
    t.is((await http.get(`${server.url}/callback?code=c&state=s`, { headers: { cookie } })).statusCode, 400, what);
    t.is((await http.get(`${server.url}/user/token`, { headers: { cookie } })).statusCode, 401, what);
    t.is((await http.get(`${server.url}/user/me`, { headers: { cookie } })).statusCode, 401, what);
  }
  // The cookies above were read, not refused for their signature: a well-formed one is used.
  const now = Math.floor(Date.now() / 1000);
  const idToken = idp.sign({ iss: idp.issuer, sub: 'u', aud: TEST_CLIENT_ID, iat: now, exp: now + 600 });
  const wellFormed = await http.get(`${server.url}/user/token`, { headers: { cookie: signedSessionCookie({ idToken }) } });
  t.is(wellFormed.statusCode, 200);
  t.is(wellFormed.body, idToken);
});

test('a session signed with an older key is written again whole: both cookies keep their expiry and SameSite, signed with the first key', async (t) => {
  const newKey = 'a-brand-new-session-key-0123456789abcdef';
  const { idp, server } = await startIdpAndServer(t, { SESSION_KEYS: `${newKey},${TEST_SESSION_KEY}` });
  const now = Math.floor(Date.now() / 1000);
  const idToken = idp.sign({ iss: idp.issuer, sub: 'u', aud: TEST_CLIENT_ID, iat: now, exp: now + 600 });
  const response = await got(`${server.url}/user/token`, { headers: { cookie: signedSessionCookie({ idToken }) }, throwHttpErrors: false });
  t.is(response.statusCode, 200);
  t.is(response.body, idToken);

  const written = new Map((response.headers['set-cookie'] ?? []).map((line) => [line.slice(0, line.indexOf('=')), line]));
  t.deepEqual([...written.keys()].sort(), [SESSION_COOKIE, `${SESSION_COOKIE}.sig`]);
  for (const line of written.values()) {
    t.regex(line, /; expires=[^;]+GMT;/, line);
    t.regex(line, /; samesite=lax;/, line);
    t.regex(line, /; httponly$/, line);
  }
  const value = /^[^=]+=([^;]+)/.exec(written.get(SESSION_COOKIE)!)![1]!;
  const signature = /^[^=]+=([^;]+)/.exec(written.get(`${SESSION_COOKIE}.sig`)!)![1]!;
  t.is(signature, createHmac('sha1', newKey).update(`${SESSION_COOKIE}=${value}`).digest('base64url'));
  t.is(JSON.parse(Buffer.from(value, 'base64').toString()).idToken, idToken);

  // Signed with the first key already: nothing to write again.
  const current = await got(`${server.url}/user/token`, { headers: { cookie: `${SESSION_COOKIE}=${value}; ${SESSION_COOKIE}.sig=${signature}` }, throwHttpErrors: false });
  t.is(current.statusCode, 200);
  t.is(current.headers['set-cookie'], undefined);
});
