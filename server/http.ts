import { CancelError, got, ParseError, RequestError, TimeoutError, type CancelableRequest, type Got, type Progress } from 'got';

/** Time allowed for one request to the identity provider. */
export const IDP_REQUEST_TIMEOUT_MS = 5000;

/** The largest reply read from the IdP (discovery, JWKS): real ones are a few KB. */
export const IDP_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * The got instance for server-to-IdP requests: a short timeout, and one quick retry only when a
 * kept-alive connection turns out to be closed (an IdP restart, an idle timeout at a proxy).
 * Callers cache what they fetch, so anything else fails fast and is tried again later.
 */
export const idpHttp: Got = got.extend({
  timeout: { request: IDP_REQUEST_TIMEOUT_MS },
  retry: { limit: 1, methods: ['GET'], statusCodes: [], errorCodes: ['ECONNRESET', 'EPIPE'], backoffLimit: 100 },
  headers: { 'user-agent': 'koa-oidc-sso', accept: 'application/json' },
  throwHttpErrors: true,
  handlers: [
    (options, next) => {
      // Requests to the IdP use got's promise API only.
      const request = next(options);
      const cancelable = request as CancelableRequest;
      // got has no size limit of its own; cancelling on download progress is its documented way.
      // Only this cancels an IdP request, so a CancelError means "too large" (describeHttpFailure).
      cancelable.on('downloadProgress', ({ transferred, total }: Progress) => {
        if (transferred > IDP_MAX_RESPONSE_BYTES || (total ?? 0) > IDP_MAX_RESPONSE_BYTES) cancelable.cancel();
      });
      return request;
    },
  ],
});

const PRIVATE_AUTHORITY_HINT = '; for a private authority, point NODE_EXTRA_CA_CERTS at its certificate';
const UNVERIFIABLE_CHAIN = 'its TLS certificate chain cannot be verified (an authority this server does not trust, or intermediate certificates the IdP does not send)';

/** TLS failures caused by the IdP's certificate, as an operator can act on them. */
const CERTIFICATE_PROBLEMS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: `its TLS certificate is self-signed${PRIVATE_AUTHORITY_HINT}`,
  SELF_SIGNED_CERT_IN_CHAIN: `its TLS certificate comes from an authority this server does not trust${PRIVATE_AUTHORITY_HINT}`,
  // Also what an IdP that leaves its intermediate certificates out of the handshake gets.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `${UNVERIFIABLE_CHAIN}${PRIVATE_AUTHORITY_HINT}`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `${UNVERIFIABLE_CHAIN}${PRIVATE_AUTHORITY_HINT}`,
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another host name',
};

/** A short human description of why an HTTP request to the IdP failed. */
export function describeHttpFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && CERTIFICATE_PROBLEMS[code]) return `${code}: ${CERTIFICATE_PROBLEMS[code]}`;
  if (error instanceof CancelError) return `the reply is larger than ${IDP_MAX_RESPONSE_BYTES / 1024 / 1024} MB`;
  if (error instanceof TimeoutError) return `no reply within ${IDP_REQUEST_TIMEOUT_MS / 1000} s`;
  if (error instanceof ParseError) {
    // A login page or a proxy's error page served with 200, where JSON was due.
    const type = String(error.response.headers['content-type'] ?? 'no content type').split(';')[0];
    return `HTTP ${error.response.statusCode} but not JSON: ${type}`;
  }
  if (error instanceof RequestError) {
    const status = error.response?.statusCode;
    return status ? `HTTP ${status}` : (error.code ?? error.message);
  }
  return error instanceof Error ? error.message : String(error);
}
