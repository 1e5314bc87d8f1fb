/**
 * The server's error family. Code and tests switch on `code`, never on the message.
 * `expose` says whether the message may be shown to the client; 5xx details never are.
 */
export type ErrorCode =
  /** RFC 6750: no usable token was presented. */
  | 'unauthenticated'
  /** RFC 6750: a token was presented and is malformed, expired, revoked or not ours. */
  | 'invalid_token'
  /** A query parameter or header is malformed. */
  | 'invalid_request'
  /** The callback does not belong to a sign-in this browser started (state, missing session). */
  | 'login_state_mismatch'
  /** The identity provider answered the sign-in with an error. */
  | 'idp_error_reply'
  /** The authorization code exchange was refused by the identity provider. */
  | 'code_exchange_refused'
  /** The id_token from the code exchange failed validation. */
  | 'invalid_id_token'
  /** The identity provider is unreachable or answered something unusable. */
  | 'idp_unavailable'
  /** The IdP says the token's email is not verified: it identifies nobody. */
  | 'email_not_verified'
  | 'not_found'
  | 'method_not_allowed'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401,
  invalid_token: 401,
  invalid_request: 400,
  login_state_mismatch: 400,
  idp_error_reply: 400,
  code_exchange_refused: 400,
  invalid_id_token: 502,
  idp_unavailable: 503,
  email_not_verified: 403,
  not_found: 404,
  method_not_allowed: 405,
  internal: 500,
};

export class SsoError extends Error {
  override name = 'SsoError';
  readonly status: number;
  readonly expose: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status ?? STATUS[code];
    this.expose = this.status < 500 || code === 'idp_unavailable' || code === 'invalid_id_token';
  }
}

export function isSsoError(error: unknown): error is SsoError {
  return error instanceof SsoError;
}
