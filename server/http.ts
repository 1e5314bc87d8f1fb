import { got, RequestError, type Got } from 'got';

/** Time allowed for one request to the identity provider. */
export const IDP_REQUEST_TIMEOUT_MS = 5000;

/** The got instance for server-to-IdP requests: short timeout, no retry (callers cache and retry later). */
export const idpHttp: Got = got.extend({
  timeout: { request: IDP_REQUEST_TIMEOUT_MS },
  retry: { limit: 0 },
  headers: { 'user-agent': 'koa-oidc-sso', accept: 'application/json' },
  throwHttpErrors: true,
});

/** A short human description of why an HTTP request to the IdP failed. */
export function describeHttpFailure(error: unknown): string {
  if (error instanceof RequestError) {
    const status = error.response?.statusCode;
    return status ? `HTTP ${status}` : (error.code ?? error.message);
  }
  return error instanceof Error ? error.message : String(error);
}
