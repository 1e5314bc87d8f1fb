/**
 * Names shared by the server and the login helper. Other tools (scripts,
 * browser automation) depend on these exact values: do not rename them.
 */

/** Routes of the SSO server. */
export const ROUTES = {
  login: '/login',
  callback: '/callback',
  logout: '/logout',
  userToken: '/user/token',
  userId: '/user/id',
  userMe: '/user/me',
  healthz: '/healthz',
  readyz: '/readyz',
  devIdp: '/idp',
} as const;

/** `data-testid` values of the markers on the server's HTML pages. */
export const TEST_IDS = {
  loginSuccess: 'login-success',
  loginError: 'login-error',
  logoutSuccess: 'logout-success',
  logoutConfirm: 'logout-confirm',
  loginConfirm: 'login-confirm',
} as const;

/** CSS selector for an element carrying the given `data-testid`. */
export function testIdSelector(testId: string): string {
  return `[data-testid="${testId}"]`;
}

/** Port the server listens on when PORT is not set, and the login helper's default server. */
export const DEFAULT_PORT = 5000;
export const DEFAULT_SERVER_URL = `http://localhost:${DEFAULT_PORT}`;

/**
 * The longest id_token either side accepts: the server refuses longer Bearer tokens before any
 * parsing, and the login helper longer answers from /user/token. 8 KB is also the header line a
 * common proxy passes (nginx's large_client_header_buffers); the session cookie holds far less
 * (about 2,800 bytes of token, README).
 */
export const MAX_ID_TOKEN_LENGTH = 8 * 1024;
