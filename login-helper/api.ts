import got, { RequestError } from 'got';
import type { CookieJar } from 'tough-cookie';
import { z } from 'zod';
import { ROUTES } from '../shared/constants.ts';
import { LoginError, type LoginErrorCode } from './errors.ts';
import { routeUrl } from './server-url.ts';

/** The few calls the CLI makes to the server itself; a fake in unit tests. */
export interface ServerApi {
  /** Fails with SERVER_UNREACHABLE unless GET /healthz answers 200 "ok", as the koa-oidc-sso server does. */
  checkReachable(): Promise<void>;
  /** GET /user/token with the browser's session cookies: the id_token. */
  fetchIdToken(jar: CookieJar): Promise<string>;
  /** GET /user/id with the token as a Bearer credential: the signed-in email. */
  fetchEmail(idToken: string): Promise<string>;
  /** GET /user/me with the token: the verified claims. */
  fetchClaims(idToken: string): Promise<Record<string, unknown>>;
  /** GET /logout with the browser's cookies, ending the server session. */
  endSession(jar: CookieJar): Promise<void>;
}

/** What a call adds to the request: the browser's cookies or a Bearer header. */
interface RequestExtras {
  cookieJar?: CookieJar;
  headers?: Record<string, string>;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const claimsSchema = z.record(z.string(), z.unknown());

/**
 * A {@link ServerApi} over got. No retries: a dead server should fail in
 * milliseconds with its URL named, not after a backoff. Redirects are not
 * followed, so a session that expired shows as a refusal instead of an IdP page.
 */
export function createServerApi(serverUrl: string, options: { timeoutMs?: number } = {}): ServerApi {
  const client = got.extend({
    retry: { limit: 0 },
    timeout: { request: options.timeoutMs ?? 15_000 },
    followRedirect: false,
  });

  /** Any HTTP answer counts as reached; only transport failures (refused, DNS, timeout) become SERVER_UNREACHABLE. */
  async function request(route: string, extra: RequestExtras = {}) {
    const url = routeUrl(serverUrl, route);
    try {
      return await client.get(url, { ...extra, throwHttpErrors: false });
    } catch (error) {
      // got's errors carry the request options (with the Authorization header): keep them only as `cause`.
      const reason = error instanceof RequestError ? error.code : String(error);
      throw new LoginError('SERVER_UNREACHABLE', `Cannot reach the server at ${url} (${reason})`, { cause: error });
    }
  }

  async function getText(route: string, refusal: LoginErrorCode, extra: RequestExtras = {}): Promise<string> {
    const response = await request(route, extra);
    if (response.statusCode !== 200) {
      const status = `${response.statusCode} ${response.statusMessage ?? ''}`.trim();
      const reason = errorDescription(String(response.body));
      const hint = response.statusCode === 401 && extra.headers ? ' (sign in again: koa-oidc-sso login)' : '';
      throw new LoginError(refusal, `The server refused GET ${route}: ${status}${reason ? `: ${reason}` : ''}${hint}`);
    }
    return String(response.body);
  }

  return {
    async checkReachable() {
      // Any web server answers something: only the server's own answer shows that --server names
      // it, before a window opens and the failure looks like the identity provider's.
      const response = await request(ROUTES.healthz);
      if (response.statusCode === 200 && String(response.body).trim() === 'ok') return;
      const answer = response.statusCode === 200 ? '200 without "ok"' : `${response.statusCode} ${response.statusMessage ?? ''}`.trim();
      throw new LoginError('SERVER_UNREACHABLE', `${serverUrl} does not look like a koa-oidc-sso server (GET ${ROUTES.healthz} answered ${answer})`);
    },

    async fetchIdToken(jar) {
      const idToken = (await getText(ROUTES.userToken, 'TOKEN_REFUSED', { cookieJar: jar })).trim();
      if (!JWT_SHAPE.test(idToken)) throw new LoginError('TOKEN_REFUSED', `GET ${ROUTES.userToken} did not answer an id_token`);
      return idToken;
    },

    async fetchEmail(idToken) {
      const email = (await getText(ROUTES.userId, 'IDENTITY_REFUSED', bearer(idToken))).trim();
      if (!email) throw new LoginError('IDENTITY_REFUSED', `GET ${ROUTES.userId} answered an empty body`);
      return email;
    },

    async fetchClaims(idToken) {
      const body = await getText(ROUTES.userMe, 'IDENTITY_REFUSED', bearer(idToken));
      const claims = claimsSchema.safeParse(parseJson(body));
      if (!claims.success) throw new LoginError('IDENTITY_REFUSED', `GET ${ROUTES.userMe} did not answer a JSON object`);
      return claims.data;
    },

    async endSession(jar) {
      // Usually a redirect to the IdP's end-session page, which is not followed: the profile that
      // holds the IdP's cookies is deleted next.
      const response = await request(ROUTES.logout, { cookieJar: jar });
      if (response.statusCode >= 400) {
        const status = `${response.statusCode} ${response.statusMessage ?? ''}`.trim();
        throw new LoginError('INTERNAL', `the server answered GET ${ROUTES.logout} with ${status}`);
      }
    },
  };
}

function bearer(idToken: string) {
  return { headers: { authorization: `Bearer ${idToken}` } };
}

const errorBodySchema = z.object({ error_description: z.string() });

/**
 * The server's own explanation from its JSON error body, fit for a terminal: control characters
 * (escape sequences could rewrite the screen) replaced, and cut to a line's length.
 */
export function errorDescription(body: string): string | undefined {
  const parsed = errorBodySchema.safeParse(parseJson(body));
  if (!parsed.success) return undefined;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const printable = parsed.data.error_description.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return printable.length > 200 ? `${printable.slice(0, 199)}…` : printable || undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
