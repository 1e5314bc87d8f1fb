import test from 'ava';
import { CookieJar } from 'tough-cookie';
import { createServerApi, errorDescription, plainHttpAddress } from '../../login-helper/api.ts';
import { isLoginError } from '../../login-helper/errors.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { startDevServer } from '../helpers/server.ts';

test('a token the server refuses: the message quotes the server and says how to sign in again', async (t) => {
  const server = await startDevServer();
  t.teardown(server.close);
  const forged = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`;

  const error = await t.throwsAsync(createServerApi(server.url).fetchEmail(forged));

  t.true(isLoginError(error, 'IDENTITY_REFUSED'));
  t.regex(error.message, /^The server refused GET \/user\/id: 401 Unauthorized: .+ \(sign in again: koa-oidc-sso login\)$/);
  t.false(error.message.includes(forged));
});

test("the server's explanation reaches the terminal without control characters, cut to a line", async (t) => {
  const hostile = { error: 'not_found', error_description: `no email\u001b[2J\u001b]0;owned\u0007${'x'.repeat(500)}` };
  const server = await startFakeHttp((_request, response) => {
    response.statusCode = 404;
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify(hostile));
  });
  t.teardown(server.close);

  const error = await t.throwsAsync(createServerApi(server.url).fetchEmail('a.b.c'));

  t.true(isLoginError(error, 'IDENTITY_REFUSED'));
  t.true(error.message.startsWith('The server refused GET /user/id: 404 Not Found: no email [2J ]0;owned x'), error.message);
  t.false(/[\u0000-\u001f]/.test(error.message)); // eslint-disable-line no-control-regex
  t.false(error.message.includes('sign in again')); // a 404 is no reason to sign in again
});

test('error bodies that are not the server’s JSON give no explanation', (t) => {
  t.is(errorDescription('<html>Bad Gateway</html>'), undefined);
  t.is(errorDescription('{"error_description":42}'), undefined);
  t.is(errorDescription('{"error_description":"\\u0007"}'), undefined);
  t.is(errorDescription('{"error_description":"No session"}'), 'No session');
});

test('ending the server session succeeds on its answer (a page or a redirect) and fails on an error status', async (t) => {
  const server = await startDevServer();
  t.teardown(server.close);
  await t.notThrowsAsync(createServerApi(server.url).endSession(new CookieJar()));

  const broken = await startFakeHttp((_request, response) => {
    response.statusCode = 500;
    response.end();
  });
  t.teardown(broken.close);
  await t.throwsAsync(createServerApi(broken.url).endSession(new CookieJar()), { message: 'the server answered GET /logout with 500 Internal Server Error' });
});

test('the reachability check passes the real server, whose GET /healthz answers 200 "ok"', async (t) => {
  const server = await startDevServer();
  t.teardown(server.close);
  await t.notThrowsAsync(createServerApi(server.url).checkReachable());
});

test('a web server that is not koa-oidc-sso fails the reachability check, naming the URL and its answer', async (t) => {
  const notOurs = await startFakeHttp((request, response) => {
    // python3 -m http.server has no /healthz; another app may answer it with something else.
    response.statusCode = request.url === '/other/healthz' ? 200 : 404;
    response.end(request.url === '/other/healthz' ? '{"status":"UP"}' : 'File not found');
  });
  t.teardown(notOurs.close);

  const missing = await t.throwsAsync(createServerApi(notOurs.url).checkReachable());
  t.true(isLoginError(missing, 'SERVER_UNREACHABLE'));
  t.is(missing.message, `${notOurs.url} does not look like a koa-oidc-sso server (GET /healthz answered 404 Not Found)`);

  const other = await t.throwsAsync(createServerApi(`${notOurs.url}/other`).checkReachable());
  t.true(isLoginError(other, 'SERVER_UNREACHABLE'));
  t.is(other.message, `${notOurs.url}/other does not look like a koa-oidc-sso server (GET /healthz answered 200 without "ok")`);
});

test('a port nobody listens on still fails as a connection error naming the URL', async (t) => {
  const closed = await startFakeHttp((_request, response) => void response.end());
  await closed.close();

  const error = await t.throwsAsync(createServerApi(closed.url).checkReachable());
  t.true(isLoginError(error, 'SERVER_UNREACHABLE'));
  t.is(error.message, `Cannot reach the server at ${closed.url}/healthz (ECONNREFUSED): is it running there? Otherwise pass --server or set SSO_SERVER`);
});

test('an https address where a plain http server answers: the message says to pass the http address', async (t) => {
  const plain = await startFakeHttp((_request, response) => void response.end('ok'));
  t.teardown(plain.close);
  const https = plain.url.replace(/^http:/, 'https:');

  const error = await t.throwsAsync(createServerApi(https).checkReachable());
  t.true(isLoginError(error, 'SERVER_UNREACHABLE'));
  t.is(error.message, `Cannot reach the server at ${https}/healthz over TLS (EPROTO): if it serves plain http, pass --server ${plain.url}`);
});

test('the plain http address of an https one keeps its port, 443 when it names none', (t) => {
  t.is(plainHttpAddress('https://127.0.0.1:8443'), 'http://127.0.0.1:8443');
  t.is(plainHttpAddress('https://sso.example.com'), 'http://sso.example.com:443');
  t.is(plainHttpAddress('https://sso.example.com:443/sso'), 'http://sso.example.com:443/sso');
});
