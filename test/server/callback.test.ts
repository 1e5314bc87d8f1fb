import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { TEST_IDS } from '../../shared/constants.ts';
import { displayName } from '../../server/routes/auth.ts';
import { callbackUrlFor, cookieClient, signIn } from '../helpers/browserless-login.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { startIdp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type TestIdp } from '../helpers/idp.ts';
import { startIdpAndServer, startServerWithIdp } from '../helpers/server.ts';
import { movableClock } from '../helpers/verification.ts';

const errorMarker = `data-testid="${TEST_IDS.loginError}"`;
const html = { headers: { accept: 'text/html' } };


test('a callback whose state does not match is refused and stores nothing', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const callback = await callbackUrlFor(server.url, 'eve@example.com', http);
  const state = callback.searchParams.get('state') ?? '';
  callback.searchParams.set('state', 'forged-state');

  const response = await http.get(callback, html);
  t.is(response.statusCode, 400);
  t.true(response.body.includes(errorMarker));
  t.true(response.body.includes(`state mismatch). Please start again at ${server.url}/login: a sign-in started at another address cannot finish here`));
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);

  // A forged reply cannot cancel the sign-in: the genuine reply still completes it.
  const genuine = await http.get(callback.href.replace('state=forged-state', `state=${encodeURIComponent(state)}`), html);
  t.is(genuine.statusCode, 200);
  t.true(genuine.body.includes(`data-testid="${TEST_IDS.loginSuccess}"`));
});

test('two sign-ins started in two tabs both complete', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const first = await callbackUrlFor(server.url, 'tabs@example.com', http);
  const second = await callbackUrlFor(server.url, 'tabs@example.com', http);
  t.not(first.searchParams.get('state'), second.searchParams.get('state'));
  t.is((await http.get(first, html)).statusCode, 200);
  t.is((await http.get(second, html)).statusCode, 200);
  t.is((await http.get(`${server.url}/user/id`)).body, 'tabs@example.com');
});

test("a sign-in that fails in one tab keeps the token another tab's sign-in has just stored", async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const first = await callbackUrlFor(server.url, 'tabs@example.com', http);
  const second = await callbackUrlFor(server.url, 'tabs@example.com', http);
  t.is((await http.get(first, html)).statusCode, 200);
  const cancelled = new URL(`${server.url}/callback`);
  cancelled.searchParams.set('error', 'access_denied');
  cancelled.searchParams.set('state', second.searchParams.get('state') ?? '');
  cancelled.searchParams.set('iss', second.searchParams.get('iss') ?? '');
  t.is((await http.get(cancelled, html)).statusCode, 400);
  t.is((await http.get(`${server.url}/user/id`)).body, 'tabs@example.com');
  // The failed sign-in's one-time values are gone all the same.
  t.is((await http.get(second, html)).statusCode, 400);
});

test('an IdP error reply with a state this browser did not send is refused without showing its text', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  await http.get(`${server.url}/login`, { followRedirect: false });
  const response = await http.get(`${server.url}/callback?error=access_denied&error_description=Call+support+at+555&state=forged`, html);
  t.is(response.statusCode, 400);
  t.regex(response.body, /state mismatch/);
  t.false(response.body.includes('Call support'));
});

test('a callback in another browser (no sign-in started there) is refused', async (t) => {
  const { server } = await startIdpAndServer(t);
  const callback = await callbackUrlFor(server.url, 'eve@example.com', cookieClient().http);
  const otherBrowser = cookieClient().http;
  const response = await otherBrowser.get(callback, html);
  t.is(response.statusCode, 400);
  t.regex(response.body, new RegExp(`not started in this browser.*Please start again at ${server.url}/login`));
  t.is((await otherBrowser.get(`${server.url}/user/token`)).statusCode, 401);
});

test('a callback URL works once: replaying it is refused', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const callback = await callbackUrlFor(server.url, 'ivan@example.com', http);
  const first = await http.get(callback, html);
  t.is(first.statusCode, 200);
  t.true(first.body.includes(`data-testid="${TEST_IDS.loginSuccess}"`));
  const replay = await http.get(callback, html);
  t.is(replay.statusCode, 400);
  t.true(replay.body.includes(errorMarker));
});

test('an iss parameter naming another provider is refused (RFC 9207 mix-up defence)', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const callback = await callbackUrlFor(server.url, 'ivan@example.com', http);
  t.truthy(callback.searchParams.get('iss'), 'oidc-provider sends iss');
  callback.searchParams.set('iss', 'https://attacker.example.com');
  const response = await http.get(callback, html);
  t.is(response.statusCode, 400);
  t.regex(response.body, /another identity provider/);
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
});

test('a reply without the iss parameter its IdP promises is refused (RFC 9207 2.4)', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const callback = await callbackUrlFor(server.url, 'ines@example.com', http);
  callback.searchParams.delete('iss');
  const response = await http.get(callback, html);
  t.is(response.statusCode, 400);
  t.regex(response.body, /lacks the iss parameter its identity provider promises/);
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
});

test('an IdP error reply shows an escaped message on the error page', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const login = await http.get(`${server.url}/login`, { followRedirect: false });
  const state = new URL(login.headers.location ?? '').searchParams.get('state') ?? '';
  const callback = new URL(`${server.url}/callback`);
  callback.searchParams.set('error', 'access_denied');
  callback.searchParams.set('error_description', '<script>alert("owned")</script>');
  callback.searchParams.set('state', state);
  callback.searchParams.set('iss', idp.issuer);

  const response = await http.get(callback, html);
  t.is(response.statusCode, 400);
  t.true(response.body.includes(errorMarker));
  t.true(response.body.includes('access_denied'));
  t.false(response.body.includes('<script>'));
  t.true(response.body.includes('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;'));
  t.regex(String(response.headers['content-security-policy']), /default-src 'none'/);
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
});

test('an IdP error reply with an empty error still says the IdP refused, and why it cannot tell', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const login = await http.get(`${server.url}/login`, { followRedirect: false });
  const state = new URL(login.headers.location ?? '').searchParams.get('state') ?? '';

  const response = await http.get(`${server.url}/callback?error=&state=${state}&iss=${encodeURIComponent(idp.issuer)}`, html);
  t.is(response.statusCode, 400);
  t.true(response.body.includes(errorMarker));
  t.true(response.body.includes('The identity provider did not sign you in: it gave no reason'));
});

test('a callback without a code, or with repeated parameters, is a 400', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const callback = await callbackUrlFor(server.url, 'ivan@example.com', http);
  const noCode = new URL(callback);
  noCode.searchParams.delete('code');
  t.is((await http.get(noCode, html)).statusCode, 400);

  const again = await callbackUrlFor(server.url, 'ivan@example.com', http);
  const repeated = new URL(again);
  repeated.searchParams.append('state', 'second');
  const response = await http.get(repeated, html);
  t.is(response.statusCode, 400);
  t.true(response.body.includes(errorMarker));
});

test('an authorization code the IdP refuses is a clear 400', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  const callback = await callbackUrlFor(server.url, 'ivan@example.com', http);
  callback.searchParams.set('code', 'not-a-real-code');
  const response = await http.get(callback, html);
  t.is(response.statusCode, 400);
  t.regex(response.body, /refused the sign-in \(invalid_grant/);
});

const openRedirects = ['//evil.example.com', 'https://evil.example.com/', '/\\evil.example.com', 'evil.example.com', '/\r\nSet-Cookie:x=y', 'javascript:alert(1)', '/..//evil.example.com', '/%2e%2e//evil.example.com'];

test('return_to accepts same-origin relative paths only (no open redirect)', async (t) => {
  const { server } = await startIdpAndServer(t);
  const { http } = cookieClient();
  for (const target of openRedirects) {
    const response = await http.get(`${server.url}/login`, { searchParams: { return_to: target }, followRedirect: false, ...html });
    t.is(response.statusCode, 400, target);
    t.true(response.body.includes(errorMarker), target);
    t.is(response.headers.location, undefined, target);
  }
  const twice = await http.get(`${server.url}/login?return_to=/a&return_to=/b`, { followRedirect: false });
  t.is(twice.statusCode, 400);
});

/** A server on a standing clock whose IdP is down from the start (`idp.start()` brings it back). */
async function serverWhoseIdpIsDown(t: ExecutionContext) {
  const idp: TestIdp = await startIdp();
  t.teardown(() => idp.close());
  await idp.stop();
  const clock = movableClock();
  const server = await startServerWithIdp(idp, {}, { now: clock.now });
  t.teardown(() => server.close());
  return { idp, server, clock, http: cookieClient().http };
}

test('the IdP down: 503 page while unreachable, and the server recovers by itself', async (t) => {
  const { idp, server, clock, http } = await serverWhoseIdpIsDown(t);

  const down = await http.get(`${server.url}/login`, { followRedirect: false, ...html });
  t.is(down.statusCode, 503);
  t.true(down.body.includes(errorMarker));
  t.regex(down.body, /discovery document .* could not be fetched/);
  t.is((await http.get(`${server.url}/readyz`)).statusCode, 503);

  // A flood meanwhile is answered from the failure that stands, not passed on to the IdP.
  for (let attempt = 0; attempt < 20; attempt++) t.is((await http.get(`${server.url}/login`, { followRedirect: false })).statusCode, 503);
  t.is(server.idpRequests.filter(({ kind }) => kind === 'discovery').length, 1);

  await idp.start();
  clock.advance(30); // the longest a failed first fetch stands
  const back = await signIn(server.url, 'ruth@example.com', { http });
  t.is(back.statusCode, 200);
  t.true(back.body.includes(`data-testid="${TEST_IDS.loginSuccess}"`));
});

test('once /readyz sees the IdP back, sign-in works at once, not when the failure it remembers runs out', async (t) => {
  const { idp, server, clock, http } = await serverWhoseIdpIsDown(t);
  const login = () => http.get(`${server.url}/login`, { followRedirect: false });

  // Four failures in a row: the last one stands for 8 s.
  for (const waitSec of [1, 2, 4]) {
    t.is((await login()).statusCode, 503);
    clock.advance(waitSec);
  }
  t.is((await login()).statusCode, 503);
  t.is((await http.get(`${server.url}/readyz`)).statusCode, 503);

  await idp.start();
  clock.advance(5); // past /readyz's probe interval, not past the 8 s
  t.is((await login()).statusCode, 503, 'the failure still stands');
  t.is((await http.get(`${server.url}/readyz`)).statusCode, 200);
  t.is((await login()).statusCode, 302);
});

test('an IdP answering garbage: discovery that is not JSON is a 503 page', async (t) => {
  const garbage = await startFakeHttp((_request, response) => {
    response.setHeader('content-type', 'text/html');
    response.end('<html>maintenance</html>');
  });
  t.teardown(() => garbage.close());
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, { OIDC_ISSUER: '', OIDC_WELL_KNOWN_URL: `${garbage.url}/.well-known/openid-configuration` });
  t.teardown(() => server.close());

  const response = await cookieClient().http.get(`${server.url}/login`, { followRedirect: false, ...html });
  t.is(response.statusCode, 503);
  t.true(response.body.includes(errorMarker));
  t.regex(response.body, /could not be fetched \(HTTP 200 but not JSON: text\/html\)/);
  const ready = await cookieClient().http.get(`${server.url}/readyz`);
  t.is(ready.statusCode, 503);
  t.regex(JSON.parse(ready.body).reason, /discovery document .* could not be fetched \(HTTP 200 but not JSON: text\/html\)/);
});

/** A fake IdP whose discovery document names its own endpoints; `answerJwks` answers its /jwks. */
function startFakeIdp(answerJwks: (response: ServerResponse) => void) {
  return startFakeHttp((request, response) => {
    const base = `http://${request.headers.host}`;
    response.setHeader('content-type', 'application/json');
    if (request.url === '/jwks') return answerJwks(response);
    response.end(JSON.stringify({ issuer: base, authorization_endpoint: `${base}/auth`, token_endpoint: `${base}/token`, jwks_uri: `${base}/jwks` }));
  });
}

/** The /readyz answer of a server configured with OIDC_ISSUER=`issuer` (the real IdP only registers its client). */
async function readinessWith(t: ExecutionContext, issuer: string): Promise<{ statusCode: number; reason: string }> {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, { OIDC_ISSUER: issuer });
  t.teardown(() => server.close());
  const ready = await cookieClient().http.get(`${server.url}/readyz`);
  return { statusCode: ready.statusCode, reason: String(JSON.parse(ready.body).reason) };
}

test('readiness fails for keys sign-in could not use', async (t) => {
  const broken = await startFakeIdp((response) => response.end('{"keys":"x"}'));
  t.teardown(() => broken.close());
  const ready = await readinessWith(t, broken.url);
  t.is(ready.statusCode, 503);
  t.regex(ready.reason, /signing keys .* could not be loaded/);
});

test('an IdP reply over 1 MB is cut off and refused: a JWKS that never ends, a discovery document announcing 2 MB', async (t) => {
  let jwksBytesSent = 0;
  const endless = await startFakeIdp((response) => {
    // Chunked, no Content-Length: only counting what arrives can stop it. Bounded at 200 MB.
    const chunk = Buffer.alloc(64 * 1024, ' ');
    response.write('{"keys":[');
    const writeMore = () => {
      while (jwksBytesSent < 200 * 1024 * 1024 && !response.destroyed) {
        jwksBytesSent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', writeMore);
      }
      response.end(']}');
    };
    writeMore();
  });
  t.teardown(() => endless.close());
  const ready = await readinessWith(t, endless.url);
  t.is(ready.statusCode, 503);
  t.regex(ready.reason, /signing keys .* could not be loaded \(the reply is larger than 1 MB\)/);
  t.true(jwksBytesSent < 20 * 1024 * 1024, `${jwksBytesSent} bytes sent before the server hung up`);

  const announced = await startFakeHttp((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.setHeader('content-length', String(2 * 1024 * 1024));
    response.write('{"issuer":"');
  });
  t.teardown(() => announced.close());
  const discovery = await readinessWith(t, announced.url);
  t.is(discovery.statusCode, 503);
  t.regex(discovery.reason, /discovery document .* could not be fetched \(the reply is larger than 1 MB\)/);
});

test('an IdP whose TLS certificate this server does not trust is a 503 saying so, and what to set', async (t) => {
  const fixtures = new URL('../fixtures/', import.meta.url);
  const tls = createHttpsServer({ key: readFileSync(new URL('untrusted-tls.key', fixtures)), cert: readFileSync(new URL('untrusted-tls.crt', fixtures)) }, (_request, response) => response.end('{}'));
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => tls.close(() => resolve())));
  const ready = await readinessWith(t, `https://localhost:${(tls.address() as AddressInfo).port}`);
  t.is(ready.statusCode, 503);
  t.regex(ready.reason, /could not be fetched \(DEPTH_ZERO_SELF_SIGNED_CERT: its TLS certificate is self-signed; for a private authority, point NODE_EXTRA_CA_CERTS at its certificate\)/);
});

test('a discovery document that never comes is a 503 page saying so', async (t) => {
  const silent = await startFakeHttp(() => {});
  t.teardown(() => silent.close());
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, { OIDC_ISSUER: silent.url });
  t.teardown(() => server.close());
  const login = await cookieClient().http.get(`${server.url}/login`, { followRedirect: false, ...html });
  t.is(login.statusCode, 503);
  t.regex(login.body, /discovery document .* could not be fetched \(no reply within 5 s\)/);
});

test('a discovery document whose issuer differs from OIDC_ISSUER is refused (Discovery 4.3)', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const impostor = await startFakeHttp(async (_request, response) => {
    const real = await fetch(`${idp.issuer}/.well-known/openid-configuration`).then((r) => r.json() as Promise<Record<string, unknown>>);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(real));
  });
  t.teardown(() => impostor.close());
  const server = await startServerWithIdp(idp, { OIDC_ISSUER: impostor.url });
  t.teardown(() => server.close());

  const response = await cookieClient().http.get(`${server.url}/login`, { followRedirect: false, ...html });
  t.is(response.statusCode, 503);
  t.regex(response.body, /does not match OIDC_ISSUER/);
  const ready = await cookieClient().http.get(`${server.url}/readyz`);
  t.is(ready.statusCode, 503);
  t.regex(JSON.parse(ready.body).reason, /does not match OIDC_ISSUER/);
});

/** A token endpoint reply of this status and body. */
const replying = (status: number, body: string) => (response: ServerResponse) => {
  response.statusCode = status;
  response.setHeader('content-type', body.startsWith('<') ? 'text/html' : 'application/json');
  response.end(body);
};

const unusableTokenReplies: Array<[string, (response: ServerResponse) => void, number, RegExp]> = [
  ['an HTML error page', replying(500, '<h1>Internal Server Error</h1>'), 502, /token endpoint answered HTTP 500/],
  ['a 200 with no token at all', replying(200, 'null'), 502, /token endpoint answered without a usable reply/],
  ['a 200 without an id_token', replying(200, '{"access_token":"at","token_type":"Bearer"}'), 502, /token response has no id_token/],
  ['a 200 without a token_type', replying(200, '{"access_token":"at","id_token":"a.b.c"}'), 502, /token response has no token_type \(RFC 6749 5\.1\)/],
  ['nothing at all', () => {}, 503, /token endpoint did not answer within 5 s/],
  [
    'headers, then a body that stops coming',
    (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"access_token":"at",');
    },
    503,
    /token endpoint did not answer within 5 s/,
  ],
];

for (const [what, reply, status, message] of unusableTokenReplies) {
  test(`a token endpoint answering ${what} is a ${status} page and nothing is stored`, async (t) => {
    const idp = await startIdp();
    t.teardown(() => idp.close());
    // Discovery points the token endpoint at a broken server; everything else is the real IdP.
    const broken = await startFakeHttp(async (request, response) => {
      if (request.url?.startsWith('/.well-known')) {
        const real = await fetch(`${idp.issuer}/.well-known/openid-configuration`).then((r) => r.json() as Promise<Record<string, unknown>>);
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ ...real, token_endpoint: `http://${request.headers.host}/token` }));
        return;
      }
      reply(response);
    });
    t.teardown(() => broken.close());
    const server = await startServerWithIdp(idp, {
      OIDC_ISSUER: '',
      OIDC_WELL_KNOWN_URL: `${broken.url}/.well-known/openid-configuration`,
      OIDC_CLIENT_ID: TEST_CLIENT_ID,
      OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
    });
    t.teardown(() => server.close());
    const { http } = cookieClient();

    const callback = await callbackUrlFor(server.url, 'ivan@example.com', http);
    const response = await http.get(callback, html);
    t.is(response.statusCode, status);
    t.true(response.body.includes(errorMarker));
    t.regex(response.body, message);
    t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
  });
}

test('a wrong client secret is a 502 that names the settings to check, not a refused sign-in', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, { OIDC_CLIENT_SECRET: 'not-the-secret-the-idp-knows' });
  t.teardown(() => server.close());
  const { http } = cookieClient();
  const response = await http.get(await callbackUrlFor(server.url, 'judy@example.com', http), html);
  t.is(response.statusCode, 502);
  t.regex(response.body, /refused this server&#39;s client credentials \(invalid_client.*check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, and OIDC_TOKEN_ENDPOINT_AUTH_METHOD \(client_secret_basic was used\)/);
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
});


test('the success page names the user by an email that may stand for them, else by name, else by subject', (t) => {
  const claims = { iss: 'https://idp.example.com', sub: 'user-1', aud: 'app', exp: 2, iat: 1 };
  t.is(displayName({ ...claims, email: 'ada@example.com', name: 'Ada' }), 'ada@example.com');
  t.is(displayName({ ...claims, email: '', name: 'Ada' }), 'Ada');
  t.is(displayName({ ...claims, email: 'ada@example.com', email_verified: false, name: 'Ada' }), 'Ada');
  t.is(displayName({ ...claims, email: 'ada@example.com', email_verified: false }), 'user-1');
  t.is(displayName({ ...claims, name: '' }), 'user-1');
});
