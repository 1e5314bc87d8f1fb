import Koa from 'koa';
import mount from 'koa-mount';
import { ROUTES } from '../shared/constants.ts';
import type { Config, OidcConfig } from './config.ts';
import type { DevIdp } from './dev-idp/provider.ts';
import { loggableError, type Logger } from './logger.ts';
import { authenticate } from './middleware/authenticate.ts';
import { notFound } from './middleware/errors.ts';
import { requestFrame } from './middleware/frame.ts';
import { staticRoutes } from './middleware/static-routes.ts';
import { createOidcClient } from './oidc/client.ts';
import { createDiscovery } from './oidc/discovery.ts';
import { createKeyStore } from './oidc/keys.ts';
import { createTokenVerifier } from './oidc/verify.ts';
import { authRoutes } from './routes/auth.ts';
import { healthRoutes } from './routes/health.ts';
import { tokenRoute, userRoutes } from './routes/user.ts';
import { sessionMiddleware } from './session.ts';

export interface AppOptions {
  config: Config;
  /** Where browsers reach this server; redirect_uri is derived from it. */
  publicUrl: URL;
  logger: Logger;
  /** The provider to sign in with (the configured one, or the development IdP's coordinates). */
  identityProvider: OidcConfig;
  sessionKeys: readonly string[];
  /** The embedded development IdP, mounted at /idp. */
  devIdp?: DevIdp;
  now?: () => number;
  /** Observes every request the server makes to the IdP for discovery or keys. */
  onIdpRequest?: (kind: 'discovery' | 'jwks', url: string) => void;
}

/** Builds the Koa application: the middleware stack reads top to bottom as a request meets it. */
export function createApp(options: AppOptions): Koa {
  const { config, publicUrl, logger, identityProvider, now = Date.now } = options;
  const discovery = createDiscovery({
    url: identityProvider.discoveryUrl,
    expectedIssuer: identityProvider.expectedIssuer,
    now,
    onRequest: (url) => options.onIdpRequest?.('discovery', url.href),
  });
  const keyStore = createKeyStore({
    jwksUri: async () => (await discovery.get()).jwks_uri,
    now,
    onRequest: (url) => options.onIdpRequest?.('jwks', url),
    onRefreshError: (error) => logger.warn({ err: loggableError(error) }, 'keeping the current signing keys: refresh failed'),
  });
  const verifier = createTokenVerifier({ discovery, keyStore, clientId: identityProvider.clientId, now });
  const oidc = createOidcClient({
    discovery,
    clientId: identityProvider.clientId,
    clientSecret: identityProvider.clientSecret,
    redirectUri: new URL(ROUTES.callback, publicUrl).href,
    scopes: config.scopes,
    tokenEndpointAuthMethod: identityProvider.tokenEndpointAuthMethod,
    now,
  });
  const secureCookies = publicUrl.protocol === 'https:';

  const app = new Koa({ proxy: config.trustProxy, keys: [...options.sessionKeys] });
  app.on('error', (error: NodeJS.ErrnoException) => {
    // A request Node could not parse (HPE_*) or a client that went away is the client's doing.
    if (error.code?.startsWith('HPE_') || error.code === 'ECONNRESET' || error.code === 'ECONNABORTED') {
      logger.warn({ err: loggableError(error) }, 'malformed request, or the client closed the connection');
    } else {
      logger.error({ err: loggableError(error) }, 'unhandled error');
    }
  });

  app.use(requestFrame(logger, { secureCookies }));
  if (options.devIdp) {
    app.use(mount(ROUTES.devIdp, options.devIdp.app));
    // What the provider leaves unanswered under its prefix is not this server's route either.
    app.use(mount(ROUTES.devIdp, (ctx) => Promise.reject(notFound(ctx))));
  }

  // The session cookie is read, checked and written only where it is used: the sign-in routes,
  // /user/token, and requests that authenticate by session. Bearer API requests never touch it.
  const session = sessionMiddleware(app, { secure: secureCookies, keys: options.sessionKeys });
  const signedIn = authenticate(verifier, session);
  app.use(
    staticRoutes(
      {
        routers: [
          healthRoutes({
            discoveryUrl: () => identityProvider.discoveryUrl,
            expectedIssuer: () => identityProvider.expectedIssuer,
            now,
            onUsable: () => {
              discovery.retryNow();
              keyStore.retryNow();
            },
          }),
          authRoutes({ oidc, discovery, verifier, clientId: identityProvider.clientId, publicUrl, now }),
          tokenRoute(verifier),
        ],
        before: [session],
      },
      { routers: [userRoutes()], before: [signedIn] },
    ),
  );
  // Every other path needs a valid token too: 401 without one, then 404.
  app.use(signedIn);
  return app;
}
