import { createPrivateKey, createPublicKey } from 'node:crypto';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { generateSigningKey } from '../../server/dev-idp/keys.ts';
import { createDiscovery } from '../../server/oidc/discovery.ts';
import { createKeyStore } from '../../server/oidc/keys.ts';
import { createTokenVerifier } from '../../server/oidc/verify.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { codeOf, movableClock } from '../helpers/verification.ts';

/** One JWKS request the provider has received and not answered yet. */
interface HeldJwksRequest {
  answer(status: number, body: string): void;
}

/**
 * A provider whose JWKS replies the test gives one by one, when it chooses: a fetch stays in
 * flight until it is answered, so the order of fetches is set by events, not by timing.
 */
async function providerAnsweringJwksByHand(t: { teardown(fn: () => Promise<void>): void }) {
  const arrived: HeldJwksRequest[] = [];
  const waiting: Array<(request: HeldJwksRequest) => void> = [];
  const stats = { jwksRequests: 0 };
  const server = await startFakeHttp((request, response) => {
    if (request.url === '/jwks') {
      stats.jwksRequests++;
      const held: HeldJwksRequest = {
        answer(status, body) {
          response.writeHead(status, { 'content-type': body.startsWith('{') ? 'application/json' : 'text/html' });
          response.end(body);
        },
      };
      const waiter = waiting.shift();
      if (waiter) waiter(held);
      else arrived.push(held);
      return;
    }
    const origin = `http://${request.headers.host}`;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: `${origin}/token`, jwks_uri: `${origin}/jwks` }));
  });
  t.teardown(() => server.close());

  const clock = movableClock();
  const discovery = createDiscovery({ url: new URL(`${server.url}/.well-known/openid-configuration`), now: clock.now });
  const keyStore = createKeyStore({ jwksUri: async () => (await discovery.get()).jwks_uri, now: clock.now });
  const verifier = createTokenVerifier({ discovery, keyStore, clientId: 'client', now: clock.now });
  const sign = (key: Record<string, unknown>) => {
    const nowSec = Math.floor(clock.now() / 1000);
    const claims = { iss: server.url, sub: 'u', aud: 'client', iat: nowSec, exp: nowSec + 3600 };
    return jwt.sign(claims, createPrivateKey({ key: key as never, format: 'jwk' }), { algorithm: 'RS256', keyid: String(key.kid) });
  };
  return {
    stats,
    clock,
    verifier,
    sign,
    /** The next JWKS request to reach the provider (one already waiting, or the next to arrive). */
    nextJwksRequest: (): Promise<HeldJwksRequest> => {
      const held = arrived.shift();
      return held ? Promise.resolve(held) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

const jwks = (...privateJwks: Array<Record<string, unknown>>) =>
  JSON.stringify({
    keys: privateJwks.map((key) => ({ ...createPublicKey({ key: key as never, format: 'jwk' }).export({ format: 'jwk' }), kid: key.kid, alg: 'RS256', use: 'sig' })),
  });

test('a sign-in token whose kid names a replaced key waits for the JWKS fetch in flight, then fetches again', async (t) => {
  const provider = await providerAnsweringJwksByHand(t);
  const oldKey = generateSigningKey('key-1');
  const oldToken = provider.sign(oldKey);
  const loading = codeOf(provider.verifier.verify(oldToken));
  (await provider.nextJwksRequest()).answer(200, jwks(oldKey));
  t.is(await loading, 'accepted');

  // The keys are stale: the next look at a remembered token refreshes them in the background.
  // That fetch leaves before the provider replaces its key, and its reply is held.
  provider.clock.advance(11 * 60);
  t.is(await codeOf(provider.verifier.verify(oldToken)), 'accepted');
  const inFlight = await provider.nextJwksRequest();

  const newKey = generateSigningKey('key-1');
  // Discovery and the keys are cached: verify() reaches the refetch without any I/O, so it is
  // already waiting on the held fetch when that fetch's reply arrives.
  const signingIn = codeOf(provider.verifier.verify(provider.sign(newKey), { fromTokenEndpoint: true }));
  inFlight.answer(200, jwks(oldKey));
  // A refetch that joined the fetch in flight would see the old key only, and make no request more.
  void provider.nextJwksRequest().then((afterwards) => afterwards.answer(200, jwks(newKey)));
  t.is(await signingIn, 'accepted');
  t.is(provider.stats.jwksRequests, 3);
});

for (const [outage, status, body] of [
  ['down (503)', 503, ''],
  ['answering a login page instead of JSON', 200, '<html><body>Sign in</body></html>'],
  ['answering JSON without keys', 200, '{"error":"maintenance"}'],
] as const) {
  test(`a sign-in token whose kid names a replaced key is idp_unavailable, not invalid_token, while the JWKS endpoint is ${outage}`, async (t) => {
    const provider = await providerAnsweringJwksByHand(t);
    const oldKey = generateSigningKey('key-1');
    const loading = codeOf(provider.verifier.verify(provider.sign(oldKey)));
    (await provider.nextJwksRequest()).answer(200, jwks(oldKey));
    t.is(await loading, 'accepted');

    const newKey = generateSigningKey('key-1');
    const signInToken = provider.sign(newKey);
    const duringOutage = codeOf(provider.verifier.verify(signInToken, { fromTokenEndpoint: true }));
    (await provider.nextJwksRequest()).answer(status, body);
    // No proof the token is forged: the keys that could verify it could not be had.
    t.regex(await duringOutage, /^idp_unavailable: The identity provider's signing keys could not be fetched again/);
    t.is(provider.stats.jwksRequests, 2);

    // The failure is not remembered: the next sign-in looks again and verifies.
    const afterOutage = codeOf(provider.verifier.verify(signInToken, { fromTokenEndpoint: true }));
    (await provider.nextJwksRequest()).answer(200, jwks(newKey));
    t.is(await afterOutage, 'accepted');
  });
}

test('before the keys were ever fetched, a failed fetch stands for a while: a flood of random kids makes no request per token, and the wait doubles up to 30 s', async (t) => {
  const provider = await providerAnsweringJwksByHand(t);
  const stranger = generateSigningKey('stranger');
  let tokens = 0;
  const randomKidToken = () => provider.sign({ ...stranger, kid: `random-${++tokens}` });
  const flood = async (count: number) => {
    for (let index = 0; index < count; index++) {
      t.regex(await codeOf(provider.verifier.verify(randomKidToken())), /^idp_unavailable: The identity provider's signing keys at .* could not be loaded \(HTTP 503\)/);
    }
  };
  const failing = codeOf(provider.verifier.verify(randomKidToken()));
  (await provider.nextJwksRequest()).answer(503, '');
  t.regex(await failing, /^idp_unavailable/);

  await flood(20);
  t.is(provider.stats.jwksRequests, 1);

  // Then 1 s, 2 s, 4 s … between fetches, at most 30 s: a few requests a minute.
  const expectedRequests = [1, 2, 4, 8, 16, 30, 30].map((waitSec, index) => ({ waitSec, requests: index + 2 }));
  for (const { waitSec, requests } of expectedRequests) {
    provider.clock.advance(waitSec - 0.5);
    await flood(3);
    t.is(provider.stats.jwksRequests, requests - 1, `${waitSec - 0.5} s after a failure`);
    provider.clock.advance(0.5);
    const retried = codeOf(provider.verifier.verify(randomKidToken()));
    (await provider.nextJwksRequest()).answer(503, '');
    t.regex(await retried, /^idp_unavailable/);
    t.is(provider.stats.jwksRequests, requests);
  }

  // The provider is back: the next fetch after the wait succeeds, and the waits start over.
  const key = generateSigningKey('key-1');
  provider.clock.advance(30);
  const back = codeOf(provider.verifier.verify(provider.sign(key)));
  (await provider.nextJwksRequest()).answer(200, jwks(key));
  t.is(await back, 'accepted');
});
