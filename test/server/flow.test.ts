import test from 'ava';
import { TEST_IDS } from '../../shared/constants.ts';
import { continueSignIn, cookieClient, signIn } from '../helpers/browserless-login.ts';
import { TEST_CLIENT_ID } from '../helpers/idp.ts';
import { startIdpAndServer } from '../helpers/server.ts';

const marker = (testId: string) => `data-testid="${testId}"`;

test('signs in through the IdP and serves the token, the email and the claims', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const { http } = cookieClient();

  const callback = await signIn(server.url, 'Ada@Example.com', { http, name: 'Ada Lovelace' });
  t.is(callback.statusCode, 200);
  t.regex(callback.body, new RegExp(`${marker(TEST_IDS.loginSuccess)}[^<]*<strong>ada@example.com</strong>`));

  const token = await http.get(`${server.url}/user/token`);
  t.is(token.statusCode, 200);
  t.is(token.headers['content-type'], 'text/plain; charset=utf-8');
  t.is(token.headers['cache-control'], 'no-store');
  const idToken = token.body;
  t.is(idToken.split('.').length, 3);

  // The token works without any cookie, as a Bearer token.
  const bare = cookieClient().http;
  const id = await bare.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${idToken}` } });
  t.is(id.statusCode, 200);
  t.is(id.body, 'ada@example.com');
  t.is(id.headers['content-type'], 'text/plain; charset=utf-8');
  t.is(id.headers['x-content-type-options'], 'nosniff');
  t.is(id.headers['cache-control'], 'no-store');
  const lowercaseScheme = await bare.get(`${server.url}/user/id`, { headers: { authorization: `bearer ${idToken}` } });
  t.is(lowercaseScheme.body, 'ada@example.com');

  const me = await http.get(`${server.url}/user/me`).json<Record<string, unknown>>();
  t.is(me.email, 'ada@example.com');
  t.is(me.name, 'Ada Lovelace');
  t.is(me.iss, idp.issuer);
  t.is(me.aud, TEST_CLIENT_ID);
});

test('sends state, nonce and an S256 PKCE challenge to the authorization endpoint', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const { http } = cookieClient();

  const login = await http.get(`${server.url}/login`, { followRedirect: false });
  t.is(login.statusCode, 302);
  const authorize = new URL(login.headers.location ?? '');
  t.is(`${authorize.origin}${authorize.pathname}`, `${idp.issuer}/auth`);
  const params = authorize.searchParams;
  t.is(params.get('response_type'), 'code');
  t.is(params.get('client_id'), TEST_CLIENT_ID);
  t.is(params.get('redirect_uri'), `${server.url}/callback`);
  t.is(params.get('scope'), 'openid profile email');
  t.is(params.get('code_challenge_method'), 'S256');
  t.regex(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.regex(params.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.regex(params.get('nonce') ?? '', /^[A-Za-z0-9_-]{43}$/);

  const again = await http.get(`${server.url}/login`, { followRedirect: false });
  const second = new URL(again.headers.location ?? '').searchParams;
  t.not(second.get('state'), params.get('state'));
  t.not(second.get('nonce'), params.get('nonce'));
  t.not(second.get('code_challenge'), params.get('code_challenge'));
});

test('the session cookie is httpOnly, SameSite=Lax and signed', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();

  const login = await http.get(`${server.url}/login`, { followRedirect: false });
  const cookies = login.headers['set-cookie'] ?? [];
  const session = cookies.find((cookie) => cookie.startsWith('koa-oidc-sso='));
  t.truthy(session);
  t.regex(session ?? '', /httponly/i);
  t.regex(session ?? '', /samesite=lax/i);
  t.true(cookies.some((cookie) => cookie.startsWith('koa-oidc-sso.sig=')));
  t.notRegex(session ?? '', /secure/i, 'plain http: no Secure flag');
});

test('a signed-in browser reaches protected routes with its session cookie alone', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'grace@example.com', { http });

  const id = await http.get(`${server.url}/user/id`);
  t.is(id.statusCode, 200);
  t.is(id.body, 'grace@example.com');
});

test('return_to brings the browser back to the page it came from', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();

  const landed = await signIn(server.url, 'linus@example.com', { http, loginPath: '/login?return_to=%2Fuser%2Fme%3Fview%3Dfull' });
  t.is(landed.statusCode, 200);
  t.is(new URL(landed.url).pathname + new URL(landed.url).search, '/user/me?view=full');
  t.is(JSON.parse(landed.body).email, 'linus@example.com');
});

test('a second sign-in with the same browser needs no form: the IdP remembers it', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'barbara@example.com', { http });

  const again = await http.get(`${server.url}/login`);
  t.is(again.statusCode, 200);
  t.true(again.url.startsWith(`${server.url}/callback`));
  t.true(again.body.includes(marker(TEST_IDS.loginSuccess)));
});

test('logout clears the session and ends the IdP session (RP-initiated logout)', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'margaret@example.com', { http });
  const idToken = (await http.get(`${server.url}/user/token`)).body;

  const logout = await http.get(`${server.url}/logout`, { followRedirect: false });
  t.is(logout.statusCode, 302);
  const endSession = new URL(logout.headers.location ?? '');
  t.is(`${endSession.origin}${endSession.pathname}`, `${idp.issuer}/session/end`);
  t.is(endSession.searchParams.get('id_token_hint'), idToken);
  t.is(endSession.searchParams.get('post_logout_redirect_uri'), `${server.url}/logout`);

  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
  t.is((await http.get(`${server.url}/user/id`)).statusCode, 401);

  // Back from the IdP, /logout without a session shows the signed-out page.
  const landing = await http.get(`${server.url}/logout`);
  t.is(landing.statusCode, 200);
  t.true(landing.body.includes(marker(TEST_IDS.logoutSuccess)));
});

test('another site cannot sign a user out: /logout it sends the browser to asks first (Fetch Metadata)', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'grace@example.com', { http });

  const anotherSite = [
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    // The address bar prerendering what the user may be about to open: no visit yet.
    { 'sec-fetch-site': 'none', 'sec-purpose': 'prefetch;prerender' },
    // No Fetch Metadata (plain http at another address), but a Referer of another origin.
    { referer: 'http://elsewhere.example/page' },
  ];
  for (const headers of anotherSite) {
    const what = JSON.stringify(headers);
    const asked = await http.get(`${server.url}/logout`, { followRedirect: false, headers });
    t.is(asked.statusCode, 200, what);
    t.regex(asked.body, new RegExp(`${marker(TEST_IDS.logoutConfirm)} href="/logout"`), what);
    t.false(asked.body.includes(marker(TEST_IDS.logoutSuccess)), what);
    t.is((await http.get(`${server.url}/user/token`)).statusCode, 200, `${what}: still signed in`);
  }

  // The confirmation's link is a same-origin navigation: it signs out.
  const confirmed = await http.get(`${server.url}/logout`, { followRedirect: false, headers: { 'sec-fetch-site': 'same-origin' } });
  t.is(confirmed.statusCode, 302);
  t.true(confirmed.headers.location?.startsWith(`${idp.issuer}/session/end`));
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);

  // Back from the IdP (another site), with nothing left to sign out: the signed-out page.
  const landing = await http.get(`${server.url}/logout`, { headers: { 'sec-fetch-site': 'cross-site' } });
  t.true(landing.body.includes(marker(TEST_IDS.logoutSuccess)));
});

test('starting a sign-in keeps the signed-in token until the new one completes, then replaces it', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'hedy@example.com', { http });
  const before = (await http.get(`${server.url}/user/token`)).body;

  // Another site's link starts a sign-in (everything still fits in the cookie): the token stays meanwhile.
  const started = await http.get(`${server.url}/login`, { followRedirect: false, headers: { 'sec-fetch-site': 'cross-site' } });
  t.is(started.statusCode, 302);
  t.is((await http.get(`${server.url}/user/token`)).body, before);

  // The IdP remembers the browser and answers at once: the new sign-in's token replaces the old one.
  const completed = await http.get(started.headers.location ?? '');
  t.true(completed.body.includes(marker(TEST_IDS.loginSuccess)));
  const after = await http.get(`${server.url}/user/token`);
  t.is(after.statusCode, 200);
  t.not(after.body, before);
});

test('a 4th sign-in another site starts asks first; started here, it ends the oldest and keeps the token', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'ida@example.com', { http });
  const token = (await http.get(`${server.url}/user/token`)).body;
  // Three sign-ins in progress (tabs) fill the session.
  for (let tab = 0; tab < 3; tab++) t.is((await http.get(`${server.url}/login`, { followRedirect: false })).statusCode, 302);

  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { referer: 'http://elsewhere.example/page' }]) {
    const asked = await http.get(`${server.url}/login?return_to=/user/me`, { followRedirect: false, headers });
    t.is(asked.statusCode, 200, JSON.stringify(headers));
    t.true(asked.body.includes(`${marker(TEST_IDS.loginConfirm)} href="/login?return_to=%2Fuser%2Fme"`), asked.body);
    t.regex(asked.body, /Starting it ends a sign-in you started in another tab\./);
    t.is(asked.headers['set-cookie'], undefined, 'the session is left as it was');
  }

  // The page's link is a same-origin navigation: the oldest sign-in in progress makes room.
  const confirmed = await http.get(`${server.url}/login?return_to=/user/me`, { followRedirect: false, headers: { 'sec-fetch-site': 'same-origin' } });
  t.is(confirmed.statusCode, 302);
  t.is((await http.get(`${server.url}/user/token`)).body, token, 'still signed in');
});

test('a sign-in another site starts that would not fit beside the token asks first; started here, it replaces the token', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'ida@example.com', { http });
  const longPath = `/user/me?${'p'.repeat(500)}`;
  for (let tab = 0; tab < 2; tab++) t.is((await http.get(`${server.url}/login`, { searchParams: { return_to: longPath }, followRedirect: false })).statusCode, 302);

  const asked = await http.get(`${server.url}/login`, { searchParams: { return_to: longPath }, followRedirect: false, headers: { 'sec-fetch-site': 'cross-site' } });
  t.is(asked.statusCode, 200);
  t.regex(asked.body, /Starting it signs you out here until it completes\./);
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 200);

  const confirmed = await http.get(`${server.url}/login`, { searchParams: { return_to: longPath }, followRedirect: false, headers: { 'sec-fetch-site': 'same-origin' } });
  t.is(confirmed.statusCode, 302);
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
});

test('a /logout another site sends leaves sign-ins in progress alone', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const started = await http.get(`${server.url}/login`, { followRedirect: false });

  const landing = await http.get(`${server.url}/logout`, { headers: { 'sec-fetch-site': 'cross-site' } });
  t.true(landing.body.includes(marker(TEST_IDS.logoutSuccess)));
  t.is(landing.headers['set-cookie'], undefined);

  const completed = await continueSignIn(http, started.headers.location ?? '', 'joan@example.com');
  t.true(completed.body.includes(marker(TEST_IDS.loginSuccess)), completed.body.slice(0, 300));
});

test('/user/token is 401 without a session, even with a valid Bearer token', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await signIn(server.url, 'ken@example.com', { http });
  const idToken = (await http.get(`${server.url}/user/token`)).body;

  const other = cookieClient().http;
  const response = await other.get(`${server.url}/user/token`, { headers: { authorization: `Bearer ${idToken}` } });
  t.is(response.statusCode, 401);
  t.is(response.headers['www-authenticate'], 'Bearer realm="koa-oidc-sso"');
});

test('health and readiness', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();

  const health = await http.get(`${server.url}/healthz`);
  t.is(health.statusCode, 200);
  const ready = await http.get(`${server.url}/readyz`);
  t.is(ready.statusCode, 200);
  t.deepEqual(JSON.parse(ready.body), { status: 'ready' });
});

test('an https PUBLIC_URL makes the session cookie Secure; TRUST_PROXY honours X-Forwarded-Proto', async (t) => {
  const { server } = await startIdpAndServer(t, { PUBLIC_URL: 'https://sso.example.com', TRUST_PROXY: 'true' });
  const { http } = cookieClient();
  const login = await http.get(`${server.address}/login`, { followRedirect: false, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'sso.example.com' } });
  t.is(login.statusCode, 302);
  t.is(new URL(login.headers.location ?? '').searchParams.get('redirect_uri'), 'https://sso.example.com/callback');
  const cookies = login.headers['set-cookie'] ?? [];
  // Under https, the __Host- prefix: only this host's secure pages can set it (no sibling subdomain).
  t.false(cookies.some((cookie) => cookie.startsWith('koa-oidc-sso')), cookies.join('\n'));
  for (const name of ['__Host-koa-oidc-sso=', '__Host-koa-oidc-sso.sig=']) {
    const cookie = cookies.find((candidate) => candidate.startsWith(name)) ?? '';
    t.regex(cookie, /; path=\/;/, name);
    t.regex(cookie, /; secure/i, name);
    t.notRegex(cookie, /domain=/i, name);
  }

  // Behind a proxy that TRUST_PROXY does not cover, the https PUBLIC_URL still makes the cookie Secure.
  const { server: untrusting } = await startIdpAndServer(t, { PUBLIC_URL: 'https://sso.example.com' });
  const plain = await http.get(`${untrusting.address}/login`, { followRedirect: false });
  t.is(plain.statusCode, 302);
  t.regex((plain.headers['set-cookie'] ?? []).find((cookie) => cookie.startsWith('__Host-koa-oidc-sso=')) ?? '', /; secure/i);
});
