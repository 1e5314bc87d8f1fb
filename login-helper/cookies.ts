import type { Cookie as BrowserCookie } from 'puppeteer';
import { Cookie, CookieJar, canonicalDomain, domainMatch } from 'tough-cookie';

export type { BrowserCookie };

const SAME_SITE: Partial<Record<string, string>> = { Strict: 'strict', Lax: 'lax', None: 'none' };

/**
 * Converts one cookie as Chromium reports it (CDP `Network.Cookie`) into a
 * tough-cookie `Cookie`. Chromium writes a domain cookie with a leading dot
 * and a host-only cookie without one; `expires` is seconds, -1 for a session cookie.
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-5.3 (host-only flag)
 */
export function toToughCookie(cookie: BrowserCookie): Cookie {
  const hostOnly = !cookie.domain.startsWith('.');
  const session = cookie.session || cookie.expires < 0;
  return new Cookie({
    key: cookie.name,
    value: cookie.value,
    domain: canonicalDomain(cookie.domain.replace(/^\./, '')) ?? null,
    hostOnly,
    path: cookie.path,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly ?? false,
    expires: session ? null : new Date(cookie.expires * 1000),
    sameSite: cookie.sameSite ? SAME_SITE[cookie.sameSite] : undefined,
  });
}

/** True when a browser would send `cookie` to `hostname` (ignoring path and scheme). */
function appliesToHost(cookie: Cookie, hostname: string): boolean {
  const host = canonicalDomain(hostname);
  return cookie.hostOnly ? cookie.domain === host : domainMatch(host, cookie.domain, false) === true;
}

/**
 * Builds a cookie jar holding the browser's cookies for the server's host, for
 * got to send back. Cookies of other hosts (the IdP's, for instance) are left
 * out. The jar keeps tough-cookie's defaults, which match Chromium's: a Secure
 * cookie goes only over https or to localhost/127.0.0.1, and paths are scoped.
 */
export async function toCookieJar(cookies: readonly BrowserCookie[], serverUrl: string): Promise<CookieJar> {
  const { hostname } = new URL(serverUrl);
  const jar = new CookieJar();
  for (const browserCookie of cookies) {
    const cookie = toToughCookie(browserCookie);
    if (!appliesToHost(cookie, hostname)) continue;
    await jar.setCookie(cookie, cookieOrigin(cookie));
  }
  return jar;
}

/** A URL from which the cookie could have been set, as tough-cookie checks it against the domain. */
function cookieOrigin(cookie: Cookie): string {
  return `${cookie.secure ? 'https' : 'http'}://${cookie.domain ?? ''}${cookie.path ?? '/'}`;
}
