/**
 * What the helper accepts from the server, in one place: api.ts enforces these limits on each
 * answer, token-cache.ts on tokens an earlier version cached, and errors.ts quotes them in the
 * exit-code table. (A module of its own because api.ts imports errors.ts.)
 */
import { MAX_ID_TOKEN_LENGTH } from '../shared/constants.ts';

/** The most the helper reads of any answer: the server's are a token, an email, a few claims or one error. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** The longest id_token accepted: the server's own limit (ID_TOKEN_SHAPE is ASCII, so characters are bytes). */
export const MAX_ID_TOKEN_BYTES = MAX_ID_TOKEN_LENGTH;
/** The longest identifier /user/id may answer: an email address has at most 320 characters (RFC 3696 section 3). */
export const MAX_IDENTIFIER_LENGTH = 320;
/** How long each request may take, answer included (README: What the helper takes from the server). */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Three base64url parts joined by dots, as an id_token (a JWS in compact serialization) is; only
 * ASCII, so its length is its size in bytes.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-7.1
 */
export const ID_TOKEN_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
