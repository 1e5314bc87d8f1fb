import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ROUTES } from '../shared/constants.ts';
import { createApp } from './app.ts';
import { loadConfig, publicUrlWarning, type OidcConfig } from './config.ts';
import type { DevIdp } from './dev-idp/provider.ts';
import { devStatePath, loadDevState } from './dev-idp/state.ts';
import { createLogger, type Logger } from './logger.ts';
import { probeIdentityProvider } from './routes/health.ts';

export const DEV_CLIENT_ID = 'koa-oidc-sso-dev';

export interface RunningServer {
  /** The server's public URL (PUBLIC_URL, or http://localhost:<port>). */
  url: string;
  /** Where it listens, e.g. http://127.0.0.1:5000 (differs from url behind a proxy). */
  address: string;
  /** Whether the embedded development IdP signs users in. */
  devIdp: boolean;
  /** Node's HTTP server underneath (`npm run bench` routes its requests). */
  httpServer: Server;
  /** Stops accepting connections and waits (at most a few seconds) for requests in flight. */
  close(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string | undefined>;
  logger?: Logger;
  onIdpRequest?: (kind: 'discovery' | 'jwks', url: string) => void;
  /** The clock (Date.now): tests move it past the server's waits. */
  now?: () => number;
}

const SHUTDOWN_GRACE_MS = 5000;

/**
 * Checks the IdP once at start, in the background, so a wrong issuer, an unreachable IdP or a
 * PUBLIC_URL the server cannot reach its development IdP through shows in the log right away
 * rather than at the first sign-in.
 */
async function reportIdentityProvider(identityProvider: OidcConfig, logger: Logger, devIdp: boolean): Promise<void> {
  const problem = await probeIdentityProvider(identityProvider);
  if (!problem) {
    logger.info(`identity provider ready: ${identityProvider.discoveryUrl.href}`);
    return;
  }
  const hint = devIdp ? ' (this server reaches its development IdP through PUBLIC_URL)' : '';
  logger.warn(`identity provider not usable yet: ${problem}${hint}; sign-in fails until it is (see /readyz)`);
}

/**
 * Rewrites an absolute-form request target (`GET http://host/path`, RFC 9112 3.2.2, meant for
 * proxies) to origin-form (`/path`): Koa takes such a target's host as the request's own
 * (ctx.href, ctx.origin), past the development IdP's pinning of its URLs to the issuer.
 * @returns false for a target that names a scheme but is no URL: a malformed request line.
 */
function toOriginForm(request: IncomingMessage): boolean {
  const target = request.url ?? '/';
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(target)) return true;
  const url = URL.parse(target);
  if (!url) return false;
  request.url = `${url.pathname}${url.search}`;
  return true;
}

/**
 * Parses the configuration, listens, and serves the application: with no IdP configured,
 * the development IdP is mounted at /idp. PORT=0 picks a free port.
 * @throws ConfigError for a bad configuration (before anything listens).
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const config = loadConfig(options.env);
  const logger = options.logger ?? createLogger(config.logLevel);
  const server = createServer({ requireHostHeader: true });
  // Node drops the headers past the 2000th without a word, so a repeated Authorization header
  // could hide behind 2000 short ones; the 16 KB header limit still bounds a request.
  server.maxHeadersCount = 0;
  // The app needs the port (PORT=0) before it exists, so the socket listens first. Requests that
  // arrive before the app is ready wait for it; without a listener Node would leave them hanging.
  const early: Array<Parameters<RequestListener>> = [];
  let handle: RequestListener = (request, response) => void early.push([request, response]);
  // The two requests answered before the application: logged like the others, without their target.
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (toOriginForm(request)) return handle(request, response);
    response.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'close' });
    response.end(JSON.stringify({ error: 'invalid_request', error_description: 'The request line names a URL that cannot be read' }));
    logger.info({ method: request.method, status: 400 }, 'request line with an unreadable URL');
  });
  // Not a proxy (RFC 9110 9.3.6): without this listener Node would drop CONNECT without an answer.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.end('HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    logger.info({ method: request.method, status: 501 }, 'CONNECT: this server is not a proxy');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const publicUrl = config.publicUrl ?? new URL(`http://localhost:${port}`);
  const publicUrlProblem = publicUrlWarning(config);
  if (publicUrlProblem) logger.warn(publicUrlProblem);

  // Outside production SESSION_KEYS may be unset: a generated key, kept in a file, survives restarts.
  const state = config.sessionKeys ? undefined : loadDevState();
  if (state) logger.warn(`SESSION_KEYS is not set: using a development session key kept in ${devStatePath()}`);
  const sessionKeys = config.sessionKeys ?? [state!.sessionKey];

  let identityProvider: OidcConfig | undefined = config.oidc;
  let devIdp: DevIdp | undefined;
  if (!identityProvider) {
    const issuer = new URL(ROUTES.devIdp, publicUrl).href;
    const clientSecret = state?.clientSecret ?? randomBytes(24).toString('base64url');
    // Loaded only when used: production never loads the development IdP's code.
    const { createDevIdp } = await import('./dev-idp/provider.ts');
    devIdp = createDevIdp({
      issuer,
      clients: [
        {
          clientId: DEV_CLIENT_ID,
          clientSecret,
          redirectUris: [new URL(ROUTES.callback, publicUrl).href],
          postLogoutRedirectUris: [new URL(ROUTES.logout, publicUrl).href],
        },
      ],
      ...(state ? { signingKeys: [state.signingKey] } : {}),
      trustProxy: config.trustProxy,
      cookieKeys: sessionKeys,
      logger,
    });
    identityProvider = {
      discoveryUrl: new URL(`${issuer}/.well-known/openid-configuration`),
      expectedIssuer: issuer,
      clientId: DEV_CLIENT_ID,
      clientSecret,
      tokenEndpointAuthMethod: undefined,
    };
    logger.warn(`DEVELOPMENT IdP: no OIDC_ISSUER set, so ${issuer} signs in anybody with any email. Never use it in production.`);
  }

  const app = createApp({
    config,
    publicUrl,
    logger,
    identityProvider,
    sessionKeys,
    ...(devIdp ? { devIdp } : {}),
    ...(options.onIdpRequest ? { onIdpRequest: options.onIdpRequest } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  handle = app.callback();
  for (const [request, response] of early.splice(0)) handle(request, response);
  // What an operator checks first, as fields: the mode, the IdP, and how cookies and proxies are treated.
  const setup = {
    production: config.production,
    identityProvider: devIdp ? 'development' : identityProvider.discoveryUrl.href,
    publicUrl: publicUrl.origin,
    secureCookies: publicUrl.protocol === 'https:',
    trustProxy: config.trustProxy,
  };
  logger.info(setup, `listening on ${config.host}:${port}; sign in at ${new URL(ROUTES.login, publicUrl).href}`);
  void reportIdentityProvider(identityProvider, logger, devIdp !== undefined);

  let closing: Promise<void> | undefined;
  return {
    url: publicUrl.origin,
    address: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    devIdp: devIdp !== undefined,
    httpServer: server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        logger.info(`shutting down: finishing the requests in flight (at most ${SHUTDOWN_GRACE_MS / 1000} s)`);
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          logger.info('stopped');
          resolve();
        });
        server.closeIdleConnections();
        // A connection whose request finishes from now on closes at once instead of idling in
        // keep-alive until the grace period ends (0 would mean no timeout at all).
        server.keepAliveTimeout = 1;
      });
      return closing;
    },
  };
}
