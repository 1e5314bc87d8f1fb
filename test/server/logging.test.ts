import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import test from 'ava';
import Koa from 'koa';
import { pino } from 'pino';
import { LOGGER_OPTIONS } from '../../server/logger.ts';
import { requestFrame } from '../../server/middleware/frame.ts';
import { cookieClient, signIn } from '../helpers/browserless-login.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { startIdp } from '../helpers/idp.ts';
import { startDevServer, startServerWithIdp, startTestServer } from '../helpers/server.ts';

/** A pino destination that keeps the lines written to it; `onLine` runs after each write. */
function lineSink() {
  const capture = { lines: [] as string[], onLine: () => {}, sink: undefined as unknown as Writable };
  capture.sink = new Writable({
    write(chunk, _encoding, done) {
      capture.lines.push(...String(chunk).split('\n').filter(Boolean));
      capture.onLine();
      done();
    },
  });
  return capture;
}

test('one log line per request with method, path, status and duration; no token, code or cookie in any line', async (t) => {
  const { lines, sink } = lineSink();
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, {}, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => server.close());
  const { http } = cookieClient();

  await signIn(server.url, 'logged@example.com', { http });
  const idToken = (await http.get(`${server.url}/user/token`)).body;
  await http.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${idToken}` } });
  await http.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${idToken}x` } });
  await http.get(`${server.url}/callback?code=secret-code-value&state=secret-state-value`);

  const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.method);
  t.deepEqual(
    requests.map((entry) => `${entry.method} ${entry.path} ${entry.status}`),
    ['GET /login 302', 'GET /callback 200', 'GET /user/token 200', 'GET /user/id 200', 'GET /user/id 401', 'GET /callback 400'],
  );
  t.true(requests.every((entry) => typeof entry.ms === 'number'));
  const everything = lines.join('\n');
  for (const secret of [idToken, idToken.split('.')[1]!, idToken.split('.')[2]!, 'secret-code-value', 'secret-state-value', 'koa-oidc-sso=']) {
    t.false(everything.includes(secret), `a log line contains ${secret.slice(0, 20)}…`);
  }
});

test('a log level changed while the server runs applies to the next request line', async (t) => {
  const { lines, sink } = lineSink();
  const logger = pino({ level: 'warn' }, sink);
  const server = await startDevServer({}, { logger });
  t.teardown(() => server.close());
  const { http } = cookieClient();
  // The server's own requests to its development IdP (its start-up check, /readyz) aside.
  const requestLines = () =>
    lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.method && !entry.path.startsWith('/idp/'))
      .map((entry) => `${entry.path} ${entry.status}`);

  await http.get(`${server.url}/healthz`);
  logger.level = 'info';
  await http.get(`${server.url}/user/id`);
  logger.level = 'warn';
  await http.get(`${server.url}/readyz`);

  t.deepEqual(requestLines(), ['/user/id 401']);
});

test('a request Node cannot parse is logged as a warning without its raw bytes (no token, no cookie)', async (t) => {
  const capture = lineSink();
  const { lines, sink } = capture;
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, {}, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => server.close());
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtc3ViamVjdCJ9.c2VjcmV0LXNpZ25hdHVyZQ';
  const logged = new Promise<void>((resolve) => {
    capture.onLine = () => lines.some((line) => JSON.parse(line).level >= 40) && resolve();
  });

  const { port } = new URL(server.address);
  const socket = connect(Number(port), '127.0.0.1');
  socket.end(`GET /user/id HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nCookie: koa-oidc-sso=secret-cookie\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
  const [reply] = await Promise.all([text(socket), logged]);

  t.regex(reply, /^HTTP\/1\.1 400 /);
  const line = lines.find((entry) => JSON.parse(entry).level >= 40) ?? '{}';
  t.is(JSON.parse(line).level, 40);
  t.is(JSON.parse(line).msg, 'malformed request, or the client closed the connection');
  t.regex(JSON.parse(line).err.code, /^HPE_/);
  for (const secret of [token, 'secret-cookie', 'rawPacket']) t.false(lines.join('\n').includes(secret), secret);
});

function text(socket: Socket): Promise<string> {
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve(received));
  });
}

test("the development IdP's interaction ids (also its cookie's value) are not logged", async (t) => {
  const { lines, sink } = lineSink();
  const server = await startDevServer({}, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => server.close());
  const { http, jar } = cookieClient();

  const signedIn = await signIn(server.url, 'quiet@example.com', { http });
  t.is(signedIn.statusCode, 200);

  const paths = lines.map((line) => JSON.parse(line)).filter((entry) => entry.method).map((entry) => entry.path as string);
  t.true(paths.includes('/idp/interaction/:uid'), paths.join(' '));
  t.true(paths.includes('/idp/auth/:uid'), paths.join(' '));
  const idpCookies = await jar.getCookies(`${server.url}/idp/interaction/x`);
  const everything = lines.join('\n');
  for (const cookie of idpCookies) t.false(everything.includes(cookie.value), `${cookie.key} is in the log`);
});

test("a server error under the development IdP's interaction URLs is logged without the interaction id", async (t) => {
  const { lines, sink } = lineSink();
  const app = new Koa();
  app.use(requestFrame(pino({ level: 'info' }, sink), { secureCookies: false }));
  app.use(() => {
    throw new Error('an unexpected failure');
  });
  const server = await startFakeHttp(app.callback());
  t.teardown(() => server.close());

  const response = await fetch(`${server.url}/idp/interaction/secret-interaction-uid`, { headers: { accept: 'application/json' } });
  t.is(response.status, 500);
  const logged = lines.map((line) => JSON.parse(line));
  t.like(logged.find((entry) => entry.level === 50), { path: '/idp/interaction/:uid', err: { message: 'an unexpected failure' } });
  t.false(lines.join('\n').includes('secret-interaction-uid'));
});

test('an unreachable IdP is logged per failed request as a warning naming the cause, without stacks', async (t) => {
  const { lines, sink } = lineSink();
  const env = { OIDC_ISSUER: 'http://127.0.0.1:1/idp', OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 'secret' };
  const server = await startTestServer(env, { logger: pino({ level: 'info', ...LOGGER_OPTIONS }, sink) });
  t.teardown(() => server.close());

  const response = await cookieClient().http.get(`${server.url}/login`);
  t.is(response.statusCode, 503);
  const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.path === '/login' && entry.err);
  t.is(failure?.level, 40);
  t.is(failure?.err.cause?.code, 'ECONNREFUSED');
  t.false(lines.join('\n').includes('"stack"'));
});

test('start-up and shutdown are logged: the setup an operator checks first as fields, then "shutting down" and "stopped"', async (t) => {
  const { lines, sink } = lineSink();
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, { PUBLIC_URL: 'https://sso.example.com', TRUST_PROXY: 'true' }, { logger: pino({ level: 'info' }, sink) });
  const listening = lines.map((line) => JSON.parse(line)).find((entry) => String(entry.msg).startsWith('listening on'));
  t.like(listening, {
    production: false,
    identityProvider: `${idp.issuer}/.well-known/openid-configuration`,
    publicUrl: 'https://sso.example.com',
    secureCookies: true,
    trustProxy: true,
  });
  await server.close();
  const messages = lines.map((line) => String(JSON.parse(line).msg));
  const shuttingDown = messages.findIndex((message) => message.startsWith('shutting down: finishing the requests in flight'));
  t.true(shuttingDown >= 0, messages.join('\n'));
  t.true(messages.indexOf('stopped') > shuttingDown, messages.join('\n'));
});
