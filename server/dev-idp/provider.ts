import Router from '@koa/router';
import parseBody from 'co-body';
import Koa from 'koa';
import mount from 'koa-mount';
import { LRUCache } from 'lru-cache';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { z } from 'zod';
import { ROUTES } from '../../shared/constants.ts';
import { SsoError } from '../errors.ts';
import { loggableError, type Logger } from '../logger.ts';
import { SafeHtml, sendPage } from '../pages.ts';
import { generateSigningKey } from './keys.ts';
import { providerErrorPage, SIGN_IN_LIMITS, signedOutPage, signInPage, signOutPage } from './pages.ts';

/** A client registered at the development IdP. */
export interface DevClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface DevIdpOptions {
  /** The issuer URL, where the IdP is reachable (the app is mounted at its path). */
  issuer: string;
  clients: DevClient[];
  /** Private signing keys as JWKs; default: one fresh RSA key. */
  signingKeys?: Array<Record<string, unknown>>;
  trustProxy?: boolean;
  /**
   * Keys that sign the IdP's cookies. koa-mount runs a mounted app with the parent's context,
   * so the application this IdP is mounted in must use the same keys (app.keys).
   */
  cookieKeys: readonly string[];
  /** Lifetime of issued id_tokens, in seconds. */
  idTokenTtlSec?: number;
  /** Where the provider's own failures are logged: it answers them with a bare 500 and throws nothing. */
  logger: Logger;
}

export interface DevIdp {
  /** A Koa application to mount at the issuer's path. */
  app: Koa;
  provider: Provider;
}

const signInSchema = z.object({
  email: z
    .string({ error: 'Enter an email address.' })
    .trim()
    .toLowerCase()
    .pipe(z.email({ error: 'Enter a valid email address.' }))
    .pipe(z.string().max(SIGN_IN_LIMITS.emailLength, { error: `Email: at most ${SIGN_IN_LIMITS.emailLength} characters.` })),
  name: z
    .string({ error: 'Name: enter it as text.' })
    .trim()
    .max(SIGN_IN_LIMITS.nameLength, { error: `Name: at most ${SIGN_IN_LIMITS.nameLength} characters.` })
    .optional()
    .default(''),
});

/**
 * oidc-provider's refusal of an interaction (its cookie missing, the interaction expired or
 * finished) as ours, keeping its explanation: its errors carry it in error_description, their
 * message is only the OAuth error code.
 */
function interactionError(error: unknown): unknown {
  if (!(error instanceof errors.OIDCProviderError) || !error.expose) return error;
  const reason = error.error_description ?? error.error;
  return new SsoError('invalid_request', `This sign-in cannot go on (${reason}): it may have expired or been finished already. Start again at ${ROUTES.login}.`, {
    cause: error,
    status: error.status,
  });
}

/**
 * The embedded development identity provider: a real, certified OpenID provider (oidc-provider)
 * with a sign-in form where any email signs in. For development and tests only.
 */
export function createDevIdp(options: DevIdpOptions): DevIdp {
  const { issuer, clients, idTokenTtlSec = 3600 } = options;
  const mountPath = new URL(issuer).pathname.replace(/\/$/, '');
  // Display names typed into the form, by email; bounded, since anybody may type new ones.
  const names = new LRUCache<string, string>({ max: 1000 });

  const configuration: Configuration = {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: (options.signingKeys ?? [generateSigningKey()]) as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: [...options.cookieKeys] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Put the scopes' claims in the id_token itself: the server reads email from it.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        // oidc-provider's own page offers "stay signed in" and loads a web font; ours signs out in one click.
        async logoutSource(ctx, form) {
          sendPage(ctx, signOutPage(new SafeHtml(form)));
        },
        // Reached after a sign-out that names no post_logout_redirect_uri.
        async postLogoutSuccessSource(ctx) {
          sendPage(ctx, signedOutPage());
        },
      },
    },
    // oidc-provider's own error page loads a web font and carries no CSP. It is called for
    // browsers; the authorization endpoint calls it for any client, so JSON stays JSON here.
    async renderError(ctx, out) {
      ctx.set('Cache-Control', 'no-store');
      if (ctx.accepts('json', 'html') === 'html') sendPage(ctx, providerErrorPage(ctx.status, out, ctx.oidc?.route));
      else ctx.body = out;
    },
    // The clients are servers (client_secret_basic): no browser calls the IdP's endpoints across origins.
    clientBasedCORS: () => false,
    ttl: {
      IdToken: idTokenTtlSec,
      AccessToken: idTokenTtlSec,
      AuthorizationCode: 60,
      Interaction: 15 * 60,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    async findAccount(_ctx, accountId) {
      return {
        accountId,
        claims: async () => ({ sub: accountId, email: accountId, email_verified: true, ...(names.get(accountId) ? { name: names.get(accountId) } : {}) }),
      };
    },
    // First-party development client: grant the requested scopes without a consent screen.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      const client = oidc.client;
      const session = oidc.session;
      if (!client || !session?.accountId) return undefined;
      const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      const scope = oidc.params?.scope;
      if (typeof scope === 'string') grant.addOIDCScope(scope);
      await grant.save();
      session.grantIdFor(client.clientId, grant.jti);
      return grant;
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = options.trustProxy ?? false;
  // oidc-provider catches its unexpected errors itself and reports them only through this event
  // (its expected refusals have events of their own). By its route's name, not its path or
  // query: those carry interaction ids, codes and state.
  provider.on('server_error', (ctx, error) => {
    options.logger.error({ err: loggableError(error), method: ctx.method, route: ctx.oidc?.route }, 'development IdP: internal error');
  });

  const router = new Router();
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  const interactionDetails = (ctx: Koa.Context) =>
    provider.interactionDetails(ctx.req, ctx.res).catch((error: unknown) => {
      throw interactionError(error);
    });
  router.get('/interaction/:uid', async (ctx) => {
    const details = await interactionDetails(ctx);
    sendPage(ctx, signInPage(`${mountPath}/interaction/${details.uid}`));
  });
  router.post('/interaction/:uid', async (ctx) => {
    const details = await interactionDetails(ctx);
    const body: unknown = await parseBody.form(ctx, { limit: SIGN_IN_LIMITS.formBytes }).catch((error: { status?: number }) => {
      if (error.status === 413) ctx.throw(413, `The sign-in form is too large: at most ${SIGN_IN_LIMITS.formBytes / 1024} KB.`);
      // An unreadable body (a bad Content-Encoding, gzip that is not) is the client's fault, not a 500.
      ctx.throw(error.status !== undefined && error.status >= 400 && error.status < 500 ? error.status : 400, 'The sign-in form could not be read');
    });
    const form = signInSchema.safeParse(body);
    if (!form.success) {
      ctx.status = 400;
      sendPage(ctx, signInPage(`${mountPath}/interaction/${details.uid}`, form.error.issues[0]?.message ?? 'Invalid form.'));
      return;
    }
    if (form.data.name) names.set(form.data.email, form.data.name);
    await provider
      .interactionFinished(ctx.req, ctx.res, { login: { accountId: form.data.email } }, { mergeWithLastSubmission: false })
      .catch((error: unknown) => {
        throw interactionError(error);
      });
  });

  const app = new Koa({ proxy: provider.proxy, keys: [...options.cookieKeys] });
  // oidc-provider builds its endpoints' URLs from the request's Host (X-Forwarded-* behind a
  // proxy): pinned to the issuer's, a forged one is neither echoed into the discovery document
  // nor able to make the provider fail.
  const issuerUrl = new URL(issuer);
  app.use((ctx, next) => {
    ctx.req.headers.host = issuerUrl.host;
    if (provider.proxy) {
      ctx.req.headers['x-forwarded-host'] = issuerUrl.host;
      ctx.req.headers['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1);
    }
    return next();
  });
  app.use(router.routes());
  app.use(mount(provider));
  return { app, provider };
}
