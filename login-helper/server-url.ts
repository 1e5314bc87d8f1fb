import { ROUTES } from '../shared/constants.ts';
import { LoginError } from './errors.ts';

/**
 * Normalizes a server URL given on the command line or in $SSO_SERVER (`source`, named in errors):
 * http(s) only, no query or fragment, no trailing slash. The server may be
 * mounted under a path prefix (https://example.com/sso), so the path is kept.
 */
export function normalizeServerUrl(input: string, source = '--server'): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch (error) {
    throw new LoginError('USAGE', `${source}: not a URL: ${JSON.stringify(input)} (expected e.g. http://localhost:5000)`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LoginError('USAGE', `${source}: the server URL must start with http:// or https://, got ${JSON.stringify(input)}`);
  }
  if (url.username || url.password) {
    throw new LoginError('USAGE', `${source}: the server URL must not contain a user name or password`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  // The address the server's log names at start-up is its /login page: a natural thing to paste.
  const route = Object.values(ROUTES).find((candidate) => path.endsWith(candidate));
  if (route) {
    const base = `${url.origin}${path.slice(0, -route.length)}`;
    throw new LoginError('USAGE', `${source}: ${input} is the server's ${route} page; give the server's address: ${base}`);
  }
  return `${url.origin}${path}`;
}

/** Absolute URL of one of the server's routes (ROUTES values start with '/'), keeping a path prefix. */
export function routeUrl(serverUrl: string, route: string): string {
  return new URL(route.replace(/^\//, ''), `${serverUrl}/`).href;
}
