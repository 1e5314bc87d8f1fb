import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { TEST_IDS } from '../../shared/constants.ts';
import { cookieClient, signIn } from '../helpers/browserless-login.ts';
import { rawRequest, startDevServer, startServerWithIdp, TEST_SESSION_KEY } from '../helpers/server.ts';
import { startIdp } from '../helpers/idp.ts';

test('with no IdP configured, the development IdP at /idp signs anybody in with an email', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  t.true(server.devIdp);
  const { http } = cookieClient();

  const discovery = await http.get(`${server.url}/idp/.well-known/openid-configuration`).json<Record<string, unknown>>();
  t.is(discovery.issuer, `${server.url}/idp`);

  const form = await http.get(`${server.url}/login`);
  t.regex(form.body, /<input name="email"/);
  t.regex(form.body, /<button type="submit"/);

  const page = await signIn(server.url, 'newcomer@example.com', { http });
  t.is(page.statusCode, 200);
  t.true(page.body.includes(`data-testid="${TEST_IDS.loginSuccess}"`));
  const idToken = (await http.get(`${server.url}/user/token`)).body;
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString());
  t.is(claims.email, 'newcomer@example.com');
  const id = await cookieClient().http.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${idToken}` } });
  t.is(id.body, 'newcomer@example.com');
});

test("paths under /idp that the development IdP does not serve are a 404, not the server's sign-in demand", async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  for (const path of ['/idp/token', '/idp/no-such-page']) {
    const response = await http.get(`${server.url}${path}`);
    t.is(response.statusCode, 404, path);
    t.is(response.headers['www-authenticate'], undefined, path);
  }
});

test("/logout ends the development IdP's session with one click on its own page: the next sign-in asks again", async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  await signIn(server.url, 'leaving@example.com', { http });

  const confirm = await http.get(`${server.url}/logout`);
  t.is(confirm.statusCode, 200);
  t.regex(String(confirm.headers['content-security-policy']), /default-src 'none'/);
  t.false(confirm.body.includes('googleapis'), 'no external resources');
  t.false(confirm.body.includes('stay signed in'));
  const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"\/><\/form>/.exec(confirm.body);
  t.truthy(action, confirm.body);
  t.regex(confirm.body, /<button type="submit" form="op\.logoutForm" name="logout" value="yes"/);

  const signedOut = await http.post(new URL(action![1]!, server.url), { form: { xsrf: action![2]!, logout: 'yes' } });
  t.is(signedOut.statusCode, 200);
  t.true(signedOut.body.includes(`data-testid="${TEST_IDS.logoutSuccess}"`));
  t.regex((await http.get(`${server.url}/login`)).body, /<input name="email"/, 'the IdP asks for an email again');
});

test('the development IdP refuses an invalid email and escapes nothing into the page', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  const page = await signIn(server.url, '<img src=x onerror=alert(1)>', { http });
  t.is(page.statusCode, 400);
  t.regex(page.body, /Enter a valid email address/);
  t.false(page.body.includes('<img'));
  t.is((await http.get(`${server.url}/user/token`)).statusCode, 401);
  const longName = await signIn(server.url, 'ada@example.com', { http: cookieClient().http, name: 'A'.repeat(101) });
  t.is(longName.statusCode, 400);
  t.regex(longName.body, /Name: at most 100 characters/);
});

test('the development IdP pins its URLs to the issuer: a forged Host is neither echoed nor a 500', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  for (const host of ['evil.example.com', 'a b', '[::1', 'a:99999']) {
    const response = await http.get(`${server.url}/idp/.well-known/openid-configuration`, { headers: { host } });
    t.is(response.statusCode, 200, host);
    const discovery = JSON.parse(response.body);
    t.is(discovery.token_endpoint, `${server.url}/idp/token`, host);
    t.is(discovery.jwks_uri, `${server.url}/idp/jwks`, host);
  }
  // A request line naming another host (absolute form, as clients send to proxies) is no way round it.
  const reply = await rawRequest(server, `GET http://evil.example.com/idp/.well-known/openid-configuration HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n`);
  t.regex(reply, /^HTTP\/1\.1 200 /);
  const discovery = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
  t.is(discovery.token_endpoint, `${server.url}/idp/token`);
  t.is(discovery.authorization_endpoint, `${server.url}/idp/auth`);
});

test('the development IdP answers an unreadable sign-in form with a 4xx, not a 500', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  const form = await http.get(`${server.url}/login`);
  t.regex(form.url, /\/idp\/interaction\//);
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const notGzip = await http.post(form.url, { body: 'email=a%40example.com', headers: { ...headers, 'content-encoding': 'gzip' } });
  t.is(notGzip.statusCode, 400);
  const unknown = await http.post(form.url, { body: 'email=a%40example.com', headers: { ...headers, 'content-encoding': 'br2' } });
  t.is(unknown.statusCode, 415);
});

test('session keys rotate: a cookie signed with an older key still works after a new key is added', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const { http } = cookieClient();
  const before = await startServerWithIdp(idp, { SESSION_KEYS: TEST_SESSION_KEY });
  await signIn(before.url, 'rotating@example.com', { http });
  t.is((await http.get(`${before.url}/user/id`)).body, 'rotating@example.com');
  await before.close();

  const newKey = 'a-brand-new-session-key-0123456789abcdef';
  const after = await startServerWithIdp(idp, { SESSION_KEYS: `${newKey},${TEST_SESSION_KEY}` });
  t.teardown(() => after.close());
  // Cookies are per host, not per port: the jar sends the old cookie to the restarted server.
  t.is((await http.get(`${after.url}/user/id`)).body, 'rotating@example.com');

  // A server that knows none of the keys does not trust the cookie.
  const stranger = await startServerWithIdp(idp, { SESSION_KEYS: 'an-unrelated-session-key-0123456789abcdef' });
  t.teardown(() => stranger.close());
  t.is((await http.get(`${stranger.url}/user/id`)).statusCode, 401);
});

/** Runs `npm start`'s entry point with the given environment; resolves with its exit code and stderr. */
async function runServerMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // 'close', not 'exit': the exit can come before the last of stderr has been read.
  const [code] = await once(child, 'close');
  return { code: code as number, stderr };
}

test('a bad configuration stops the server with one clear line, no stack trace', async (t) => {
  const { code, stderr } = await runServerMain({ PORT: 'eighty' });
  t.is(code, 2);
  t.is(stderr.trim(), 'koa-oidc-sso: configuration error: PORT: must be a port number');
});

test('an address the server cannot listen on is one clear line', async (t) => {
  // 192.0.2.1 (TEST-NET-1, RFC 5737) is no address of this machine: binding fails at once, nothing is sent.
  const { code, stderr } = await runServerMain({ HOST: '192.0.2.1', PORT: '0', SESSION_KEYS: TEST_SESSION_KEY });
  t.is(code, 1);
  t.regex(stderr.trim(), /^koa-oidc-sso: cannot listen \(check HOST and PORT\): listen EADDRNOTAVAIL: address not available 192\.0\.2\.1/);
});

test('the development IdP refuses to start when NODE_ENV=production', async (t) => {
  const { code, stderr } = await runServerMain({ NODE_ENV: 'production', SESSION_KEYS: TEST_SESSION_KEY });
  t.is(code, 2);
  t.regex(stderr, /development IdP never runs in production/);
});

test('without SESSION_KEYS, development keys are generated once, kept in a 0600 file, and reused', async (t) => {
  const dataHome = mkdtempSync(path.join(tmpdir(), 'sso-dev-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', XDG_DATA_HOME: dataHome, HOME: dataHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('listening on')) resolve();
    });
  });
  await listening;
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  t.is(code, 0, 'graceful shutdown on SIGTERM');
  t.regex(output, /SESSION_KEYS is not set/);
  t.regex(output, /DEVELOPMENT IdP/);
  const file = path.join(dataHome, 'koa-oidc-sso', 'dev-server.json');
  t.is(statSync(file).mode & 0o777, 0o600);
});

test('a configured IdP without SESSION_KEYS outside production uses the kept development key', async (t) => {
  const dataHome = mkdtempSync(path.join(tmpdir(), 'sso-dev-'));
  const previous = process.env.XDG_DATA_HOME;
  process.env.XDG_DATA_HOME = dataHome;
  t.teardown(() => {
    if (previous === undefined) delete process.env.XDG_DATA_HOME;
    else process.env.XDG_DATA_HOME = previous;
  });
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, { SESSION_KEYS: '' });
  t.teardown(() => server.close());
  const { http } = cookieClient();
  const page = await signIn(server.url, 'keyless@example.com', { http });
  t.is(page.statusCode, 200);
  t.is((await http.get(`${server.url}/user/id`)).body, 'keyless@example.com');
  t.is(statSync(path.join(dataHome, 'koa-oidc-sso', 'dev-server.json')).mode & 0o777, 0o600);
});
