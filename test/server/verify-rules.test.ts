import { createPrivateKey, createPublicKey } from 'node:crypto';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { generatePrivateKey, generateSigningKey } from '../../server/dev-idp/keys.ts';
import { createDiscovery } from '../../server/oidc/discovery.ts';
import { createKeyStore } from '../../server/oidc/keys.ts';
import { createTokenVerifier } from '../../server/oidc/verify.ts';
import { probeIdentityProvider } from '../../server/routes/health.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { codeOf } from '../helpers/verification.ts';

/**
 * Rules that oidc-provider never puts to the test because it is well-behaved: a provider whose
 * metadata and keys are served as given, standing in for the many IdPs out there.
 */
async function providerServing(t: { teardown(fn: () => Promise<void>): void }, metadata: Record<string, unknown>, jwks: object[]) {
  const server = await startFakeHttp((request, response) => {
    response.setHeader('content-type', 'application/json');
    if (request.url === '/jwks') return response.end(JSON.stringify({ keys: jwks }));
    response.end(JSON.stringify({ issuer: `http://${request.headers.host}`, ...metadata, jwks_uri: `http://${request.headers.host}/jwks` }));
  });
  t.teardown(() => server.close());
  const discoveryUrl = new URL(`${server.url}/.well-known/openid-configuration`);
  const discovery = createDiscovery({ url: discoveryUrl });
  const keyStore = createKeyStore({ jwksUri: async () => (await discovery.get()).jwks_uri });
  return { issuer: typeof metadata.issuer === 'string' ? metadata.issuer : server.url, discoveryUrl, verifier: createTokenVerifier({ discovery, keyStore, clientId: 'client' }) };
}

const endpoints = { authorization_endpoint: 'http://127.0.0.1/auth', token_endpoint: 'http://127.0.0.1/token' };
const publicJwk = (privateJwk: Record<string, unknown>) => ({
  ...createPublicKey({ key: privateJwk as never, format: 'jwk' }).export({ format: 'jwk' }),
  kid: privateJwk.kid,
  ...(privateJwk.alg ? { alg: privateJwk.alg } : {}),
  use: 'sig',
});
const es256Key = (kid: string) => ({ ...generatePrivateKey({ type: 'ec', namedCurve: 'P-256' }).export({ format: 'jwk' }), kid, alg: 'ES256' });
const claims = (issuer: string) => ({ iss: issuer, sub: 'u', aud: 'client', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 });
const sign = (payload: object, key: Record<string, unknown>, algorithm: jwt.Algorithm) =>
  jwt.sign(payload, createPrivateKey({ key: key as never, format: 'jwk' }), { algorithm, keyid: String(key.kid) });

test('a key published for RS256 does not verify a PS256 token, though the IdP allows PS256', async (t) => {
  const key = generateSigningKey('rsa-1');
  const { issuer, verifier } = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['RS256', 'PS256'] }, [publicJwk(key)]);
  t.is(await codeOf(verifier.verify(sign(claims(issuer), key, 'RS256'))), 'accepted');
  t.regex(await codeOf(verifier.verify(sign(claims(issuer), key, 'PS256'))), /^invalid_token: .*published for \(RS256\)/);
});

test("Google's id_tokens may name their issuer without the scheme; no other issuer may", async (t) => {
  const key = generateSigningKey('rsa-google');
  const google = await providerServing(t, { ...endpoints, issuer: 'https://accounts.google.com' }, [publicJwk(key)]);
  t.is(await codeOf(google.verifier.verify(sign(claims('https://accounts.google.com'), key, 'RS256'))), 'accepted');
  t.is(await codeOf(google.verifier.verify(sign(claims('accounts.google.com'), key, 'RS256'))), 'accepted');
  t.regex(await codeOf(google.verifier.verify(sign(claims('https://accounts.google.com/'), key, 'RS256'))), /^invalid_token: .*issuer/);
  t.regex(await codeOf(google.verifier.verify(sign(claims('http://accounts.google.com'), key, 'RS256'))), /^invalid_token: .*issuer/);

  const other = await providerServing(t, { ...endpoints, issuer: 'https://idp.example.com' }, [publicJwk(key)]);
  t.is(await codeOf(other.verifier.verify(sign(claims('https://idp.example.com'), key, 'RS256'))), 'accepted');
  t.regex(await codeOf(other.verifier.verify(sign(claims('idp.example.com'), key, 'RS256'))), /^invalid_token: .*issuer/);
});

test('a key without a declared alg verifies any allowed algorithm of its type', async (t) => {
  const key = { ...generateSigningKey('rsa-2'), alg: undefined };
  const { issuer, verifier } = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['RS256', 'PS256'] }, [publicJwk(key)]);
  t.is(await codeOf(verifier.verify(sign(claims(issuer), key, 'PS256'))), 'accepted');
});

test('HS256 advertised by the IdP is still never accepted', async (t) => {
  const key = generateSigningKey('rsa-3');
  const { issuer, verifier } = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['HS256', 'RS256'] }, [publicJwk(key)]);
  const hmac = jwt.sign(claims(issuer), 'client-secret', { algorithm: 'HS256', keyid: 'rsa-3' });
  t.regex(await codeOf(verifier.verify(hmac)), /^invalid_token: .*"HS256" is not accepted/);
});

test('an IdP that only signs with algorithms this server does not accept is reported as such', async (t) => {
  const key = generateSigningKey('rsa-4');
  const { issuer, verifier } = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['HS256', 'EdDSA'] }, [publicJwk(key)]);
  t.regex(await codeOf(verifier.verify(sign(claims(issuer), key, 'RS256'))), /^idp_unavailable: The identity provider signs id_tokens with HS256, EdDSA/);
});

test('without a kid, the one published key is used; with several keys, a kid is required', async (t) => {
  const key = generateSigningKey('only');
  const { issuer, verifier } = await providerServing(t, endpoints, [{ ...publicJwk(key), kid: undefined }]);
  const unnamed = jwt.sign(claims(issuer), createPrivateKey({ key: key as never, format: 'jwk' }), { algorithm: 'RS256' });
  t.is(await codeOf(verifier.verify(unnamed)), 'accepted');

  const first = generateSigningKey('a');
  const second = generateSigningKey('b');
  const several = await providerServing(t, endpoints, [publicJwk(first), publicJwk(second)]);
  const anonymous = jwt.sign(claims(several.issuer), createPrivateKey({ key: first as never, format: 'jwk' }), { algorithm: 'RS256' });
  t.regex(await codeOf(several.verifier.verify(anonymous)), /^invalid_token: The token names no key/);
});

test('ES256 tokens verify against an EC key when the IdP advertises ES256', async (t) => {
  const key = es256Key('ec-1');
  const { issuer, verifier } = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['ES256'] }, [publicJwk(key)]);
  t.is(await codeOf(verifier.verify(sign(claims(issuer), key, 'ES256'))), 'accepted');
  const rsa = generateSigningKey('ec-1');
  t.regex(await codeOf(verifier.verify(sign(claims(issuer), rsa, 'RS256'))), /^invalid_token: .*"RS256" is not accepted/);
});

test('keys of different types may share a kid (RFC 7517 4.5): each token gets the key its algorithm needs', async (t) => {
  const rsa = generateSigningKey('shared');
  const ec = { ...generatePrivateKey({ type: 'ec', namedCurve: 'P-256' }).export({ format: 'jwk' }), kid: 'shared' };
  const metadata = { ...endpoints, id_token_signing_alg_values_supported: ['RS256', 'ES256'] };
  for (const order of [[rsa, ec], [ec, rsa]]) {
    const { issuer, verifier } = await providerServing(t, metadata, order.map((key) => publicJwk(key)));
    t.is(await codeOf(verifier.verify(sign(claims(issuer), rsa, 'RS256'))), 'accepted');
    t.is(await codeOf(verifier.verify(sign(claims(issuer), ec, 'ES256'))), 'accepted');
  }
});

test('a key published for encryption under the same kid does not stand in for the signing key', async (t) => {
  const signing = generateSigningKey('k1');
  const encryption = { ...publicJwk(generateSigningKey('k1')), alg: 'RSA-OAEP', use: undefined };
  const { issuer, verifier } = await providerServing(t, endpoints, [publicJwk(signing), encryption]);
  t.is(await codeOf(verifier.verify(sign(claims(issuer), signing, 'RS256'))), 'accepted');
});

test('a kid the key set does not name may still be its one key without a kid', async (t) => {
  const key = generateSigningKey('named-by-the-token');
  const { issuer, verifier } = await providerServing(t, endpoints, [{ ...publicJwk(key), kid: undefined }]);
  t.is(await codeOf(verifier.verify(sign(claims(issuer), key, 'RS256'))), 'accepted');

  const first = generateSigningKey('x');
  const several = await providerServing(t, endpoints, [{ ...publicJwk(first), kid: undefined }, { ...publicJwk(generateSigningKey('y')), kid: undefined }]);
  t.regex(await codeOf(several.verifier.verify(sign(claims(several.issuer), first, 'RS256'))), /^invalid_token: The token names a kid for which the identity provider publishes several RS256 keys/);
});

test('readiness: keys that fit none of the advertised algorithms, or only algorithms this server refuses, are not ready', async (t) => {
  const ec = es256Key('ec-only');
  const rsaOnlyAdvertised = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['RS256'] }, [publicJwk(ec)]);
  t.regex((await probeIdentityProvider({ discoveryUrl: rsaOnlyAdvertised.discoveryUrl, expectedIssuer: undefined })) ?? 'ready', /signing keys at .* include none for RS256/);

  const eddsa = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['EdDSA'] }, [publicJwk(ec)]);
  t.regex((await probeIdentityProvider({ discoveryUrl: eddsa.discoveryUrl, expectedIssuer: undefined })) ?? 'ready', /signs id_tokens with EdDSA/);

  const fitting = await providerServing(t, { ...endpoints, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }, [publicJwk(ec)]);
  t.is(await probeIdentityProvider({ discoveryUrl: fitting.discoveryUrl, expectedIssuer: undefined }), undefined);
});

test('a token naming a new kid while the JWKS cannot be fetched is a 503 (no proof it is bad), and verifies once the IdP is back', async (t) => {
  const oldKey = generateSigningKey('old');
  const newKey = generateSigningKey('new');
  const idp = { jwks: [publicJwk(oldKey)], down: false };
  const server = await startFakeHttp((request, response) => {
    if (idp.down) {
      response.statusCode = 503;
      return response.end();
    }
    response.setHeader('content-type', 'application/json');
    if (request.url === '/jwks') return response.end(JSON.stringify({ keys: idp.jwks }));
    response.end(JSON.stringify({ ...endpoints, issuer: `http://${request.headers.host}`, jwks_uri: `http://${request.headers.host}/jwks` }));
  });
  t.teardown(() => server.close());
  const discovery = createDiscovery({ url: new URL(`${server.url}/.well-known/openid-configuration`) });
  const keyStore = createKeyStore({ jwksUri: async () => (await discovery.get()).jwks_uri });
  const verifier = createTokenVerifier({ discovery, keyStore, clientId: 'client' });
  t.is(await codeOf(verifier.verify(sign(claims(server.url), oldKey, 'RS256'))), 'accepted');

  idp.down = true;
  idp.jwks = [publicJwk(oldKey), publicJwk(newKey)];
  const rotated = sign(claims(server.url), newKey, 'RS256');
  t.regex(await codeOf(verifier.verify(rotated)), /^idp_unavailable: The token names a signing key this server does not know yet/);

  idp.down = false;
  t.is(await codeOf(verifier.verify(rotated)), 'accepted');
  // With the IdP reachable, a kid it does not publish is the token's fault.
  t.regex(await codeOf(verifier.verify(sign(claims(server.url), generateSigningKey('stranger'), 'RS256'))), /^invalid_token: /);
});
