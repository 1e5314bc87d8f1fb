import test from 'ava';
import { ConfigError, loadConfig, publicUrlWarning } from '../../server/config.ts';

const KEY = 'k'.repeat(32);
const idp = { OIDC_ISSUER: 'https://login.example.com', OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 'secret' };

test('defaults: port 5000 on 127.0.0.1, the development IdP, the openid profile email scopes', (t) => {
  const config = loadConfig({});
  t.is(config.port, 5000);
  t.is(config.host, '127.0.0.1');
  t.is(config.publicUrl, undefined);
  t.is(config.oidc, undefined);
  t.deepEqual(config.scopes, ['openid', 'profile', 'email']);
  t.false(config.trustProxy);
  t.true(Object.isFrozen(config));
});

test('OIDC_ISSUER: discovery below the issuer, whose issuer must match', (t) => {
  const config = loadConfig({ ...idp, OIDC_ISSUER: 'https://login.example.com/realms/main/' });
  t.is(config.oidc?.discoveryUrl.href, 'https://login.example.com/realms/main/.well-known/openid-configuration');
  t.is(config.oidc?.expectedIssuer, 'https://login.example.com/realms/main/');
  t.is(config.oidc?.clientId, 'app');
});

test('OIDC_WELL_KNOWN_URL: the document is used as given', (t) => {
  const config = loadConfig({ ...idp, OIDC_ISSUER: undefined, OIDC_WELL_KNOWN_URL: 'https://idp.example.com/x/.well-known/openid-configuration' });
  t.is(config.oidc?.discoveryUrl.href, 'https://idp.example.com/x/.well-known/openid-configuration');
  t.is(config.oidc?.expectedIssuer, undefined);
});

test('SESSION_KEYS is a comma-separated list; the first signs', (t) => {
  const config = loadConfig({ SESSION_KEYS: ` ${'a'.repeat(32)} , ${'b'.repeat(40)} ` });
  t.deepEqual(config.sessionKeys, ['a'.repeat(32), 'b'.repeat(40)]);
});

test('empty variables count as unset, as in a .env file', (t) => {
  const config = loadConfig({ PORT: '', OIDC_ISSUER: '', PUBLIC_URL: ' ' });
  t.is(config.port, 5000);
  t.is(config.oidc, undefined);
});

const bad: Array<[Record<string, string>, RegExp]> = [
  [{ PORT: 'eighty' }, /^PORT: /],
  [{ PORT: '70000' }, /^PORT: must be between 0 and 65535/],
  [{ PORT: '80.5' }, /^PORT: /],
  [{ PORT: '0x1388' }, /^PORT: must be a port number \(digits only\)/],
  [{ PORT: '5e3' }, /^PORT: must be a port number \(digits only\)/],
  [{ PUBLIC_URL: 'localhost:5000' }, /^PUBLIC_URL: /],
  [{ PUBLIC_URL: 'https://sso.example.com/base' }, /^PUBLIC_URL: must be an origin/],
  [{ TRUST_PROXY: 'maybe' }, /^TRUST_PROXY: must be true or false \(also 1\/0, yes\/no\)$/],
  [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent$/],
  [{ OIDC_SCOPES: 'profile email' }, /^OIDC_SCOPES: must include "openid"/],
  [{ OIDC_SCOPES: 'openid "quoted"' }, /^OIDC_SCOPES: /],
  [{ SESSION_KEYS: 'short' }, /^SESSION_KEYS: every key must be at least 32 characters/],
  [{ SESSION_KEYS: ' , ' }, /^SESSION_KEYS: /],
  [{ OIDC_ISSUER: 'not a url', OIDC_CLIENT_ID: 'a', OIDC_CLIENT_SECRET: 'b' }, /^OIDC_ISSUER: must be an absolute http\(s\) URL/],
  [{ OIDC_ISSUER: 'https://login.example.com' }, /^OIDC_CLIENT_ID is required/],
  [{ OIDC_ISSUER: 'https://login.example.com', OIDC_CLIENT_ID: 'app' }, /^OIDC_CLIENT_SECRET is required/],
  [{ OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 'secret' }, /^OIDC_CLIENT_ID is set but no identity provider is: set OIDC_ISSUER/],
  [{ OIDC_CLIENT_SECRET: 'secret' }, /^OIDC_CLIENT_SECRET is set but no identity provider is/],
  [{ NODE_ENV: 'production', SESSION_KEYS: KEY, OIDC_CLIENT_ID: 'app' }, /^OIDC_CLIENT_ID is set but no identity provider is/],
  [{ ...idp, OIDC_WELL_KNOWN_URL: 'https://login.example.com/.well-known/openid-configuration' }, /both set/],
  [{ NODE_ENV: 'production', ...idp }, /^SESSION_KEYS is required when NODE_ENV=production/],
  [{ NODE_ENV: 'production', SESSION_KEYS: KEY }, /development IdP never runs in production/],
  [{ NODE_ENV: 'production', SESSION_KEYS: KEY, ...idp, OIDC_ISSUER: 'http://login.example.com' }, /^OIDC_ISSUER: must be an https URL when NODE_ENV=production/],
  [{ NODE_ENV: 'production', SESSION_KEYS: KEY, ...idp, PUBLIC_URL: 'http://sso.example.com' }, /^PUBLIC_URL: must be an https URL/],
  [{ ...idp, OIDC_CLIENT_SECRET: 's\u00e9cret' }, /^OIDC_CLIENT_SECRET: must be printable ASCII/],
  [{ ...idp, OIDC_CLIENT_ID: 'app\u200b' }, /^OIDC_CLIENT_ID: must be printable ASCII/],
  [{ NODE_ENV: 'production', SESSION_KEYS: KEY, ...idp }, /^PUBLIC_URL is required when NODE_ENV=production/],
  [{ NODE_ENV: 'Production', ...idp }, /^NODE_ENV: must be exactly "production"/],
  [{ NODE_ENV: 'prod', ...idp }, /^NODE_ENV: must be exactly "production" to run in production, or unset for development/],
  [{ ...idp, OIDC_ISSUER: 'https://login.example.com/.well-known/openid-configuration' }, /^OIDC_ISSUER: is the issuer, not its discovery document/],
  [{ ...idp, OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt' }, /^OIDC_TOKEN_ENDPOINT_AUTH_METHOD: must be client_secret_basic or client_secret_post/],
];

for (const [env, message] of bad) {
  test(`refuses ${JSON.stringify(env)} with a line naming the variable`, (t) => {
    const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.regex(error?.message.split('\n')[0] ?? '', message);
  });
}

test('every problem is named at once, a line each: a new deployment learns all it lacks from one start', (t) => {
  const production = t.throws(() => loadConfig({ NODE_ENV: 'production' }), { instanceOf: ConfigError });
  t.deepEqual(
    production?.message.split('\n').map((line) => line.split(' ')[0]),
    ['SESSION_KEYS', 'OIDC_ISSUER', 'PUBLIC_URL'],
  );
  const values = t.throws(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'loud', TRUST_PROXY: 'maybe' }), { instanceOf: ConfigError });
  t.deepEqual(
    values?.message.split('\n').map((line) => line.split(':')[0]),
    ['PORT', 'TRUST_PROXY', 'LOG_LEVEL'],
  );
});

test('production with an IdP and session keys is accepted; http only on loopback', (t) => {
  t.true(loadConfig({ NODE_ENV: 'production', SESSION_KEYS: KEY, ...idp, PUBLIC_URL: 'https://sso.example.com' }).production);
  t.true(loadConfig({ NODE_ENV: 'production', SESSION_KEYS: KEY, ...idp, OIDC_ISSUER: 'http://127.0.0.1:8080/realms/x', PUBLIC_URL: 'http://localhost:5000' }).production);
});

test('OIDC_TOKEN_ENDPOINT_AUTH_METHOD overrides the choice from discovery', (t) => {
  t.is(loadConfig({ ...idp, OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' }).oidc?.tokenEndpointAuthMethod, 'client_secret_post');
  t.is(loadConfig(idp).oidc?.tokenEndpointAuthMethod, undefined);
});

test('a refused client secret is not quoted in the error', (t) => {
  const error = t.throws(() => loadConfig({ ...idp, OIDC_CLIENT_SECRET: 'top-s\u00e9cret' }), { instanceOf: ConfigError });
  t.false(error?.message.includes('top-s'));
});

test('a HOST other machines reach without PUBLIC_URL is warned about', (t) => {
  t.regex(publicUrlWarning(loadConfig({ HOST: '0.0.0.0' })) ?? '', /^HOST=0\.0\.0\.0 accepts other machines, but PUBLIC_URL is not set/);
  t.truthy(publicUrlWarning(loadConfig({ HOST: '::' })));
  t.is(publicUrlWarning(loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'https://sso.example.com' })), undefined);
  for (const host of ['127.0.0.1', 'localhost', '::1']) t.is(publicUrlWarning(loadConfig({ HOST: host })), undefined, host);
});

test('production with a loopback PUBLIC_URL starts, with a warning', (t) => {
  const production = { NODE_ENV: 'production', SESSION_KEYS: KEY, ...idp };
  for (const url of ['http://localhost:5000', 'http://127.0.0.1:5000', 'https://localhost']) {
    t.regex(publicUrlWarning(loadConfig({ ...production, PUBLIC_URL: url })) ?? '', /^NODE_ENV=production, but PUBLIC_URL is .* a loopback address: only a browser on this machine can sign in/, url);
  }
  t.is(publicUrlWarning(loadConfig({ ...production, PUBLIC_URL: 'https://sso.example.com' })), undefined);
  t.is(publicUrlWarning(loadConfig({ PUBLIC_URL: 'http://localhost:5000' })), undefined, 'development');
});
