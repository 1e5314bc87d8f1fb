import { ROUTES } from '../../shared/constants.ts';
import { SsoError } from '../errors.ts';

/** Short enough that a few pending sign-ins fit in the session cookie. */
const MAX_RETURN_TO_LENGTH = 512;

const SIGN_IN_ROUTES: ReadonlySet<string> = new Set([ROUTES.login, ROUTES.callback, ROUTES.logout]);

/** A path that a browser reads as a path on this origin: one leading slash, never `//` or `/\`. */
const LOCAL_PATH = /^\/(?![/\\])/;

/**
 * The `return_to` of /login as a same-origin path, or undefined when absent.
 * Only relative paths are accepted, and they are checked again once normalised (dot segments
 * resolved: `/..//evil.example` would become `//evil.example`), so /login can never be used as
 * an open redirector (RFC 9700 4.11).
 */
export function parseReturnTo(value: unknown, origin: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new SsoError('invalid_request', 'return_to must appear once');
  if (value.length > MAX_RETURN_TO_LENGTH) throw new SsoError('invalid_request', `return_to must be at most ${MAX_RETURN_TO_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (!LOCAL_PATH.test(value) || /[\\\x00-\x1f\x7f]/.test(value)) {
    throw new SsoError('invalid_request', 'return_to must be a relative path on this server, such as /user/me');
  }
  const resolved = new URL(value, origin);
  // A sign-in that ends by signing out, or by starting over, is no place to return to (and lets
  // another site chain a sign-out behind a sign-in through a same-origin IdP).
  if (SIGN_IN_ROUTES.has(resolved.pathname)) {
    throw new SsoError('invalid_request', `return_to cannot be ${[...SIGN_IN_ROUTES].join(', ')}`);
  }
  const path = resolved.pathname + resolved.search + resolved.hash;
  if (resolved.origin !== origin || !LOCAL_PATH.test(path) || new URL(path, origin).origin !== origin) {
    throw new SsoError('invalid_request', 'return_to must stay on this server');
  }
  // Non-ASCII characters come back percent-encoded, up to 9 times as long: the limit holds for what is kept.
  if (path.length > MAX_RETURN_TO_LENGTH) {
    throw new SsoError('invalid_request', `return_to must be at most ${MAX_RETURN_TO_LENGTH} characters once percent-encoded`);
  }
  return path;
}
