import { got, type Got } from 'got';
import { CookieJar } from 'tough-cookie';

/** An HTTP client with its own cookie jar, like one browser profile; never throws on HTTP status. */
export function cookieClient(): { http: Got; jar: CookieJar } {
  const jar = new CookieJar();
  const http = got.extend({ cookieJar: jar, throwHttpErrors: false, retry: { limit: 0 }, timeout: { request: 10_000 } });
  return { http, jar };
}

/** The form action and hidden fields of the IdP's sign-in page. */
function formAction(html: string, pageUrl: string): string {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no sign-in form at ${pageUrl}:\n${html.slice(0, 500)}`);
  return new URL(action.replaceAll('&amp;', '&'), pageUrl).href;
}

/**
 * Walks the whole sign-in over HTTP, as a browser would: /login, the IdP's form, the callback.
 * Returns the final response (the callback's page, or wherever return_to led).
 */
export async function signIn(serverUrl: string, email: string, options: { http?: Got; loginPath?: string; name?: string } = {}) {
  return continueSignIn(options.http ?? cookieClient().http, new URL(options.loginPath ?? '/login', serverUrl), email, options.name);
}

/** The rest of a sign-in from `url` on (/login, or the IdP URL a /login redirected to), as {@link signIn}. */
export async function continueSignIn(http: Got, url: string | URL, email: string, name = '') {
  const form = await http.get(url);
  // No form when the IdP remembers this client (its own session cookie): the callback answered already.
  if (form.statusCode !== 200 || !form.body.includes('<form')) return form;
  return http.post(formAction(form.body, form.url), { form: { email, name } });
}

/**
 * Signs in at the IdP but stops before the callback: returns the callback URL the IdP
 * sent the browser to, so tests can replay or tamper with it.
 */
export async function callbackUrlFor(serverUrl: string, email: string, http: Got): Promise<URL> {
  let response = await http.get(new URL('/login', serverUrl), { followRedirect: false });
  for (let hops = 0; hops < 10; hops++) {
    if (response.statusCode === 200 && response.body.includes('<form')) {
      response = await http.post(formAction(response.body, response.url), { form: { email }, followRedirect: false });
      continue;
    }
    const location = new URL(response.headers.location ?? '', response.url);
    if (location.href.startsWith(`${serverUrl}/callback`)) return location;
    response = await http.get(location, { followRedirect: false });
  }
  throw new Error('the IdP never redirected to the callback');
}
