import test from 'ava';
import { generateSigningKey } from '../../server/dev-idp/keys.ts';
import { SsoError } from '../../server/errors.ts';
import { createDiscovery } from '../../server/oidc/discovery.ts';
import { createKeyStore } from '../../server/oidc/keys.ts';
import { createTokenVerifier } from '../../server/oidc/verify.ts';
import { startIdp, TEST_CLIENT_ID, type TestIdp } from '../helpers/idp.ts';
import { movableClock } from '../helpers/verification.ts';

/** A verifier against a real IdP, on a clock the test moves. */
async function setup(t: { teardown(fn: () => Promise<void>): void }, options: { cacheSize?: number } = {}) {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const clock = movableClock();
  const requests = { jwks: 0 };
  const discovery = createDiscovery({ url: new URL(`${idp.issuer}/.well-known/openid-configuration`), now: clock.now });
  const keyStore = createKeyStore({
    jwksUri: async () => (await discovery.get()).jwks_uri,
    now: clock.now,
    onRequest: () => requests.jwks++,
  });
  const verifier = createTokenVerifier({ discovery, keyStore, clientId: TEST_CLIENT_ID, now: clock.now, ...options });
  const token = (claims: Record<string, unknown> = {}, key?: Record<string, unknown>) => {
    const nowSec = Math.floor(clock.now() / 1000);
    return idp.sign({ iss: idp.issuer, sub: 'user-1', aud: TEST_CLIENT_ID, iat: nowSec, exp: nowSec + 120, ...claims }, key ? { key } : {});
  };
  return { idp, clock, verifier, token, requests, keyStore };
}

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  return error instanceof SsoError ? error : undefined;
}

test('a token remembered while valid is rejected once it expires', async (t) => {
  const { clock, verifier, token } = await setup(t);
  const idToken = token();
  await verifier.verify(idToken);
  t.truthy(verifier.remembered(idToken));

  // Past exp and past the 30 s clock tolerance of a full verification.
  clock.advance(151);
  t.is(verifier.remembered(idToken), undefined);
  const error = await rejection(verifier.verify(idToken));
  t.is(error?.code, 'invalid_token');
  t.regex(error?.message ?? '', /expired/);
});

test('a remembered token expires at its exp, not at exp plus the clock tolerance', async (t) => {
  const { clock, verifier, token } = await setup(t);
  const idToken = token();
  await verifier.verify(idToken);
  clock.advance(120);
  t.is(verifier.remembered(idToken), undefined);
});

test('a tampered copy of a remembered token is rejected', async (t) => {
  const { verifier, token } = await setup(t);
  const idToken = token({ email: 'alice@example.com' });
  await verifier.verify(idToken);
  const [header, , signature] = idToken.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()), email: 'admin@example.com' })).toString('base64url');
  const error = await rejection(verifier.verify(`${header}.${forged}.${signature}`));
  t.is(error?.code, 'invalid_token');
  t.regex(error?.message ?? '', /signature/);
  // The copy ends in the same characters as the genuine token: its entry must survive the attempt.
  t.is(verifier.remembered(`${header}.${forged}.${signature}`), undefined);
  t.is(verifier.remembered(idToken)?.email, 'alice@example.com');
  t.is(verifier.rememberedCount(), 1);
});

test('a remembered token stops working when its key leaves the JWKS at the next refresh', async (t) => {
  const { idp, clock, verifier, token, requests, keyStore } = await setup(t);
  const idToken = token({ exp: Math.floor(clock.now() / 1000) + 3600 });
  await verifier.verify(idToken);
  t.is(requests.jwks, 1);

  await rotate(idp, [generateSigningKey('key-2')]);
  // Keys are refreshed after 10 minutes, in the background: the first look starts it.
  clock.advance(11 * 60);
  verifier.remembered(idToken);
  await keyStore.settled();
  t.is(requests.jwks, 2);
  t.is(verifier.remembered(idToken), undefined);
  t.is((await rejection(verifier.verify(idToken)))?.code, 'invalid_token');
});

test('the remembered tokens stay bounded by cacheSize', async (t) => {
  const { verifier, token } = await setup(t, { cacheSize: 3 });
  const tokens = Array.from({ length: 10 }, (_, index) => token({ sub: `user-${index}` }));
  for (const idToken of tokens) await verifier.verify(idToken);
  t.is(verifier.rememberedCount(), 3);
  t.truthy(verifier.remembered(tokens[9]!));
  t.is(verifier.remembered(tokens[0]!), undefined);
});

test('a flood of tokens with random signatures is not remembered and fetches no keys', async (t) => {
  const { verifier, token, requests } = await setup(t);
  const genuine = token();
  await verifier.verify(genuine);
  const [header, payload] = genuine.split('.');
  for (let index = 0; index < 200; index++) {
    const signature = Buffer.from(crypto.getRandomValues(new Uint8Array(256))).toString('base64url');
    t.is((await rejection(verifier.verify(`${header}.${payload}.${signature}`)))?.code, 'invalid_token');
  }
  t.is(verifier.rememberedCount(), 1);
  t.is(requests.jwks, 1);
});

test('a nonce check always verifies in full, even for a remembered token', async (t) => {
  const { verifier, token } = await setup(t);
  const idToken = token({ nonce: 'nonce-1' });
  await verifier.verify(idToken);
  t.is((await verifier.verify(idToken, { nonce: 'nonce-1' })).nonce, 'nonce-1');
  const error = await rejection(verifier.verify(idToken, { nonce: 'another-nonce' }));
  t.regex(error?.message ?? '', /nonce/);
});

async function rotate(idp: TestIdp, keys: Array<Record<string, unknown>>) {
  await idp.stop();
  await idp.start({ signingKeys: keys });
}

