import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, get, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { startIdp } from '../helpers/idp.ts';
import { listeningPort } from '../helpers/server-process.ts';
import { rawRequest, startDevServer, startServerWithIdp, startTestServer, TEST_SESSION_KEY } from '../helpers/server.ts';

/** A logger whose `nextLine(pattern)` resolves with the first logged message matching it. */
function watchedLogger() {
  const all: Array<Record<string, unknown>> = [];
  const waiting: Array<{ pattern: RegExp; resolve: (message: string) => void }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        all.push(entry);
        const message = String(entry.msg ?? '');
        for (const waiter of waiting.filter(({ pattern }) => pattern.test(message))) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    nextLine: (pattern: RegExp) => new Promise<string>((resolve) => waiting.push({ pattern, resolve })),
    /** Every line logged so far. */
    lines: () => all,
  };
}

test('at start the log says the identity provider is ready', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const { logger, nextLine } = watchedLogger();
  const ready = nextLine(/^identity provider/);
  const server = await startServerWithIdp(idp, {}, { logger });
  t.teardown(() => server.close());
  t.is(await ready, `identity provider ready: ${idp.issuer}/.well-known/openid-configuration`);
});

test('at start the log says what is wrong with the identity provider, before anybody tries to sign in', async (t) => {
  // An IdP whose discovery document names another issuer than the one configured.
  const impostor = await startFakeHttp((_request, response) => {
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify({ issuer: 'https://elsewhere.example', authorization_endpoint: 'https://elsewhere.example/a', token_endpoint: 'https://elsewhere.example/t', jwks_uri: 'https://elsewhere.example/k' }));
  });
  t.teardown(impostor.close);
  const { logger, nextLine } = watchedLogger();
  const warning = nextLine(/^identity provider/);
  const server = await startTestServer({ OIDC_ISSUER: impostor.url, OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 'secret' }, { logger });
  t.teardown(() => server.close());
  t.regex(await warning, /^identity provider not usable yet: .*issuer.*; sign-in fails until it is \(see \/readyz\)$/);
});

test('a development IdP the server cannot reach through PUBLIC_URL is named at start', async (t) => {
  const { logger, nextLine } = watchedLogger();
  const warning = nextLine(/^identity provider/);
  // Port 9 (discard) on 127.0.0.1: nothing listens there, as when a container publishes another port.
  const server = await startDevServer({ PUBLIC_URL: 'http://127.0.0.1:9' }, { logger });
  t.teardown(() => server.close());
  t.regex(await warning, /this server reaches its development IdP through PUBLIC_URL/);
});

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** GET `url`; resolves with the status, or undefined when the connection was refused (nothing listens yet). */
function statusOf(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: 20_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('timeout', () => request.destroy(new Error(`no answer from ${url}: the request was left hanging`)));
    request.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve(undefined) : reject(error)));
  });
}

test('a request that arrives while the server is still starting is answered once it is ready, not left hanging', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), SESSION_KEYS: TEST_SESSION_KEY, LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });

  // The port opens before the app (and the development IdP) are loaded: the first connection
  // that gets through lands in that gap.
  let status: number | undefined;
  for (let attempt = 0; status === undefined && child.exitCode === null && attempt < 100_000; attempt++) {
    status = await statusOf(`http://127.0.0.1:${port}/healthz`);
  }
  t.is(status, 200);
});

test('CONNECT is answered 501 (this server is no proxy), not dropped without a word, and logged', async (t) => {
  const { logger, nextLine } = watchedLogger();
  const server = await startDevServer({}, { logger });
  t.teardown(() => server.close());
  const logged = nextLine(/^CONNECT: this server is not a proxy$/);
  const { port } = new URL(server.address);
  const socket = connect(Number(port), '127.0.0.1');
  socket.end('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
  await once(socket, 'close');
  t.regex(reply, /^HTTP\/1\.1 501 Not Implemented\r\n/);
  await logged;
});

test('a request line whose URL cannot be read is a 400 with nosniff, and logged without its target', async (t) => {
  const { logger, nextLine, lines } = watchedLogger();
  const server = await startDevServer({}, { logger });
  t.teardown(() => server.close());
  const logged = nextLine(/^request line with an unreadable URL$/);
  const reply = await rawRequest(server, `GET http://[bad/secret-code HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n`);
  t.regex(reply, /^HTTP\/1\.1 400 /);
  t.regex(reply, /\r\nx-content-type-options: nosniff\r\n/i);
  await logged;
  const line = lines().find((entry) => entry.msg === 'request line with an unreadable URL');
  t.like(line, { method: 'GET', status: 400 });
  t.false(JSON.stringify(lines()).includes('secret-code'));
});

test('a signal that comes twice (to the whole process group, then passed on by npm) does not cut the shutdown short', async (t) => {
  // An IdP that answers nothing until told to: a sign-in waiting on it stays in flight.
  const held: ServerResponse[] = [];
  let nextRequest = () => {};
  const idp = await startFakeHttp((_request, response) => {
    held.push(response);
    nextRequest();
  });
  t.teardown(idp.close);
  const requestsReached = (count: number) =>
    new Promise<void>((resolve) => {
      nextRequest = () => held.length >= count && resolve();
      nextRequest();
    });

  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', SESSION_KEYS: TEST_SESSION_KEY, OIDC_ISSUER: idp.url, OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 'secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const port = await listeningPort(child);
  let stderr = '';
  const shuttingDown = new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('SIGTERM received')) resolve();
    });
  });

  // The start-up check and this sign-in's discovery request: once both reached the IdP, the sign-in is in flight.
  const signIn = statusOf(`http://127.0.0.1:${port}/login`);
  await requestsReached(2);
  child.kill('SIGTERM');
  await shuttingDown;
  child.kill('SIGTERM');
  for (const response of held) response.writeHead(503).end();

  t.is(await signIn, 503, 'the sign-in in flight was answered');
  t.deepEqual(await exited, [0, null]);
  t.is(stderr.match(/SIGTERM received/g)?.length, 1);
});
