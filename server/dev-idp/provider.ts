import Router from '@koa/router';
import parseBody from 'co-body';
import Koa from 'koa';
import mount from 'koa-mount';
import { LRUCache } from 'lru-cache';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { z } from 'zod';
import { html, page, SafeHtml, sendPage } from '../pages.ts';
import { generateSigningKey } from './keys.ts';

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
    .pipe(z.string().max(254, { error: 'Email: at most 254 characters.' })),
  name: z.string({ error: 'Name: enter it as text.' }).trim().max(100, { error: 'Name: at most 100 characters.' }).optional().default(''),
});

/** The development IdP's sign-out confirmation; `form` is oidc-provider's own (hidden) form. */
function signOutPage(form: SafeHtml): string {
  return page(
    'Sign out (development IdP)',
    html`<h1>Sign out</h1>
<p>Sign out of the development identity provider too, so that the next sign-in asks for an email again.</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>`,
  );
}

function signInPage(action: string, error?: string): string {
  return page(
    'Sign in (development IdP)',
    html`<h1>Sign in</h1>
<p>Development identity provider: <strong>any email signs in</strong>, no password. Never use it in production.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="${action}">
<label>Email <input name="email" type="email" autocomplete="email" required autofocus></label>
<label>Name (optional) <input name="name" type="text" autocomplete="name"></label>
<button type="submit">Sign in</button>
</form>`,
  );
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
      },
    },
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

  const router = new Router();
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    sendPage(ctx, signInPage(`${mountPath}/interaction/${details.uid}`));
  });
  router.post('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const body: unknown = await parseBody.form(ctx, { limit: '8kb' }).catch((error: { status?: number }) => {
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
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: form.data.email } }, { mergeWithLastSubmission: false });
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
