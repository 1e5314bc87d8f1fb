import { SsoError } from '../errors.ts';

const MAX_RETURN_TO_LENGTH = 2048;

/**
 * The `return_to` of /login as a same-origin path, or undefined when absent.
 * Only relative paths are accepted: `//host`, `/\host`, schemes and control characters are
 * refused, so /login can never be used as an open redirector (RFC 9700 4.11).
 */
export function parseReturnTo(value: unknown, origin: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_RETURN_TO_LENGTH) {
    throw new SsoError('invalid_request', 'return_to must be a single relative path on this server');
  }
  // eslint-disable-next-line no-control-regex
  if (!value.startsWith('/') || value.startsWith('//') || /[\\\x00-\x1f\x7f]/.test(value)) {
    throw new SsoError('invalid_request', 'return_to must be a relative path on this server, such as /user/me');
  }
  const resolved = new URL(value, origin);
  if (resolved.origin !== origin) throw new SsoError('invalid_request', 'return_to must stay on this server');
  return resolved.pathname + resolved.search + resolved.hash;
}
