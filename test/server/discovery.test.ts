import test from 'ava';
import { httpEndpointIn } from '../../server/oidc/discovery.ts';

const secure = {
  issuer: 'https://idp.example.com',
  authorization_endpoint: 'https://idp.example.com/auth',
  token_endpoint: 'https://idp.example.com/token',
  jwks_uri: 'https://idp.example.com/jwks',
  end_session_endpoint: 'https://idp.example.com/logout',
};
const documentUrl = new URL('https://idp.example.com/.well-known/openid-configuration');

test('a document fetched over https may not send the secret, the code or the keys over http', (t) => {
  t.is(httpEndpointIn(secure, documentUrl), undefined);
  for (const name of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint'] as const) {
    t.is(httpEndpointIn({ ...secure, [name]: 'http://idp.example.com/x' }, documentUrl), name);
  }
});

test('a document fetched over http (a local development IdP) is taken as it is', (t) => {
  const local = { ...secure, token_endpoint: 'http://127.0.0.1:4000/token' };
  t.is(httpEndpointIn(local, new URL('http://127.0.0.1:4000/.well-known/openid-configuration')), undefined);
});
