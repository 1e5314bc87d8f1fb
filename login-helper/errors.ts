/**
 * The login helper's one error type. Every expected failure becomes a
 * `LoginError` with a stable `code` and its own process exit code, so scripts
 * can branch on `$?` and the CLI prints one line instead of a stack trace.
 */
import { REQUEST_TIMEOUT_MS } from './limits.ts';

/** Each error code, its exit status and what it means (shown in --help and the README). */
export const ERROR_CODES = {
  INTERNAL: { exitCode: 1, meaning: 'unexpected error (rerun with --verbose and report it)' },
  USAGE: { exitCode: 2, meaning: 'bad command, option or option value (or a --profile folder that is neither a browser profile nor empty)' },
  SERVER_UNREACHABLE: { exitCode: 3, meaning: `the server did not answer at the given URL (or not within ${REQUEST_TIMEOUT_MS / 1000} s), or what answered is not a koa-oidc-sso server` },
  NO_BROWSER: { exitCode: 4, meaning: 'no Chromium or Chrome found (install one or pass --browser)' },
  BROWSER_FAILED: { exitCode: 5, meaning: 'the browser did not start or crashed (no display for its window, or the profile is in use)' },
  WINDOW_CLOSED: { exitCode: 6, meaning: 'the sign-in window was closed before sign-in finished' },
  TIMEOUT: { exitCode: 7, meaning: 'sign-in did not finish within --timeout' },
  LOGIN_FAILED: { exitCode: 8, meaning: "the server showed its login error page (its text is quoted)" },
  LOGIN_REQUIRED: { exitCode: 9, meaning: '--headless: the identity provider wants you to sign in, which needs a window' },
  TOKEN_REFUSED: { exitCode: 10, meaning: 'GET /user/token was refused or answered no usable id_token' },
  IDENTITY_REFUSED: { exitCode: 11, meaning: 'GET /user/id or /user/me refused the token, or answered no plain identifier or JSON object' },
  NOT_SIGNED_IN: { exitCode: 12, meaning: 'whoami: no valid cached token (run login first)' },
} as const satisfies Record<string, { exitCode: number; meaning: string }>;

/** Stable identifier of a failure; code and tests switch on it, never on message text. */
export type LoginErrorCode = keyof typeof ERROR_CODES;

/** An expected failure of the login helper: one-line message, `code`, `exitCode`, optional `cause`. */
export class LoginError extends Error {
  readonly code: LoginErrorCode;
  readonly exitCode: number;

  constructor(code: LoginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoginError';
    this.code = code;
    this.exitCode = ERROR_CODES[code].exitCode;
  }
}

/** True when `error` is a {@link LoginError}, optionally with the given code. */
export function isLoginError(error: unknown, code?: LoginErrorCode): error is LoginError {
  return error instanceof LoginError && (code === undefined || error.code === code);
}

/** The exit-code table as aligned text lines, for --help. */
export function exitCodeTable(): string {
  const rows = Object.values(ERROR_CODES).map(({ exitCode, meaning }) => `  ${String(exitCode).padStart(2)}  ${meaning}`);
  return ['Exit codes:', '   0  success', ...rows].join('\n');
}
