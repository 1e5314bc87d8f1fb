/**
 * The login helper pointed at a server that lies: whatever answers at --server may send escape
 * sequences, endless bodies or a stalled answer. Each test runs a real HTTP server on 127.0.0.1.
 */
import type { ServerResponse } from 'node:http';
import test from 'ava';
import { CookieJar } from 'tough-cookie';
import { createServerApi } from '../../login-helper/api.ts';
import { isLoginError } from '../../login-helper/errors.ts';
import { MAX_ID_TOKEN_BYTES } from '../../login-helper/limits.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { FakeLauncher, NOW, cliSandbox, fakeIdToken } from './_fakes.ts';

/** Anything a terminal would act on, or that hides or reorders text. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const HOSTILE = 'ada\u001b]0;pwned\u0007\u001b[2J\u001b[1A\r\u0000\u202eevil\u202c@example.com';

/** A server answering GET /user/id with `body` (and /healthz with ok), closed when the test ends. */
async function identityServer(t: { teardown(fn: () => Promise<void>): void }, body: string) {
  const server = await startFakeHttp((request, response) => {
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.end(request.url === '/healthz' ? 'ok' : body);
  });
  t.teardown(server.close);
  return server;
}

test('/user/id answers that are not one plain line are refused, and nothing of them is printed', async (t) => {
  const answers = [HOSTILE, 'ada\r\nroot@example.com', 'ada\u0000@example.com', 'ada\u202e@example.com', 'ada\u2066@example.com', 'ada\u009b2J@example.com', `${'a'.repeat(309)}@example.com`];
  for (const answer of answers) {
    const server = await identityServer(t, answer);
    const error = await t.throwsAsync(createServerApi(server.url).fetchEmail('a.b.c'));
    t.true(isLoginError(error, 'IDENTITY_REFUSED'), JSON.stringify(answer));
    t.false(UNSAFE.test(error.message));
    t.false(error.message.includes('ada'));
  }
});

test('/user/id answers the server can give keep working: addresses up to 320 characters, international ones too', async (t) => {
  for (const answer of ['ada@example.com', 'josé.müller@bücher.example', '用户@例子.广告', `${'a'.repeat(308)}@example.com`, ' ada@example.com\n']) {
    const server = await identityServer(t, answer);
    t.is(await createServerApi(server.url).fetchEmail('a.b.c'), answer.trim());
  }
});

test('whoami and login with a hostile /user/id: exit 11, one clean line, nothing on stdout', async (t) => {
  const server = await identityServer(t, HOSTILE);
  const idToken = fakeIdToken({ exp: Math.floor(NOW / 1000) + 3600 });
  const api = { ...createServerApi(server.url), fetchIdToken: async () => idToken };
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([{ cookies: [] }]), api });
  await sandbox.store.write(server.url, idToken);

  for (const command of ['whoami', 'login']) {
    const run = await sandbox.run([command, '--server', server.url]);
    t.is(run.code, 11, run.stderr);
    t.is(run.stdout, '');
    t.regex(run.stderr, /^koa-oidc-sso: GET \/user\/id answered an identifier with control or invisible characters\n$/m);
    t.false(UNSAFE.test(run.stderr.replaceAll('\n', '')));
  }
});

/** Writes a raw HTTP answer: Node's own server refuses such a reason phrase, a hostile one sends it anyway. */
function rawAnswer(response: ServerResponse, statusLine: string, body = '') {
  response.socket?.end(`HTTP/1.1 ${statusLine}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, 'latin1');
}

test('the reason phrase of an error status is cleaned before it is printed', async (t) => {
  const phrase = 'Not Found\u001b]0;pwned\u0007\u001b[2J\u009b31m';
  const server = await startFakeHttp((_request, response) => rawAnswer(response, `404 ${phrase}`));
  t.teardown(server.close);
  const api = createServerApi(server.url);

  const refused = await t.throwsAsync(api.fetchIdToken(new CookieJar()));
  t.true(isLoginError(refused, 'TOKEN_REFUSED'));
  t.is(refused.message, 'The server refused GET /user/token: 404 Not Found ]0;pwned [2J 31m');
  const healthz = await t.throwsAsync(api.checkReachable());
  t.false(UNSAFE.test(healthz.message), healthz.message);
  const logout = await t.throwsAsync(api.endSession(new CookieJar()));
  t.false(UNSAFE.test(logout.message), logout.message);
});

/** Sends `total` bytes of `a` in 64 KB writes, as fast as the client reads; `sent` counts them. */
function flood(response: ServerResponse, total: number, sent: { bytes: number }) {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const pump = () => {
    while (sent.bytes < total && !response.destroyed) {
      sent.bytes += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', pump);
    }
    response.end();
  };
  pump();
}

test('an endless answer is cut off after 64 KB: a refused token (exit 10) or identity (exit 11), not gigabytes in memory', async (t) => {
  const sent = { bytes: 0 };
  const server = await startFakeHttp((_request, response) => {
    response.setHeader('Content-Type', 'text/plain');
    flood(response, 50 * 1024 * 1024, sent); // chunked: no Content-Length announces it
  });
  t.teardown(server.close);
  const api = createServerApi(server.url);

  const token = await t.throwsAsync(api.fetchIdToken(new CookieJar()));
  t.true(isLoginError(token, 'TOKEN_REFUSED'));
  t.is(token.message, 'The server answered GET /user/token with more than 64 KB');
  const identity = await t.throwsAsync(api.fetchEmail('a.b.c'));
  t.true(isLoginError(identity, 'IDENTITY_REFUSED'));
  t.is(identity.message, 'The server answered GET /user/id with more than 64 KB');
  t.true(sent.bytes < 40 * 1024 * 1024, `the server sent ${sent.bytes} bytes`);
});

test('an answer whose Content-Length is over 64 KB is refused before its body is read', async (t) => {
  const server = await startFakeHttp((_request, response) => {
    response.writeHead(200, { 'Content-Length': String(1024 ** 3) });
    response.write('ok'); // and then nothing: only the announced size can end this quickly
  });
  t.teardown(server.close);

  const error = await t.throwsAsync(createServerApi(server.url, { timeoutMs: 10_000 }).checkReachable());
  t.true(isLoginError(error, 'SERVER_UNREACHABLE'));
  t.is(error.message, 'The server answered GET /healthz with more than 64 KB');
});

test('an id_token larger than a Bearer header can carry is refused; a large real one passes', async (t) => {
  const tokenOf = (bytes: number) => {
    const prefix = fakeIdToken({ exp: 2_000_000_000 }).replace(/\.c2lnbmF0dXJl$/, '.');
    return prefix + 'A'.repeat(bytes - prefix.length);
  };
  let answer = '';
  const server = await startFakeHttp((_request, response) => void response.end(answer));
  t.teardown(server.close);
  const api = createServerApi(server.url);

  answer = tokenOf(MAX_ID_TOKEN_BYTES + 1);
  const error = await t.throwsAsync(api.fetchIdToken(new CookieJar()));
  t.true(isLoginError(error, 'TOKEN_REFUSED'));
  t.is(error.message, `GET /user/token answered an id_token of ${MAX_ID_TOKEN_BYTES + 1} bytes, more than the ${MAX_ID_TOKEN_BYTES} a Bearer header can carry`);

  answer = tokenOf(2800);
  t.is(await api.fetchIdToken(new CookieJar()), answer);
});

test('a server that sends its headers and then stalls: "did not answer GET … within" the limit, not "cannot reach"', async (t) => {
  const server = await startFakeHttp((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.write('eyJ'); // and then nothing
  });
  t.teardown(server.close);

  const error = await t.throwsAsync(createServerApi(server.url, { timeoutMs: 300 }).fetchIdToken(new CookieJar()));

  t.true(isLoginError(error, 'SERVER_UNREACHABLE'));
  t.is(error.message, `The server at ${server.url} did not answer GET /user/token within 0.3 s`);
});
