import escapeHtml from 'escape-html';
import type { Context } from 'koa';
import { ROUTES, TEST_IDS } from '../shared/constants.ts';

/** No scripts, no external resources: these pages only show text (and the dev IdP's form). */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Everything interpolated into a page goes through here: IdP-supplied text is untrusted. */
export function html(strings: TemplateStringsArray, ...values: Array<string | number | SafeHtml>): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += (value instanceof SafeHtml ? value.html : escapeHtml(String(value))) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Markup that has already been escaped. */
export class SafeHtml {
  constructor(readonly html: string) {}
}

export function page(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
  h1 { font-size: 1.4rem; }
  .ok { color: #1a7f37; } .error { color: #cf222e; }
  input, button { font: inherit; padding: .4rem .6rem; margin: .2rem 0; }
  input { width: 100%; box-sizing: border-box; }
  code { background: #f6f8fa; padding: .1rem .3rem; }
</style>
</head>
<body>
${body}
</body>
</html>
`.html;
}

/** Sends one of our pages, with the CSP that goes with them. */
export function sendPage(ctx: Context, document: string): void {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.body = document;
}

export function loginSuccessPage(who: string): string {
  return page(
    'Signed in',
    html`<h1 class="ok">Signed in</h1>
<p data-testid="${TEST_IDS.loginSuccess}">Signed in as <strong>${who}</strong>.</p>
<p>You can close this window.</p>`,
  );
}

export function loginErrorPage(title: string, message: string): string {
  return page(
    title,
    html`<h1 class="error">${title}</h1>
<p data-testid="${TEST_IDS.loginError}">${message}</p>
<p><a href="${ROUTES.login}">Try signing in again</a></p>`,
  );
}

export function logoutPage(): string {
  return page(
    'Signed out',
    html`<h1>Signed out</h1>
<p data-testid="${TEST_IDS.logoutSuccess}">You are signed out.</p>
<p><a href="${ROUTES.login}">Sign in again</a></p>`,
  );
}

/** What /logout shows instead of signing out when the request may not be the user's own (see the route). */
export function logoutConfirmPage(): string {
  return page(
    'Sign out?',
    html`<h1>Sign out?</h1>
<p>Another website, or your browser ahead of time, opened this page to sign you out. You are still signed in.</p>
<p><a data-testid="${TEST_IDS.logoutConfirm}" href="${ROUTES.logout}">Sign out</a>, or close this page to stay signed in.</p>`,
  );
}

/** What /login shows instead of making room for a sign-in that may not be the user's own: what it would cost. */
export function loginConfirmPage(loginPath: string, cost: { signsOut: boolean; endedSignIns: number }): string {
  const losses = [
    ...(cost.signsOut ? ['signs you out here until it completes'] : []),
    ...(cost.endedSignIns > 0 ? [`ends ${cost.endedSignIns === 1 ? 'a sign-in' : `${cost.endedSignIns} sign-ins`} you started in another tab`] : []),
  ];
  return page(
    'Sign in again?',
    html`<h1>Sign in again?</h1>
<p>Another website, or your browser ahead of time, opened this page to start a new sign-in. Starting it ${losses.join(', and ')}.</p>
<p><a data-testid="${TEST_IDS.loginConfirm}" href="${loginPath}">Start a new sign-in</a>, or close this page to leave things as they are.</p>`,
  );
}
