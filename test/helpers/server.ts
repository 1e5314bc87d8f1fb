import { once } from 'node:events';
import { connect } from 'node:net';
import { startServer, type RunningServer, type StartOptions } from '../../server/start.ts';
import { startIdp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type TestIdp } from './idp.ts';

export const TEST_SESSION_KEY = 'test-session-key-0123456789abcdef0123456789';

export interface TestServer extends RunningServer {
  /** Requests the server made to the IdP for discovery and keys. */
  idpRequests: Array<{ kind: 'discovery' | 'jwks'; url: string }>;
}

const quiet = { PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', LOG_LEVEL: 'silent', SESSION_KEYS: TEST_SESSION_KEY };

/** The server with the given settings (quiet, on an ephemeral port, unless they say otherwise). */
export async function startTestServer(env: Record<string, string>, options: Pick<StartOptions, 'logger' | 'now'> = {}): Promise<TestServer> {
  const idpRequests: TestServer['idpRequests'] = [];
  const server = await startServer({ env: { ...quiet, ...env }, ...options, onIdpRequest: (kind, url) => idpRequests.push({ kind, url }) });
  return Object.assign(server, { idpRequests });
}

/** The server with its embedded development IdP at /idp, on an ephemeral port. */
export function startDevServer(env: Record<string, string> = {}, options: Pick<StartOptions, 'logger' | 'now'> = {}): Promise<TestServer> {
  return startTestServer(env, options);
}

/** The server signing in through the given IdP, on an ephemeral port; the IdP learns its redirect URI. */
export async function startServerWithIdp(idp: TestIdp, env: Record<string, string> = {}, options: Pick<StartOptions, 'logger' | 'now'> = {}): Promise<TestServer> {
  const server = await startTestServer(
    {
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: TEST_CLIENT_ID,
      OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
      ...env,
    },
    options,
  );
  await idp.registerServer(server.url);
  return server;
}

/** A real IdP and the server signing in through it, both closed when the test ends. */
export async function startIdpAndServer(t: { teardown(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, env);
  t.teardown(() => server.close());
  return { idp, server };
}

/** Sends `head` (a request line and headers) as is, on a connection of its own; resolves with the whole reply. */
export async function rawRequest(server: Pick<RunningServer, 'url'>, head: string): Promise<string> {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  // Not end(): a client that half-closes may find the server gone before its answer is ready.
  socket.write(`${head}Connection: close\r\n\r\n`);
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
  await once(socket, 'close');
  return reply;
}
