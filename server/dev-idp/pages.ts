import type { ErrorOut } from 'oidc-provider';
import { ROUTES } from '../../shared/constants.ts';
import { html, loginErrorPage, page, type SafeHtml } from '../pages.ts';

/** The sign-in form's limits: the same as the form's validation in provider.ts. */
export const SIGN_IN_LIMITS = {
  /** RFC 5321 4.5.3.1.3: a path is at most 256 octets, an address within it at most 254. */
  emailLength: 254,
  nameLength: 100,
  /** The whole form, as posted; a form within the field limits is a fraction of it. */
  formBytes: 8 * 1024,
} as const;

export function signInPage(action: string, error?: string): string {
  return page(
    'Sign in (development IdP)',
    html`<h1>Sign in</h1>
<p>Development identity provider: <strong>any email signs in</strong>, no password. Never use it in production.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="${action}">
<label>Email <input name="email" type="email" autocomplete="email" maxlength="${SIGN_IN_LIMITS.emailLength}" required autofocus></label>
<label>Name (optional) <input name="name" type="text" autocomplete="name" maxlength="${SIGN_IN_LIMITS.nameLength}"></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

/** The development IdP's sign-out confirmation; `form` is oidc-provider's own (hidden) form. */
export function signOutPage(form: SafeHtml): string {
  return page(
    'Sign out (development IdP)',
    html`<h1>Sign out</h1>
<p>Sign out of the development identity provider too, so that the next sign-in asks for an email again.</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>`,
  );
}

/** After a sign-out at the IdP that named no client address to return to. */
export function signedOutPage(): string {
  return page(
    'Signed out (development IdP)',
    html`<h1>Signed out</h1>
<p>You are signed out of the development identity provider: the next sign-in asks for an email again.</p>
<p><a href="${ROUTES.login}">Sign in again</a></p>`,
  );
}

/** What oidc-provider's error codes mean to the person who meets them. */
const EXPLANATIONS: Record<string, string> = {
  invalid_client: 'The application that sent you here is not registered at the development identity provider.',
  invalid_redirect_uri: 'The application that sent you here asked to be answered at an address it has not registered.',
  invalid_request: 'The development identity provider could not go on with this request.',
  server_error: 'The development identity provider failed. Please try again later.',
};

/**
 * oidc-provider's error responses for browsers (its renderError), as one of our pages: the
 * login-error marker (the login helper reports it rather than waiting), no oidc-provider styling.
 * @param route oidc-provider's name for the endpoint that failed, e.g. `authorization`, `end_session_confirm`.
 */
export function providerErrorPage(status: number, out: ErrorOut, route: string | undefined): string {
  const explanation = EXPLANATIONS[out.error] ?? 'The development identity provider refused this request.';
  // A server_error's description is oidc-provider's generic "oops! something went wrong".
  const reason = out.error !== 'server_error' && out.error_description ? ` Reason: ${out.error_description}.` : '';
  const title = status >= 500 ? 'Identity provider error' : route?.startsWith('end_session') ? 'Sign-out failed' : 'Sign-in failed';
  return loginErrorPage(title, `${explanation}${reason}`);
}
