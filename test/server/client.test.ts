import type { IncomingMessage } from 'node:http';
import test from 'ava';
import { createOidcClient, codeChallengeFor } from '../../server/oidc/client.ts';
import { createDiscovery } from '../../server/oidc/discovery.ts';
import { SsoError } from '../../server/errors.ts';
import { loggableError } from '../../server/logger.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';

interface TokenRequest {
  url: string | undefined;
  authorization: string | undefined;
  body: URLSearchParams;
}

/** A token endpoint that records what the client sends, behind discovery metadata given by the test. */
async function tokenEndpoint(t: { teardown(fn: () => Promise<void>): void }, methods: string[] | undefined, paths = { authorize: '/authorize?tenant=a', token: '/token' }) {
  const received: TokenRequest[] = [];
  const server = await startFakeHttp(async (request: IncomingMessage, response) => {
    const base = `http://${request.headers.host}`;
    response.setHeader('content-type', 'application/json');
    if (request.url?.startsWith('/.well-known')) {
      response.end(
        JSON.stringify({
          issuer: base,
          authorization_endpoint: `${base}${paths.authorize}`,
          token_endpoint: `${base}${paths.token}`,
          jwks_uri: `${base}/jwks`,
          ...(methods ? { token_endpoint_auth_methods_supported: methods } : {}),
        }),
      );
      return;
    }
    let body = '';
    for await (const chunk of request) body += chunk;
    received.push({ url: request.url, authorization: request.headers.authorization, body: new URLSearchParams(body) });
    response.end(JSON.stringify({ access_token: 'at', token_type: 'bearer', id_token: 'h.p.s' }));
  });
  t.teardown(() => server.close());
  return { url: server.url, received };
}

function client(url: string, tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post', clientSecret = 's3cr:et') {
  return createOidcClient({
    discovery: createDiscovery({ url: new URL(`${url}/.well-known/openid-configuration`) }),
    clientId: 'my client',
    clientSecret,
    redirectUri: 'https://app.example.com/callback',
    scopes: ['openid', 'email'],
    tokenEndpointAuthMethod,
  });
}

test('the code exchange sends the code, redirect_uri and PKCE verifier, authenticating with Basic by default', async (t) => {
  const idp = await tokenEndpoint(t, ['client_secret_post', 'client_secret_basic']);
  const oidc = client(idp.url);
  const { authorizationUrl, pending } = await oidc.startLogin(undefined);
  const authorize = new URL(authorizationUrl);
  t.is(authorize.searchParams.get('tenant'), 'a', "the authorization endpoint's own query is kept");
  t.is(authorize.searchParams.get('code_challenge'), codeChallengeFor(pending.codeVerifier));

  t.is(await oidc.exchangeCode('the-code', pending), 'h.p.s');
  const [request] = idp.received;
  t.is(request?.body.get('grant_type'), 'authorization_code');
  t.is(request?.body.get('code'), 'the-code');
  t.is(request?.body.get('redirect_uri'), 'https://app.example.com/callback');
  t.is(request?.body.get('code_verifier'), pending.codeVerifier);
  t.is(request?.body.get('client_secret'), null);
  // RFC 6749 2.3.1: id and secret form-encoded before Base64.
  t.is(request?.authorization, `Basic ${Buffer.from('my+client:s3cr%3Aet').toString('base64')}`);
});

test('client_secret_post when it is all the IdP supports, or when configured', async (t) => {
  const postOnly = await tokenEndpoint(t, ['client_secret_post']);
  const first = client(postOnly.url);
  await first.exchangeCode('code', (await first.startLogin(undefined)).pending);
  t.is(postOnly.received[0]?.authorization, undefined);
  t.is(postOnly.received[0]?.body.get('client_secret'), 's3cr:et');

  const both = await tokenEndpoint(t, ['client_secret_basic', 'client_secret_post']);
  const configured = client(both.url, 'client_secret_post');
  await configured.exchangeCode('code', (await configured.startLogin(undefined)).pending);
  t.is(both.received[0]?.authorization, undefined);
  t.is(both.received[0]?.body.get('client_id'), 'my client');
  t.is(both.received[0]?.body.get('client_secret'), 's3cr:et');
});

test('endpoints whose path starts with // stay on the IdP\'s host', async (t) => {
  // new URL('//realms/x/token', host) would name the host "realms": the code and the secret would go there.
  const idp = await tokenEndpoint(t, undefined, { authorize: '//realms/x/auth', token: '//realms/x/token' });
  const oidc = client(idp.url);
  const { authorizationUrl, pending } = await oidc.startLogin(undefined);
  t.is(new URL(authorizationUrl).origin, idp.url);
  t.is(new URL(authorizationUrl).pathname, '//realms/x/auth');
  t.is(await oidc.exchangeCode('the-code', pending), 'h.p.s');
  t.is(idp.received[0]?.url, '//realms/x/token');
});

test("a client option simple-oauth2 refuses is named, and its value is in neither the error nor its cause", async (t) => {
  const idp = await tokenEndpoint(t, undefined);
  const error = await t.throwsAsync(client(idp.url, undefined, 'top-s\u00e9cret').startLogin(undefined), { instanceOf: SsoError });
  t.is(error?.code, 'idp_unavailable');
  t.regex(error?.message ?? '', /simple-oauth2 refused "client\.secret"/);
  t.false(JSON.stringify(loggableError(error)).includes('top-s'));
});
