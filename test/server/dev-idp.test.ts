import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import type { Got, Response } from 'got';
import { pino } from 'pino';
import { createDevIdp } from '../../server/dev-idp/provider.ts';
import { LOGGER_OPTIONS } from '../../server/logger.ts';
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
  for (const host of ['evil.example.com', 'a:99999']) {
    const response = await http.get(`${server.url}/idp/.well-known/openid-configuration`, { headers: { host } });
    t.is(response.statusCode, 200, host);
    const discovery = JSON.parse(response.body);
    t.is(discovery.token_endpoint, `${server.url}/idp/token`, host);
    t.is(discovery.jwks_uri, `${server.url}/idp/jwks`, host);
  }
  // One that is no host at all is a malformed request before it reaches the IdP.
  for (const host of ['a b', '[::1']) {
    const response = await http.get(`${server.url}/idp/.well-known/openid-configuration`, { headers: { host } });
    t.is(response.statusCode, 400, host);
  }
  // A request line naming another host (absolute form, as clients send to proxies) is no way round it.
  const reply = await rawRequest(server, `GET http://evil.example.com/idp/.well-known/openid-configuration HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n`);
  t.regex(reply, /^HTTP\/1\.1 200 /);
  const discovery = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
  t.is(discovery.token_endpoint, `${server.url}/idp/token`);
  t.is(discovery.authorization_endpoint, `${server.url}/idp/auth`);
  // One that is no URL at all is a malformed request, not a request for /.
  const unreadable = await rawRequest(server, `GET http://[bad/idp/.well-known/openid-configuration HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n`);
  t.regex(unreadable, /^HTTP\/1\.1 400 /);
  t.regex(unreadable, /"error":"invalid_request"/);
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

/** What a browser sends: it prefers HTML. */
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** A page of the server's own: its CSP, nosniff, nothing loaded from elsewhere, none of oidc-provider's markup. */
function assertOwnPage(t: ExecutionContext, response: Response<string>, label: string) {
  t.regex(String(response.headers['content-type']), /^text\/html/, label);
  t.regex(String(response.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/, label);
  t.is(response.headers['x-content-type-options'], 'nosniff', label);
  t.false(response.body.includes('googleapis'), `${label}: no external resources`);
  t.false(response.body.includes('oops! something went wrong'), `${label}: not oidc-provider's page`);
}

/** Signs in at the development IdP up to its redirect back to the authorization endpoint (/idp/auth/<uid>). */
async function resumeUrl(serverUrl: string, http: Got): Promise<URL> {
  const form = await http.get(`${serverUrl}/login`);
  const action = /<form method="post" action="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const signedIn = await http.post(new URL(action, form.url), { form: { email: 'twice@example.com' }, followRedirect: false });
  return new URL(signedIn.headers.location ?? '', form.url);
}

test("the development IdP's error pages are the server's own: strict CSP, no web font, a reason a person can read", async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();

  const unknownClient = await http.get(`${server.url}/idp/auth?client_id=nobody&response_type=code&scope=openid`, { headers: BROWSER });
  t.is(unknownClient.statusCode, 400);
  assertOwnPage(t, unknownClient, 'unknown client_id');
  t.true(unknownClient.body.includes(`data-testid="${TEST_IDS.loginError}"`));
  t.regex(unknownClient.body, /not registered at the development identity provider/);

  const resume = await resumeUrl(server.url, http);
  t.regex(resume.pathname, /^\/idp\/auth\/./);
  t.true((await http.get(resume)).body.includes(`data-testid="${TEST_IDS.loginSuccess}"`), 'the first time, the sign-in completes');
  const twice = await http.get(resume, { headers: BROWSER, followRedirect: false });
  t.is(twice.statusCode, 400);
  assertOwnPage(t, twice, 'a sign-in resumed twice');
  t.regex(twice.body, /Sign-in failed[\s\S]*Reason: authorization request has expired/);

  const confirm = await http.get(`${server.url}/logout`);
  const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
  const forged = await http.post(new URL(action, server.url), { form: { xsrf: 'forged', logout: 'yes' }, headers: BROWSER });
  t.is(forged.statusCode, 400);
  assertOwnPage(t, forged, 'a bad xsrf at the sign-out confirmation');
  t.regex(forged.body, /Sign-out failed/);

  const signedOut = await http.get(`${server.url}/idp/session/end/success`, { headers: BROWSER });
  t.is(signedOut.statusCode, 200);
  assertOwnPage(t, signedOut, 'the sign-out success page');
  t.regex(signedOut.body, /signed out of the development identity provider/);
});

test('the development IdP answers JSON, not a page, to a client that asks for JSON', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  const json = { accept: 'application/json' };

  const badUid = await http.get(`${server.url}/idp/auth/%ZZ`, { headers: json });
  t.is(badUid.statusCode, 400);
  t.regex(String(badUid.headers['content-type']), /^application\/json/);
  t.is(JSON.parse(badUid.body).error, 'invalid_request');

  const unknownClient = await http.get(`${server.url}/idp/auth?client_id=nobody&response_type=code&scope=openid`, { headers: json });
  t.is(unknownClient.statusCode, 400);
  t.is(JSON.parse(unknownClient.body).error, 'invalid_client');
});

test("the development IdP's error pages leave the server's JSON-lines log alone: no oidc-provider notice on stdout", async (t) => {
  const dataHome = mkdtempSync(path.join(tmpdir(), 'sso-dev-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', SESSION_KEYS: TEST_SESSION_KEY, XDG_DATA_HOME: dataHome, HOME: dataHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let stdout = '';
  const address = await new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const listening = /listening on (127\.0\.0\.1:\d+)/.exec(stdout);
      if (listening) resolve(`http://${listening[1]}`);
    });
  });
  const unknownClient = await fetch(`${address}/idp/auth?client_id=nobody&response_type=code&scope=openid`, { headers: BROWSER });
  t.is(unknownClient.status, 400);
  t.is((await fetch(`${address}/idp/session/end/success`, { headers: BROWSER })).status, 200);
  child.kill('SIGTERM');
  const [code] = await once(child, 'close');
  t.is(code, 0);

  const lines = stdout.split('\n').filter(Boolean);
  t.true(lines.some((line) => line.includes('/idp/session/end/success')), 'the requests were logged');
  for (const line of lines) t.notThrows(() => JSON.parse(line), line);
});

test("the development IdP's internal errors are logged at error level, by endpoint name, without the request's query, path or cookies", (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const { provider } = createDevIdp({
    issuer: 'http://127.0.0.1:1/idp',
    clients: [],
    cookieKeys: [TEST_SESSION_KEY],
    logger: pino({ level: 'info', ...LOGGER_OPTIONS }, sink),
  });
  // No request makes oidc-provider fail on its own (that takes a broken adapter or hook), so the
  // event is emitted as its error handlers emit it: with the request's context and the error.
  const context = {
    method: 'GET',
    path: '/idp/auth/secret-interaction-uid',
    querystring: 'code=secret-code&state=secret-state',
    headers: { cookie: '_interaction=secret-cookie', authorization: 'Bearer secret-token' },
    oidc: { route: 'resume' },
  };
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  t.true(provider.emit('server_error', context, new Error('the session store is unreachable', { cause })), 'a listener is registered');

  t.is(lines.length, 1);
  t.like(lines[0], {
    level: 50,
    msg: 'development IdP: internal error',
    method: 'GET',
    route: 'resume',
    err: { type: 'Error', message: 'the session store is unreachable', cause: { code: 'ECONNREFUSED' } },
  });
  for (const secret of ['secret-interaction-uid', 'secret-code', 'secret-state', 'secret-cookie', 'secret-token']) {
    t.false(JSON.stringify(lines).includes(secret), secret);
  }
});

test('a sign-in the development IdP no longer knows says why, and to start again at /login', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();

  const unknown = await http.get(`${server.url}/idp/interaction/doesnotexist`, { headers: { accept: 'application/json' } });
  t.is(unknown.statusCode, 400);
  const { error, error_description: description } = JSON.parse(unknown.body);
  t.is(error, 'invalid_request');
  t.regex(description, /interaction session id cookie not found/);
  t.regex(description, /Start again at \/login/);

  // The form posted from another browser (without the interaction cookie).
  const form = await http.get(`${server.url}/login`);
  const elsewhere = await cookieClient().http.post(form.url, { form: { email: 'ada@example.com' }, headers: BROWSER });
  t.is(elsewhere.statusCode, 400);
  assertOwnPage(t, elsewhere, 'the form without its cookie');
  t.true(elsewhere.body.includes(`data-testid="${TEST_IDS.loginError}"`));
  t.regex(elsewhere.body, /interaction session id cookie not found/);
  t.regex(elsewhere.body, /<a href="\/login">/);
});

test('a 404 under /idp names the path as requested, /idp included, without the query', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const response = await cookieClient().http.get(`${server.url}/idp/nope?secret=1`, { headers: { accept: 'application/json' } });
  t.is(response.statusCode, 404);
  t.is(JSON.parse(response.body).error_description, 'No route for GET /idp/nope');
});

test("the development IdP's sign-in form states its limits: maxlength on its inputs, and a 413 that says it is too large", async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const { http } = cookieClient();
  const form = await http.get(`${server.url}/login`);
  t.regex(form.body, /<input name="email"[^>]* maxlength="254"/);
  t.regex(form.body, /<input name="name"[^>]* maxlength="100"/);

  const tooLarge = await http.post(form.url, { form: { email: 'ada@example.com', name: 'A'.repeat(10 * 1024) }, headers: BROWSER });
  t.is(tooLarge.statusCode, 413);
  t.regex(tooLarge.body, /The sign-in form is too large/);
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

test('a bad configuration stops the server with one clear line per problem, no stack trace', async (t) => {
  const { code, stderr } = await runServerMain({ PORT: 'eighty' });
  t.is(code, 2);
  t.is(stderr.trim(), 'koa-oidc-sso: configuration error: PORT: must be a port number (digits only)');

  // Several problems: all of them, a line each.
  const several = await runServerMain({ NODE_ENV: 'production' });
  t.is(several.code, 2);
  t.regex(several.stderr, /^koa-oidc-sso: configuration errors:\n {2}SESSION_KEYS is required .*\n {2}OIDC_ISSUER .* is required .*\n {2}PUBLIC_URL is required .*\n$/);
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
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  const exited = once(child, 'exit');
  // Should the test time out, what the server said shows in the test run, and the server goes.
  let finished = false;
  t.teardown(() => {
    if (finished) return;
    process.stderr.write(`server/main.ts never finished; it said:\n${output}\n${errors}\n`);
    child.kill('SIGKILL');
  });
  const listening = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('listening on')) resolve();
    });
  });
  // A server that dies at start fails the test with what it said, rather than leaving it waiting.
  const first = await Promise.race([listening.then(() => 'listening'), exited.then(() => 'exited')]);
  if (first === 'exited') {
    finished = true;
    return t.fail(`the server exited before listening:\n${output}\n${errors}`);
  }
  child.kill('SIGTERM');
  const [code] = await exited;
  finished = true;
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
