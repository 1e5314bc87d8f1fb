import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import test from 'ava';
import got from 'got';
import type { CookieJar } from 'tough-cookie';
import { toCookieJar, toToughCookie, type BrowserCookie } from '../../login-helper/cookies.ts';

/** A cookie as Puppeteer reports it; session cookie on '/' unless told otherwise. */
function browserCookie(fields: Partial<BrowserCookie> & Pick<BrowserCookie, 'name' | 'domain'>): BrowserCookie {
  const expires = fields.expires ?? -1;
  return { value: 'v', path: '/', httpOnly: false, secure: false, size: 1, session: expires < 0, ...fields, expires };
}

// Every name resolves to the local echo server, so domain rules can be tested with real host names.
const toLoopback = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

let echo: Server;
let port: number;

test.before(async () => {
  echo = createServer((request, response) => response.end(request.headers.cookie ?? ''));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  port = (echo.address() as AddressInfo).port;
});

test.after.always(() => new Promise<void>((resolve) => echo.close(() => resolve())));

/** The Cookie header got sends from `jar` to host:port/path, as the echo server saw it. */
async function sent(jar: CookieJar, host: string, path = '/'): Promise<string> {
  return got(`http://${host}:${port}${path}`, { cookieJar: jar, dnsLookup: toLoopback, retry: { limit: 0 } }).text();
}

test('a host-only cookie goes back to its host only, a leading-dot domain cookie to subdomains too', async (t) => {
  const jar = await toCookieJar(
    [browserCookie({ name: 'host', domain: 'sso.test' }), browserCookie({ name: 'domain', domain: '.sso.test' })],
    'http://sso.test',
  );
  t.is(await sent(jar, 'sso.test'), 'host=v; domain=v');
  t.is(await sent(jar, 'api.sso.test'), 'domain=v');
});

test('session cookies (expires -1) and future cookies are kept, expired ones are not sent', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const jar = await toCookieJar(
    [
      browserCookie({ name: 'session', domain: '127.0.0.1' }),
      browserCookie({ name: 'later', domain: '127.0.0.1', expires: now + 3600 }),
      browserCookie({ name: 'gone', domain: '127.0.0.1', expires: now - 3600 }),
    ],
    'http://127.0.0.1:5000',
  );
  t.is(await sent(jar, '127.0.0.1'), 'session=v; later=v');
});

test('localhost and 127.0.0.1 are different hosts', async (t) => {
  const cookies = [browserCookie({ name: 'a', domain: 'localhost' }), browserCookie({ name: 'b', domain: '127.0.0.1' })];
  t.is(await sent(await toCookieJar(cookies, 'http://localhost:5000'), 'localhost'), 'a=v');
  t.is(await sent(await toCookieJar(cookies, 'http://127.0.0.1:5000'), '127.0.0.1'), 'b=v');
});

test('a Secure cookie is not sent over plain http to a remote host', async (t) => {
  const jar = await toCookieJar(
    [browserCookie({ name: 'secure', domain: 'sso.test', secure: true }), browserCookie({ name: 'plain', domain: 'sso.test' })],
    'http://sso.test',
  );
  t.is(await sent(jar, 'sso.test'), 'plain=v');
});

test('a Secure cookie goes to http://localhost, which Chromium treats as a secure context too', async (t) => {
  const jar = await toCookieJar([browserCookie({ name: 'secure', domain: 'localhost', secure: true })], 'http://localhost:5000');
  t.is(await sent(jar, 'localhost'), 'secure=v');
});

test('cookies keep their path scope', async (t) => {
  const jar = await toCookieJar(
    [browserCookie({ name: 'root', domain: 'localhost' }), browserCookie({ name: 'user', domain: 'localhost', path: '/user' })],
    'http://localhost:5000',
  );
  t.is(await sent(jar, 'localhost', '/user/token'), 'user=v; root=v');
  t.is(await sent(jar, 'localhost', '/username'), 'root=v');
  t.is(await sent(jar, 'localhost', '/'), 'root=v');
});

test("cookies of other hosts (the IdP's) stay out of the jar", async (t) => {
  const jar = await toCookieJar(
    [browserCookie({ name: 'idp', domain: 'idp.example' }), browserCookie({ name: 'parent', domain: '.example' }), browserCookie({ name: 'ours', domain: 'sso.test' })],
    'http://sso.test',
  );
  t.deepEqual((await jar.getCookies('http://idp.example/')).map((cookie) => cookie.key), []);
  t.is(await sent(jar, 'sso.test'), 'ours=v');
});

test('httpOnly, sameSite and the expiry date carry over', (t) => {
  const cookie = toToughCookie(browserCookie({ name: 'sid', domain: '.sso.test', httpOnly: true, sameSite: 'Strict', expires: 2_000_000_000 }));
  t.like(cookie, { key: 'sid', domain: 'sso.test', hostOnly: false, httpOnly: true, sameSite: 'strict' });
  t.deepEqual(cookie.expires, new Date(2_000_000_000_000));
  t.is(toToughCookie(browserCookie({ name: 'sid', domain: 'sso.test', sameSite: 'Default' })).sameSite, undefined);
});

test("an https server's __Host- session cookie is kept and sent back over https", async (t) => {
  const cookies = ['__Host-koa-oidc-sso', '__Host-koa-oidc-sso.sig'].map((name) => browserCookie({ name, domain: 'sso.test', secure: true, httpOnly: true }));
  const jar = await toCookieJar(cookies, 'https://sso.test');
  t.is(await jar.getCookieString('https://sso.test/user/token'), '__Host-koa-oidc-sso=v; __Host-koa-oidc-sso.sig=v');
});
