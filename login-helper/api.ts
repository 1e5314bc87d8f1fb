import got, { RequestError, TimeoutError } from 'got';
import type { CookieJar } from 'tough-cookie';
import { z } from 'zod';
import { ROUTES } from '../shared/constants.ts';
import { LoginError, type LoginErrorCode } from './errors.ts';
import { helperCommand } from './invocation.ts';
import { ID_TOKEN_SHAPE, MAX_IDENTIFIER_LENGTH, MAX_ID_TOKEN_BYTES, MAX_RESPONSE_BYTES, REQUEST_TIMEOUT_MS } from './limits.ts';
import { routeUrl } from './server-url.ts';
import { hasUnsafeCharacters, printable } from './terminal-text.ts';

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

const claimsSchema = z.record(z.string(), z.unknown());

/** The same server address over plain http: the same port, which for https is 443 when it names none. */
export function plainHttpAddress(httpsUrl: string): string {
  const url = new URL(httpsUrl);
  const port = url.port || '443';
  url.protocol = 'http:';
  url.port = port;
  return url.href.replace(/\/$/, '');
}

/**
 * A {@link ServerApi} over got. No retries: a dead server should fail in
 * milliseconds with its URL named, not after a backoff. Redirects are not
 * followed, so a session that expired shows as a refusal instead of an IdP page.
 * Nothing the server answers is trusted: sizes are capped, and text is
 * checked or cleaned before it reaches the terminal.
 */
export function createServerApi(serverUrl: string, options: { timeoutMs?: number } = {}): ServerApi {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const client = got.extend({
    retry: { limit: 0 },
    timeout: { request: timeoutMs },
    followRedirect: false,
    throwHttpErrors: false,
  });

  /**
   * Any HTTP answer counts as reached; only transport failures (refused, DNS) and timeouts become
   * SERVER_UNREACHABLE. An answer over {@link MAX_RESPONSE_BYTES} is `refusal`.
   */
  async function request(route: string, refusal: LoginErrorCode, extra: RequestExtras = {}) {
    const url = routeUrl(serverUrl, route);
    const pending = client.get(url, extra);
    let tooLarge = false;
    // got has no size limit of its own: stop as soon as the announced or received size passes ours.
    pending.on('downloadProgress', ({ transferred, total }) => {
      if (tooLarge || (transferred <= MAX_RESPONSE_BYTES && (total ?? 0) <= MAX_RESPONSE_BYTES)) return;
      tooLarge = true;
      pending.cancel();
    });
    try {
      return await pending;
    } catch (error) {
      // got's errors carry the request options (with the Authorization header): keep them only as `cause`.
      if (tooLarge) throw new LoginError(refusal, `The server answered GET ${route} with more than ${MAX_RESPONSE_BYTES / 1024} KB`, { cause: error });
      if (error instanceof TimeoutError) {
        throw new LoginError('SERVER_UNREACHABLE', `The server at ${serverUrl} did not answer GET ${route} within ${timeoutMs / 1000} s`, { cause: error });
      }
      const reason = error instanceof RequestError ? error.code : String(error);
      // A TLS protocol error from an https address: most often a plain http server answered.
      if (reason === 'EPROTO' && url.startsWith('https:')) {
        throw new LoginError('SERVER_UNREACHABLE', `Cannot reach the server at ${url} over TLS (${reason}): if it serves plain http, pass --server ${plainHttpAddress(serverUrl)}`, { cause: error });
      }
      // Most often the server is not started, or listens elsewhere: say how to point the helper at it.
      throw new LoginError('SERVER_UNREACHABLE', `Cannot reach the server at ${url} (${reason}): is it running there? Otherwise pass --server or set SSO_SERVER`, { cause: error });
    }
  }

  async function getText(route: string, refusal: LoginErrorCode, extra: RequestExtras = {}): Promise<string> {
    const response = await request(route, refusal, extra);
    if (response.statusCode !== 200) {
      const reason = errorDescription(String(response.body));
      const hint = response.statusCode === 401 && extra.headers ? ` (sign in again: ${helperCommand('login')})` : '';
      throw new LoginError(refusal, `The server refused GET ${route}: ${statusLine(response)}${reason ? `: ${reason}` : ''}${hint}`);
    }
    return String(response.body);
  }

  return {
    async checkReachable() {
      // Any web server answers something: only the server's own answer shows that --server names
      // it, before a window opens and the failure looks like the identity provider's.
      const response = await request(ROUTES.healthz, 'SERVER_UNREACHABLE');
      if (response.statusCode === 200 && String(response.body).trim() === 'ok') return;
      const answer = response.statusCode === 200 ? '200 without "ok"' : statusLine(response);
      throw new LoginError('SERVER_UNREACHABLE', `${serverUrl} does not look like a koa-oidc-sso server (GET ${ROUTES.healthz} answered ${answer})`);
    },

    async fetchIdToken(jar) {
      const idToken = (await getText(ROUTES.userToken, 'TOKEN_REFUSED', { cookieJar: jar })).trim();
      if (!ID_TOKEN_SHAPE.test(idToken)) throw new LoginError('TOKEN_REFUSED', `GET ${ROUTES.userToken} did not answer an id_token`);
      if (idToken.length > MAX_ID_TOKEN_BYTES) {
        throw new LoginError('TOKEN_REFUSED', `GET ${ROUTES.userToken} answered an id_token of ${idToken.length} bytes, more than the ${MAX_ID_TOKEN_BYTES} a Bearer header can carry`);
      }
      return idToken;
    },

    async fetchEmail(idToken) {
      // The server answers the token's email claim, which the IdP wrote: it is printed, so it must be one plain line.
      const email = (await getText(ROUTES.userId, 'IDENTITY_REFUSED', bearer(idToken))).trim();
      if (!email) throw new LoginError('IDENTITY_REFUSED', `GET ${ROUTES.userId} answered an empty body`);
      if (hasUnsafeCharacters(email)) throw new LoginError('IDENTITY_REFUSED', `GET ${ROUTES.userId} answered an identifier with control or invisible characters`);
      const length = Array.from(email).length;
      if (length > MAX_IDENTIFIER_LENGTH) {
        throw new LoginError('IDENTITY_REFUSED', `GET ${ROUTES.userId} answered an identifier of ${length} characters, more than an email address has (${MAX_IDENTIFIER_LENGTH})`);
      }
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
      const response = await request(ROUTES.logout, 'INTERNAL', { cookieJar: jar });
      if (response.statusCode >= 400) throw new LoginError('INTERNAL', `the server answered GET ${ROUTES.logout} with ${statusLine(response)}`);
    },
  };
}

/** "404 Not Found": the reason phrase is the server's text, so it is cleaned like any other. */
function statusLine(response: { statusCode: number; statusMessage?: string | undefined }): string {
  return `${response.statusCode} ${printable(response.statusMessage ?? '', 60)}`.trim();
}

function bearer(idToken: string) {
  return { headers: { authorization: `Bearer ${idToken}` } };
}

const errorBodySchema = z.object({ error_description: z.string() });

/** The server's own explanation from its JSON error body, as one printable line (see terminal-text.ts). */
export function errorDescription(body: string): string | undefined {
  const parsed = errorBodySchema.safeParse(parseJson(body));
  return parsed.success ? printable(parsed.data.error_description) || undefined : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
