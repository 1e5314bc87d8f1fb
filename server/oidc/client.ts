import { createHash, randomBytes } from 'node:crypto';
import type { AuthorizationCode } from 'simple-oauth2';
import { z } from 'zod';
import { SsoError } from '../errors.ts';
import { IDP_REQUEST_TIMEOUT_MS } from '../http.ts';
import type { Discovery, DiscoveryDocument } from './discovery.ts';

/** The one-time values of a sign-in in progress, kept in the session between /login and /callback. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo?: string | undefined;
  startedAt: number;
}

export interface OidcClient {
  /** Starts a sign-in: the authorization URL and the one-time values to keep until the callback. */
  startLogin(returnTo: string | undefined): Promise<{ authorizationUrl: string; pending: PendingLogin }>;
  /** Exchanges the authorization code (with the PKCE verifier) for the token response's id_token. */
  exchangeCode(code: string, pending: PendingLogin): Promise<string>;
}

export interface OidcClientOptions {
  discovery: Discovery;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: readonly string[];
  /** Overrides the choice from discovery (an IdP may accept only the method the client was registered with). */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | undefined;
  now?: () => number;
}

/** RFC 7636 4.1: 32 random octets, base64url-encoded (43 characters). */
function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** RFC 7636 4.2: S256 code challenge. */
export function codeChallengeFor(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier).digest('base64url');
}

const tokenResponseSchema = z.object({
  id_token: z.string({ error: 'has no id_token (is "openid" among the scopes?)' }),
  token_type: z
    .string({ error: 'has no token_type (RFC 6749 5.1)' })
    .refine((type) => type.toLowerCase() === 'bearer', { error: 'has a token_type other than Bearer' }),
});

const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

/**
 * Client authentication at the token endpoint: the configured method, else from what the provider
 * supports (Discovery 3; client_secret_basic is the default of RFC 6749 2.3.1 and OIDC Registration).
 */
function authorizationMethod(document: DiscoveryDocument, configured: OidcClientOptions['tokenEndpointAuthMethod']): 'header' | 'body' {
  if (configured) return configured === 'client_secret_post' ? 'body' : 'header';
  const supported = document.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  return supported.includes('client_secret_basic') || !supported.includes('client_secret_post') ? 'header' : 'body';
}

/**
 * An endpoint as simple-oauth2 takes it: a host, and a path it resolves against that host. The
 * path is the whole URL: a bare path starting with // would resolve to another host (the code
 * and the client secret with it).
 */
function hostAndPath(url: string): { host: string; path: string } {
  const parsed = new URL(url);
  return { host: parsed.origin, path: parsed.href };
}

interface WreckError {
  isBoom?: boolean;
  output?: { statusCode?: number };
  data?: { isResponseError?: boolean; payload?: unknown; res?: { statusCode?: number } };
}

/** The OAuth error in a token endpoint reply body (RFC 6749 5.2), if it is one. */
function oauthErrorIn(payload: unknown) {
  let body = payload instanceof Buffer ? payload.toString('utf8') : payload;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const reply = oauthErrorSchema.safeParse(body);
  return reply.success ? reply.data : undefined;
}

/** simple-oauth2 (Wreck/Boom) failures, translated into ours. */
function translateExchangeError(error: unknown, method: 'header' | 'body'): SsoError {
  const failure = error as WreckError;
  // Wreck puts the IdP's response on data: as `payload` for HTTP errors, as `res` for a non-JSON reply.
  const status = failure?.data?.res?.statusCode ?? (failure?.data?.isResponseError ? failure.output?.statusCode : undefined);
  // Wreck's own timeouts: no reply at all (504), or a reply whose body stopped coming (408).
  if (failure?.isBoom && !failure.data?.isResponseError && (failure.output?.statusCode === 504 || failure.output?.statusCode === 408)) {
    return new SsoError('idp_unavailable', `The identity provider's token endpoint did not answer within ${IDP_REQUEST_TIMEOUT_MS / 1000} s`, { cause: error });
  }
  if (status !== undefined) {
    const reply = status < 500 ? oauthErrorIn(failure.data?.payload) : undefined;
    if (reply) {
      const description = reply.error_description ? `: ${reply.error_description}` : '';
      // RFC 6749 5.2: the IdP does not accept this server as its client. The person signing in
      // cannot change that, the operator must: a server error, logged as one.
      if (reply.error === 'invalid_client' || reply.error === 'unauthorized_client') {
        const sent = method === 'header' ? 'client_secret_basic' : 'client_secret_post';
        return new SsoError(
          'idp_unavailable',
          `The identity provider refused this server's client credentials (${reply.error}${description}): check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, and OIDC_TOKEN_ENDPOINT_AUTH_METHOD (${sent} was used)`,
          { cause: error, status: 502 },
        );
      }
      return new SsoError('code_exchange_refused', `The identity provider refused the sign-in (${reply.error}${description})`, { cause: error });
    }
    return new SsoError('idp_unavailable', `The identity provider's token endpoint answered HTTP ${status} without a usable reply`, { cause: error, status: 502 });
  }
  // Wreck's own errors (Boom) are the connection's: refused, reset, timed out.
  if (failure?.isBoom) {
    const reason = error instanceof Error ? error.message : String(error);
    return new SsoError('idp_unavailable', `The identity provider's token endpoint could not be reached (${reason})`, { cause: error });
  }
  // Anything else is simple-oauth2 failing on what the endpoint answered (a 200 with no token at all).
  return new SsoError('idp_unavailable', "The identity provider's token endpoint answered without a usable reply", { cause: error, status: 502 });
}

/**
 * Runs simple-oauth2's constructor, whose option check quotes the refused value (the client
 * secret among them): the error keeps the option's name only, and no cause to be logged.
 */
function buildClient(construct: () => AuthorizationCode): AuthorizationCode {
  try {
    return construct();
  } catch (error) {
    const option = (error as { details?: Array<{ context?: { label?: unknown } }> }).details?.[0]?.context?.label;
    throw new SsoError('idp_unavailable', `The OAuth client could not be set up: simple-oauth2 refused ${typeof option === 'string' ? JSON.stringify(option) : 'its options'} (check OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and the identity provider's endpoints)`);
  }
}

/**
 * The authorization-code flow with state, nonce and PKCE (RFC 6749 4.1, RFC 7636, RFC 9700 2.1.1),
 * on a simple-oauth2 client rebuilt whenever discovery hands back a new document.
 */
export function createOidcClient(options: OidcClientOptions): OidcClient {
  const { discovery, clientId, clientSecret, redirectUri, scopes, now = Date.now } = options;
  let built: { document: DiscoveryDocument; client: AuthorizationCode; method: 'header' | 'body' } | undefined;

  async function client(): Promise<{ client: AuthorizationCode; method: 'header' | 'body' }> {
    const document = await discovery.get();
    if (built?.document !== document) {
      // Loaded at the first sign-in: a server that only answers Bearer API requests never needs it.
      const { AuthorizationCode } = await import('simple-oauth2');
      const token = hostAndPath(document.token_endpoint);
      const authorize = hostAndPath(document.authorization_endpoint);
      const method = authorizationMethod(document, options.tokenEndpointAuthMethod);
      built = {
        document,
        method,
        client: buildClient(() => new AuthorizationCode({
          client: { id: clientId, secret: clientSecret },
          auth: { tokenHost: token.host, tokenPath: token.path, authorizeHost: authorize.host, authorizePath: authorize.path },
          options: { authorizationMethod: method, bodyFormat: 'form' },
          http: { timeout: IDP_REQUEST_TIMEOUT_MS, redirects: 0, maxBytes: 1024 * 1024 },
        })),
      };
    }
    return built;
  }

  return {
    async startLogin(returnTo) {
      const pending: PendingLogin = {
        state: randomToken(),
        nonce: randomToken(),
        codeVerifier: randomToken(),
        returnTo,
        startedAt: now(),
      };
      const authorizationUrl = (await client()).client.authorizeURL({
        redirect_uri: redirectUri,
        scope: scopes.join(' '),
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: codeChallengeFor(pending.codeVerifier),
        code_challenge_method: 'S256',
        // simple-oauth2 passes every parameter through; its types only list the OAuth ones.
      } as Parameters<AuthorizationCode['authorizeURL']>[0]);
      return { authorizationUrl, pending };
    },

    async exchangeCode(code, pending) {
      const { client: authorizationCode, method } = await client();
      let response: unknown;
      try {
        const accessToken = await authorizationCode.getToken({
          code,
          redirect_uri: redirectUri,
          code_verifier: pending.codeVerifier,
        } as Parameters<AuthorizationCode['getToken']>[0]);
        response = accessToken.token;
      } catch (error) {
        throw translateExchangeError(error, method);
      }
      const parsed = tokenResponseSchema.safeParse(response);
      if (!parsed.success) {
        throw new SsoError('idp_unavailable', `The identity provider's token response ${parsed.error.issues[0]?.message ?? 'is invalid'}`, { status: 502 });
      }
      return parsed.data.id_token;
    },
  };
}
