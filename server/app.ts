import Koa from 'koa';
import mount from 'koa-mount';
import { ROUTES } from '../shared/constants.ts';
import type { Config, OidcConfig } from './config.ts';
import type { DevIdp } from './dev-idp/provider.ts';
import type { Logger } from './logger.ts';
import { authenticate, BEARER_SCHEME } from './middleware/authenticate.ts';
import { errorHandler } from './middleware/errors.ts';
import { requestLog } from './middleware/request-log.ts';
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

/** Routes that use the session even when the request carries a Bearer token. */
const SESSION_ROUTES = new Set<string>([ROUTES.login, ROUTES.callback, ROUTES.logout, ROUTES.userToken]);

/** API requests with a Bearer token need no session: skip reading, checking and writing the cookie. */
function sessionUnlessBearer(session: Koa.Middleware): Koa.Middleware {
  return (ctx, next) => {
    const authorization = ctx.headers.authorization;
    const bearer = authorization !== undefined && BEARER_SCHEME.test(authorization);
    return bearer && !SESSION_ROUTES.has(ctx.path) ? next() : session(ctx, next);
  };
}

/** nosniff on every response (pages add their CSP in sendPage); Secure cookies under an https PUBLIC_URL. */
function securityHeaders(secureCookies: boolean): Koa.Middleware {
  return (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    // TLS may end at a proxy that TRUST_PROXY does not cover: the https PUBLIC_URL says cookies are Secure.
    if (secureCookies) ctx.cookies.secure = true;
    return next();
  };
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
    onRefreshError: (error) => logger.warn({ err: error }, 'keeping the current signing keys: refresh failed'),
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
  app.on('error', (error) => logger.error({ err: error }, 'unhandled error'));

  app.use(requestLog(logger));
  app.use(securityHeaders(secureCookies));
  app.use(errorHandler(logger));
  if (options.devIdp) app.use(mount(ROUTES.devIdp, options.devIdp.app));
  app.use(sessionUnlessBearer(sessionMiddleware(app, { secure: secureCookies })));

  app.use(
    staticRoutes(
      healthRoutes({ discoveryUrl: () => identityProvider.discoveryUrl, now }),
      authRoutes({ oidc, discovery, verifier, clientId: identityProvider.clientId, publicUrl, now }),
      tokenRoute(verifier),
    ),
  );
  app.use(authenticate(verifier));
  app.use(staticRoutes(userRoutes()));
  return app;
}
