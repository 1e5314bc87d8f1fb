import { randomBytes } from 'node:crypto';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { generatePrivateKey, generateSigningKey } from '../../server/dev-idp/keys.ts';
import { cookieClient, signIn } from '../helpers/browserless-login.ts';
import { startIdp, TEST_CLIENT_ID, type TestIdp } from '../helpers/idp.ts';
import { rawRequest, startIdpAndServer, startServerWithIdp, type TestServer } from '../helpers/server.ts';

const http = cookieClient().http;
const nowSec = () => Math.floor(Date.now() / 1000);

function claimsFor(idp: TestIdp, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const claims = { iss: idp.issuer, sub: 'user-1', aud: TEST_CLIENT_ID, iat: nowSec(), exp: nowSec() + 600, email: 'mallory@example.com', ...overrides };
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}

function withBearer(server: TestServer, token: string, path = '/user/id') {
  return http.get(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

/** Base64url of a JSON value, for hand-made tokens. */
const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');


test('accepts a token signed by the IdP for this client', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const response = await withBearer(server, idp.sign(claimsFor(idp)));
  t.is(response.statusCode, 200);
  t.is(response.body, 'mallory@example.com');
});

const rejected: Array<[string, (idp: TestIdp) => string, RegExp]> = [
  [
    'a token whose payload was changed after signing',
    (idp) => {
      const [header, , signature] = idp.sign(claimsFor(idp)).split('.');
      return [header, segment(claimsFor(idp, { email: 'admin@example.com' })), signature].join('.');
    },
    /signature/,
  ],
  [
    'a copy of a valid token whose signature is spelled differently (unused base64url bits set)',
    (idp) => {
      const token = idp.sign(claimsFor(idp));
      // An RSA-2048 signature is 342 characters carrying 2052 bits: the last character's 4 low bits are spare.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(token.at(-1)!);
      return token.slice(0, -1) + alphabet[last | 1];
    },
    /signature is not canonical base64url/,
  ],
  ['a token naming a 5 KB algorithm (quoted back in WWW-Authenticate)', (idp) => `${segment({ alg: 'A'.repeat(5000) })}.${segment(claimsFor(idp))}.c2ln`, /alg names no algorithm this server knows/],
  ['an expired token', (idp) => idp.sign(claimsFor(idp, { exp: nowSec() - 3600, iat: nowSec() - 7200 })), /expired/],
  ['a token issued to another client', (idp) => idp.sign(claimsFor(idp, { aud: 'another-client' })), /another client/],
  ['a token from another issuer', (idp) => idp.sign(claimsFor(idp, { iss: 'https://evil.example.com' })), /another issuer than this identity provider/],
  ['a token not valid yet', (idp) => idp.sign(claimsFor(idp, { nbf: nowSec() + 3600 })), /not valid yet/],
  ['a token without exp', (idp) => idp.sign(claimsFor(idp, { exp: undefined })), /exp/],
  ['a token without sub', (idp) => idp.sign(claimsFor(idp, { sub: undefined })), /sub/],
  [
    'a token with several audiences and no azp',
    (idp) => idp.sign(claimsFor(idp, { aud: [TEST_CLIENT_ID, 'another-client'] })),
    /azp/,
  ],
  ['a token whose azp is another client', (idp) => idp.sign(claimsFor(idp, { aud: [TEST_CLIENT_ID, 'x'], azp: 'x' })), /another client/],
  ['an unsigned token (alg none)', (idp) => `${segment({ alg: 'none', typ: 'JWT' })}.${segment(claimsFor(idp))}.`, /not a signed JWT/],
  [
    'an alg none token with a signature part',
    (idp) => `${segment({ alg: 'none', kid: 'key-1' })}.${segment(claimsFor(idp))}.${segment('x')}`,
    /algorithm "none" is not accepted/,
  ],
  [
    'an HS256 token signed with the public key as the secret (alg confusion)',
    (idp) => {
      const publicPem = idp.publicKey().export({ format: 'pem', type: 'spki' });
      return `${segment({ alg: 'HS256', kid: 'key-1' })}.${segment(claimsFor(idp))}.${jwt
        .sign(claimsFor(idp), publicPem, { algorithm: 'HS256', noTimestamp: true })
        .split('.')[2]}`;
    },
    /algorithm "HS256" is not accepted/,
  ],
  [
    "a token signed by an attacker's key under the IdP's kid",
    (idp) => idp.sign(claimsFor(idp), { key: { ...generateSigningKey('key-1') } }),
    /signature/,
  ],
  ['a token naming a kid the IdP does not publish', (idp) => idp.sign(claimsFor(idp), { key: generateSigningKey('no-such-kid') }), /does not publish/],
  [
    'a PS256 token when the IdP only advertises RS256',
    (idp) => idp.sign(claimsFor(idp), { algorithm: 'PS256' }),
    /"PS256" is not accepted/,
  ],
  ['a token with a crit header (RFC 7515 4.1.11)', (idp) => idp.sign(claimsFor(idp), { header: { crit: ['urn:example:ext'], 'urn:example:ext': 1 } }), /crit lists critical extensions/],
  ['a JWT access token (typ at+jwt)', (idp) => idp.sign(claimsFor(idp), { header: { typ: 'at+jwt' } }), /typ is not JWT/],
  ['a token whose typ is null', (idp) => idp.sign(claimsFor(idp), { header: { typ: null } }), /The token's header typ is not a string$/],
  [
    'a back-channel logout token',
    (idp) => idp.sign(claimsFor(idp, { events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }), { header: { typ: 'logout+jwt' } }),
    /typ is not JWT/,
  ],
  ['a logout token without typ', (idp) => idp.sign(claimsFor(idp, { events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })), /logout token/],
  ['a token issued in the future', (idp) => idp.sign(claimsFor(idp, { iat: nowSec() + 3600 })), /issued in the future \(iat is 3[56]\d\d s ahead of this server's clock: is the identity provider's clock, or this one, wrong\?\)/],
  [
    'a token also issued to an audience this server does not trust',
    (idp) => idp.sign(claimsFor(idp, { aud: [TEST_CLIENT_ID, 'another-api'], azp: TEST_CLIENT_ID })),
    /audiences this server does not trust/,
  ],
  ['an access token marked by its typ claim (Keycloak)', (idp) => idp.sign(claimsFor(idp, { typ: 'Bearer' })), /typ claim marks another kind of token/],
  ['an access token marked by its token_use claim (Cognito)', (idp) => idp.sign(claimsFor(idp, { token_use: 'access' })), /token_use claim marks another kind of token/],
  ['a token whose parts are not JSON', () => 'bm90IGpzb24.bm90IGpzb24.c2lnbmF0dXJl', /not a signed JWT/],
  ['a token of 10,000 characters', () => 'a'.repeat(5000) + '.' + 'b'.repeat(4999), /too large/],
];

// A refused token changes nothing on either side: one IdP and one server serve all these tests.
let sharedIdp: TestIdp | undefined;
let sharedServer: TestServer | undefined;
test.before(async () => {
  sharedIdp = await startIdp();
  sharedServer = await startServerWithIdp(sharedIdp);
});
test.after.always(async () => {
  await sharedServer?.close();
  await sharedIdp?.close();
});

for (const [what, makeToken, description] of rejected) {
  test(`rejects ${what} with 401 invalid_token`, async (t) => {
    const [idp, server] = [sharedIdp!, sharedServer!];
    const response = await withBearer(server, makeToken(idp));
    t.is(response.statusCode, 401);
    const challenge = response.headers['www-authenticate'] ?? '';
    t.regex(challenge, /^Bearer realm="koa-oidc-sso", error="invalid_token", error_description="[^"]+"$/);
    t.true(challenge.length < 400, 'nothing of the token is quoted back at length');
    const body = JSON.parse(response.body);
    t.is(body.error, 'invalid_token');
    t.regex(body.error_description, description);
  });
}

test('rejects an ES256 token when the IdP only advertises RS256', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const privateKey = generatePrivateKey({ type: 'ec', namedCurve: 'P-256' });
  const token = jwt.sign(claimsFor(idp), privateKey, { algorithm: 'ES256', keyid: 'key-1' });
  const response = await withBearer(server, token);
  t.is(response.statusCode, 401);
  t.regex(JSON.parse(response.body).error_description, /ES256" is not accepted/);
});

test('malformed Authorization headers are a 401, never a 500', async (t) => {
  const { server } = await startIdpAndServer(t);
  for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer !!!', 'Bearer\ttoken', 'Bearer a.b', 'Bearer ...']) {
    const response = await http.get(`${server.url}/user/id`, { headers: { authorization: header } });
    t.is(response.statusCode, 401, header);
    t.regex(response.headers['www-authenticate'] ?? '', /error="invalid_token"/, header);
  }
  // Another scheme is no Bearer token at all: a plain challenge without an error (RFC 6750 3.1).
  const basic = await http.get(`${server.url}/user/id`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  t.is(basic.statusCode, 401);
  t.is(basic.headers['www-authenticate'], 'Bearer realm="koa-oidc-sso"');
  t.regex(JSON.parse(basic.body).error_description, /^The Authorization header is not of the Bearer scheme\. Sign in first/);
  // A token sent without the word Bearer is told the same.
  const bare = await http.get(`${server.url}/user/id`, { headers: { authorization: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' } });
  t.regex(JSON.parse(bare.body).error_description, /not of the Bearer scheme/);
  // Past Node's header limit the request never reaches the application: 431, still not a 500.
  const huge = await http.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${'a'.repeat(20_000)}` } });
  t.is(huge.statusCode, 431);
});

test('two Host headers are a 400 (RFC 9112 3.2), for every route', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const host = new URL(server.url).host;
  for (const path of ['/healthz', '/login', '/user/id']) {
    const reply = await rawRequest(server, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nhost: evil.example.com\r\nAuthorization: Bearer ${idp.sign(claimsFor(idp))}\r\n`);
    t.regex(reply, /^HTTP\/1\.1 400 /, path);
    t.regex(reply, /more than one Host header/, path);
  }
  t.regex(await rawRequest(server, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n`), /^HTTP\/1\.1 200 /);
});

test('a Host header that is no host name or address is a 400 (RFC 9112 3.2); odd but valid ones pass', async (t) => {
  const { server } = await startIdpAndServer(t);
  for (const host of ['a b', 'a/b?c', 'user@example.com', 'example.com:80:80', '[::1', 'ex%zzample.com', '[zzz]', '[v1.]']) {
    const reply = await rawRequest(server, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n`);
    t.regex(reply, /^HTTP\/1\.1 400 /, host);
    t.regex(reply, /The Host header is not a host name or address with an optional port/, host);
  }
  for (const host of ['localhost:5000', '127.0.0.1', '[::1]:5000', '[::ffff:127.0.0.1]', '[v1.fe80::1]', 'xn--bcher-kva.example', 'a,b', 'ex%41mple.com', 'example.com:']) {
    t.regex(await rawRequest(server, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n`), /^HTTP\/1\.1 200 /, host);
  }
});

test('two Authorization headers are a 401 invalid_token: neither of them is picked', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const valid = idp.sign(claimsFor(idp));
  const host = `Host: ${new URL(server.url).host}\r\n`;
  // Node would keep the first and drop the second, whichever of them a proxy in front checked.
  for (const headers of [`Authorization: Bearer ${valid}\r\nauthorization: Bearer a.b.c\r\n`, `Authorization: Basic dXNlcjpwYXNz\r\nAUTHORIZATION: Bearer ${valid}\r\n`]) {
    const reply = await rawRequest(server, `GET /user/id HTTP/1.1\r\n${host}${headers}`);
    t.regex(reply, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    t.regex(reply, /\r\nWWW-Authenticate: Bearer realm="koa-oidc-sso", error="invalid_token", error_description="The request has more than one Authorization header"\r\n/i);
    t.notRegex(reply, /example\.com/, 'no email in the reply');
  }
  // An empty first header is still a first header: the second one is not quietly ignored.
  const afterEmpty = await rawRequest(server, `GET /user/id HTTP/1.1\r\n${host}Authorization:\r\nAuthorization: Bearer ${valid}\r\n`);
  t.regex(afterEmpty, /^HTTP\/1\.1 401 Unauthorized\r\n[^]*error="invalid_token", error_description="The request has more than one Authorization header"/i);
  // Nor is one hidden behind 2000 other headers (Node's default limit would drop it unseen).
  const filler = 'a:\r\n'.repeat(2000);
  const hidden = await rawRequest(server, `GET /user/id HTTP/1.1\r\n${host}Authorization: Bearer ${valid}\r\n${filler}Authorization: Bearer a.b.c\r\n`);
  t.regex(hidden, /^HTTP\/1\.1 401 Unauthorized\r\n[^]*more than one Authorization header/i);
  // One header, as usual: accepted.
  const single = await rawRequest(server, `GET /user/id HTTP/1.1\r\n${host}Authorization: Bearer ${valid}\r\n`);
  t.regex(single, /^HTTP\/1\.1 200 OK\r\n/);
});

test('no token at all: 401 with a challenge and no error attribute', async (t) => {
  const { server } = await startIdpAndServer(t);
  for (const path of ['/user/id', '/user/me', '/anything/else']) {
    const response = await http.get(`${server.url}${path}`);
    t.is(response.statusCode, 401, path);
    t.is(response.headers['www-authenticate'], 'Bearer realm="koa-oidc-sso"', path);
    t.is(JSON.parse(response.body).error, 'unauthenticated');
  }
});

test('a wrong method on a protected route needs a token first: 401 without one, 405 with one', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  for (const method of ['POST', 'DELETE', 'OPTIONS'] as const) {
    const anonymous = await http(`${server.url}/user/me`, { method });
    t.is(anonymous.statusCode, 401, method);
    t.is(anonymous.headers.allow, undefined, `${method}: no Allow before the token is checked`);
    const forged = await http(`${server.url}/user/me`, { method, headers: { authorization: 'Bearer a.b.c' } });
    t.is(forged.statusCode, 401, method);
    const signedIn = await http(`${server.url}/user/me`, { method, headers: { authorization: `Bearer ${idp.sign(claimsFor(idp))}` } });
    t.is(signedIn.statusCode, 405, method);
    t.is(signedIn.headers.allow, 'HEAD, GET', method);
  }
});

test('an authenticated request for an unknown route is a 404', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const response = await withBearer(server, idp.sign(claimsFor(idp)), '/no/such/route');
  t.is(response.statusCode, 404);
  t.is(JSON.parse(response.body).error, 'not_found');
});

test('key rotation: a new kid is fetched once; a key removed from the JWKS stops working, cached or not', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const oldKey = idp.signingKeys[0]!;
  const oldToken = idp.sign(claimsFor(idp));
  t.is((await withBearer(server, oldToken)).statusCode, 200);
  const jwksFetches = () => server.idpRequests.filter((request) => request.kind === 'jwks').length;
  t.is(jwksFetches(), 1);

  const newKey = generateSigningKey('key-2');
  await idp.stop();
  await idp.start({ signingKeys: [newKey] });

  const newToken = idp.sign(claimsFor(idp), { key: newKey });
  const accepted = await withBearer(server, newToken);
  t.is(accepted.statusCode, 200, accepted.body);
  t.is(jwksFetches(), 2);
  t.is((await withBearer(server, newToken)).statusCode, 200);
  t.is(jwksFetches(), 2, 'the new key is cached');

  // The old token verified (and was cached) before the rotation; its key is gone now.
  const stale = await withBearer(server, oldToken);
  t.is(stale.statusCode, 401);
  t.true(oldKey.kid === 'key-1');
});

test('tokens with unknown kids cannot keep a rotated key from sign-ins: the callback looks its kid up anyway', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  t.is((await withBearer(server, idp.sign(claimsFor(idp)))).statusCode, 200);
  const jwksFetches = () => server.idpRequests.filter((request) => request.kind === 'jwks').length;
  const statuses = [];
  for (let i = 0; i < 8; i++) {
    const key = { ...(idp.signingKeys[0] as Record<string, unknown>), kid: `unknown-${i}` };
    statuses.push((await withBearer(server, idp.sign(claimsFor(idp), { key }), '/user/me')).statusCode);
  }
  t.deepEqual(new Set(statuses), new Set([401]));
  const spent = await withBearer(server, idp.sign(claimsFor(idp), { key: { ...(idp.signingKeys[0] as Record<string, unknown>), kid: 'unknown-9' } }));
  t.regex(JSON.parse(spent.body).error_description, /did not publish when its keys were last fetched/);
  const fetchesBeforeRotation = jwksFetches();

  await idp.stop();
  await idp.start({ signingKeys: [generateSigningKey('key-2')] });
  const page = await signIn(server.url, 'ada@example.com');
  t.is(page.statusCode, 200, page.body);
  t.true(page.body.includes('data-testid="login-success"'));
  t.is(jwksFetches(), fetchesBeforeRotation + 1);
});

test('an IdP that puts a new key under its old kid: the next sign-in fetches the keys again, and Bearer tokens of the new key work from then on', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  t.is((await withBearer(server, idp.sign(claimsFor(idp)))).statusCode, 200);
  const jwksFetches = () => server.idpRequests.filter((request) => request.kind === 'jwks').length;
  const fetchesBefore = jwksFetches();

  const sameKid = generateSigningKey(String(idp.signingKeys[0]!.kid));
  await idp.stop();
  await idp.start({ signingKeys: [sameKid] });
  const newToken = idp.sign(claimsFor(idp), { key: sameKid });
  const before = await withBearer(server, newToken);
  t.is(before.statusCode, 401, 'a Bearer token alone does not make the server fetch keys it has');
  t.regex(JSON.parse(before.body).error_description, /signature is invalid/);
  t.is(jwksFetches(), fetchesBefore);

  const page = await signIn(server.url, 'grace@example.com');
  t.is(page.statusCode, 200, page.body);
  t.true(page.body.includes('data-testid="login-success"'));
  t.is(jwksFetches(), fetchesBefore + 1);
  t.is((await withBearer(server, newToken)).statusCode, 200);
});

test('a flood of tokens with random kids makes only a few JWKS requests', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const statuses = [];
  for (let i = 0; i < 40; i++) {
    const key = { ...(idp.signingKeys[0] as Record<string, unknown>), kid: randomBytes(8).toString('hex') };
    statuses.push((await withBearer(server, idp.sign(claimsFor(idp), { key }))).statusCode);
  }
  t.true(statuses.every((status) => status === 401));
  const jwksFetches = server.idpRequests.filter((request) => request.kind === 'jwks').length;
  t.true(jwksFetches <= 6, `${jwksFetches} JWKS requests`);
  t.is(server.idpRequests.filter((request) => request.kind === 'discovery').length, 1);
});

test('typ JWT, an id_token typ or token_use claim, string booleans and null optional claims are accepted', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const token = idp.sign(claimsFor(idp, { email_verified: 'true', name: null, azp: null, typ: 'ID', token_use: 'id' }), { header: { typ: 'JWT' } });
  const response = await withBearer(server, token, '/user/me');
  t.is(response.statusCode, 200, response.body);
  t.is(JSON.parse(response.body).email_verified, true);
});

test('/user/id refuses an email the IdP says is not verified', async (t) => {
  const { idp, server } = await startIdpAndServer(t);
  const unverified = await withBearer(server, idp.sign(claimsFor(idp, { email_verified: false })));
  t.is(unverified.statusCode, 403);
  t.is(JSON.parse(unverified.body).error, 'email_not_verified');
  const asString = await withBearer(server, idp.sign(claimsFor(idp, { email_verified: 'false' })));
  t.is(asString.statusCode, 403);
});
