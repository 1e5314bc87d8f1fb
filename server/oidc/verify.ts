import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { IdTokenClaims } from '../../shared/claims.ts';
import { MAX_ID_TOKEN_LENGTH } from '../../shared/constants.ts';
import { SsoError } from '../errors.ts';
import type { Discovery } from './discovery.ts';
import type { KeyStore, VerificationKey } from './keys.ts';

/** Asymmetric algorithms jsonwebtoken verifies with a JWKS public key. Never `none`, never HMAC. */
export const SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A header parameter that must be a string, with a message that says so (not zod's "Invalid input"). */
const headerString = () => z.string({ error: (issue) => (issue.input === undefined ? 'is missing' : 'is not a string') });

/** The JOSE header: no `crit` (RFC 7515 4.1.11: we understand no extension), and a JWT if typed at all. */
const headerSchema = z.object({
  // Bounded: a rejected alg is quoted back in the WWW-Authenticate header.
  alg: headerString().max(32, { error: 'names no algorithm this server knows' }),
  kid: headerString().optional(),
  typ: headerString()
    .regex(/^(application\/)?jwt$/i, { error: 'is not JWT: this is another kind of token (an access or logout token?)' })
    .optional(),
  crit: z.never({ error: 'lists critical extensions this server does not understand' }).optional(),
});

/** Optional claims: IdPs send null for "none", and some send booleans as strings. */
const optionalString = z.string().nullish().transform((value) => value ?? undefined);
const optionalBoolean = z
  .union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')])
  .nullish()
  .transform((value) => value ?? undefined);

/** OpenID Connect Core 2: the claims an id_token must carry, with their types. */
const claimsSchema = z
  .object({
    iss: z.string(),
    sub: z.string().min(1).max(255),
    aud: z.union([z.string(), z.array(z.string()).min(1)]),
    exp: z.number(),
    iat: z.number(),
    nbf: z.number().nullish().transform((value) => value ?? undefined),
    azp: optionalString,
    nonce: optionalString,
    email: optionalString,
    email_verified: optionalBoolean,
    name: optionalString,
    // A back-channel logout token is signed by the same keys for the same audience: never a sign-in.
    events: z.never({ error: 'marks a logout token, not an id_token' }).optional(),
    // Some IdPs sign their access tokens like id_tokens and say which is which only here
    // (Keycloak's typ "ID" / "Bearer", Cognito's token_use "id" / "access").
    typ: z.string().regex(/^id$/i, { error: 'marks another kind of token (an access token?), not an id_token' }).optional(),
    token_use: z.literal('id', { error: 'marks another kind of token (an access token?), not an id_token' }).optional(),
  })
  .passthrough();

/**
 * Google's discovery document names `https://accounts.google.com` as its issuer, yet Google
 * documents the iss of its id_tokens as that or `accounts.google.com`: for Google alone, both.
 * @see https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
 */
const GOOGLE_ISSUER = 'https://accounts.google.com';
function acceptedIssuers(issuer: string): string | [string, string] {
  return issuer === GOOGLE_ISSUER ? [GOOGLE_ISSUER, 'accounts.google.com'] : issuer;
}

export interface VerifyOptions {
  /** The nonce sent in the authentication request; required at the callback, absent on API requests. */
  nonce?: string;
  /** The token is the token endpoint's reply at a sign-in (see KeyLookupOptions). */
  fromTokenEndpoint?: boolean;
}

export interface TokenVerifier {
  /**
   * Verifies an id_token issued to this client and returns its claims.
   * @throws SsoError `invalid_token` for a bad token, `idp_unavailable` when the keys cannot be had.
   * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
   */
  verify(token: string, options?: VerifyOptions): Promise<IdTokenClaims>;
  /**
   * The claims of a token this verifier already verified and that is still good (exp, nbf, key
   * still published), synchronously; undefined otherwise, and then verify() decides.
   */
  remembered(token: string): IdTokenClaims | undefined;
  /** How many verified tokens are remembered now (bounded by cacheSize). */
  rememberedCount(): number;
}

export interface VerifierOptions {
  discovery: Discovery;
  keyStore: KeyStore;
  clientId: string;
  clockToleranceSec?: number;
  now?: () => number;
  /** How many verified tokens to remember (LRU). 0 disables the cache. */
  cacheSize?: number;
}

interface VerifiedToken {
  token: string;
  claims: IdTokenClaims;
  key: VerificationKey;
}

/**
 * The cache key of a token: the last 43 characters of its signature (about 256 bits). V8 hashes
 * a string key character by character, which for a 1-2 KB token costs more than everything else
 * a cache hit does; a hit is then compared with the whole token, so only the exact token matches.
 */
function cacheKey(token: string): string {
  return token.slice(-43);
}

function invalid(message: string, cause?: unknown): SsoError {
  return new SsoError('invalid_token', message, { cause });
}

function isBadSignature(error: unknown): boolean {
  return error instanceof jwt.JsonWebTokenError && error.message === 'invalid signature';
}

function describeJwtError(error: unknown): string {
  if (error instanceof jwt.TokenExpiredError) return 'The token has expired';
  if (error instanceof jwt.NotBeforeError) return 'The token is not valid yet (nbf)';
  if (error instanceof jwt.JsonWebTokenError) {
    if (isBadSignature(error)) return 'The token signature is invalid';
    if (error.message.startsWith('jwt audience invalid')) return 'The token names no audience (aud), or another client than this server';
    if (error.message.startsWith('jwt issuer invalid')) return 'The token names no issuer (iss), or another issuer than this identity provider';
    if (error.message.startsWith('jwt nonce invalid')) return 'The token nonce does not match the sign-in request';
    return `The token is invalid (${error.message})`;
  }
  return 'The token is invalid';
}

/**
 * Builds the id_token verifier: keys from the JWKS, algorithms from an allowlist intersected with
 * what the provider advertises (never from the token header), claims per OpenID Connect Core 3.1.3.7.
 * Verified tokens are remembered until their exp, and forgotten as soon as their key leaves the JWKS.
 */
/**
 * The algorithms an id_token may be signed with: those the provider advertises that this server
 * supports. @throws SsoError (idp_unavailable) when there are none.
 */
export function allowedAlgorithms(advertised: readonly string[] | undefined): Algorithm[] {
  // OpenID Connect Discovery 3: RS256 when the provider does not say.
  const offered = advertised ?? ['RS256'];
  const allowed = SUPPORTED_ALGORITHMS.filter((alg) => offered.includes(alg));
  if (allowed.length === 0) {
    throw new SsoError('idp_unavailable', `The identity provider signs id_tokens with ${offered.join(', ')}; this server accepts ${SUPPORTED_ALGORITHMS.join(', ')}`);
  }
  return allowed;
}

export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const { discovery, keyStore, clientId, clockToleranceSec = 30, now = Date.now, cacheSize = 10_000 } = options;
  // Only the exact token matches an entry (see cacheKey). No TTL of its own: every hit checks exp.
  const verified = cacheSize > 0 ? new LRUCache<string, VerifiedToken>({ max: cacheSize }) : undefined;

  /** A remembered token is good until its exp, never later (nbf with the usual tolerance). */
  function isWithinLifetime(claims: IdTokenClaims, nowSec: number): boolean {
    return claims.exp > nowSec && (claims.nbf === undefined || claims.nbf <= nowSec + clockToleranceSec);
  }

  async function verifyFully(token: string, verifyOptions: VerifyOptions): Promise<VerifiedToken> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded) throw invalid('The token is not a signed JWT');
    // Base64url leaves spare bits in the last character: set, they spell the same signature
    // differently, and every spelling would pass as a token of its own (RFC 7515 2, RFC 4648 3.5).
    const signature = token.slice(token.lastIndexOf('.') + 1);
    if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) {
      throw invalid('The token signature is not canonical base64url');
    }
    const header = headerSchema.safeParse(decoded.header);
    if (!header.success) {
      const issue = header.error.issues[0];
      throw invalid(`The token's header ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is malformed'}`.replace(/\s+/g, ' '));
    }

    const document = await discovery.get();
    const algorithms = allowedAlgorithms(document.id_token_signing_alg_values_supported);
    if (!(algorithms as string[]).includes(header.data.alg)) {
      throw invalid(`The token's algorithm ${JSON.stringify(header.data.alg)} is not accepted (allowed: ${algorithms.join(', ')})`);
    }
    const fromTokenEndpoint = verifyOptions.fromTokenEndpoint === true;
    const keyForToken = async () => {
      const found = await keyStore.get(header.data.kid, header.data.alg, { fromTokenEndpoint });
      if (found.alg !== undefined && found.alg !== header.data.alg) {
        throw invalid(`The token's algorithm ${header.data.alg} is not the one its key is published for (${found.alg})`);
      }
      return found;
    };
    const checked = (candidate: VerificationKey) =>
      jwt.verify(token, candidate.keyObject, {
        algorithms,
        issuer: acceptedIssuers(document.issuer),
        audience: clientId,
        clockTolerance: clockToleranceSec,
        clockTimestamp: Math.floor(now() / 1000),
        ...(verifyOptions.nonce === undefined ? {} : { nonce: verifyOptions.nonce }),
      });

    let key = await keyForToken();
    let payload: unknown;
    try {
      try {
        payload = checked(key);
      } catch (error) {
        // An IdP that put a new key under a kid it used before: the token its token endpoint has
        // just returned is worth one fresh look at the JWKS before it is called forged.
        if (!fromTokenEndpoint || !isBadSignature(error)) throw error;
        await keyStore.refetch();
        key = await keyForToken();
        payload = checked(key);
      }
    } catch (error) {
      if (error instanceof SsoError) throw error;
      // jsonwebtoken's messages quote expected values (the nonce): described, not passed on.
      throw invalid(describeJwtError(error));
    }

    const parsed = claimsSchema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const detail = issue?.message.startsWith('marks ') ? issue.message : 'is missing or malformed';
      throw invalid(`The token's ${issue?.path.join('.') || 'claims'} claim ${detail}`);
    }
    // Shared by every request that presents this token while it is remembered: read-only.
    const claims = Object.freeze(parsed.data) as IdTokenClaims;
    if (verifyOptions.nonce !== undefined && claims.nonce !== verifyOptions.nonce) {
      throw invalid('The token nonce does not match the sign-in request');
    }
    // Core 3.1.3.7 points 3 to 5: an azp must be us, several audiences need one, and no audience
    // but us is trusted (another audience could replay the token here, or we there).
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.azp !== undefined && claims.azp !== clientId) throw invalid('The token was issued to another client (azp)');
    if (audiences.length > 1 && claims.azp === undefined) throw invalid('The token has several audiences but no azp claim');
    if (audiences.some((audience) => audience !== clientId)) throw invalid('The token is also issued to audiences this server does not trust (aud)');
    // jsonwebtoken checks iat only against a maxAge: a token from the future means a broken clock or a forgery.
    const aheadSec = claims.iat - Math.floor(now() / 1000);
    if (aheadSec > clockToleranceSec) {
      throw invalid(`The token was issued in the future (iat is ${aheadSec} s ahead of this server's clock: is the identity provider's clock, or this one, wrong?)`);
    }
    return { token, claims, key };
  }

  function remembered(token: string): IdTokenClaims | undefined {
    const key = cacheKey(token);
    const hit = verified?.get(key);
    // Another token ending in the same characters (a tampered copy) is verified in full, and leaves the entry alone.
    if (!hit || hit.token !== token) return undefined;
    if (isWithinLifetime(hit.claims, Math.floor(now() / 1000)) && keyStore.isCurrent(hit.key)) return hit.claims;
    verified?.delete(key);
    return undefined;
  }

  return {
    remembered,
    rememberedCount: () => verified?.size ?? 0,
    async verify(token, verifyOptions = {}) {
      if (token.length > MAX_ID_TOKEN_LENGTH) throw invalid('The token is too large');
      // A nonce check is a one-time sign-in step: always verified in full.
      if (verifyOptions.nonce === undefined) {
        const claims = remembered(token);
        if (claims) return claims;
      }
      if (!JWS_COMPACT.test(token)) throw invalid('The token is not a signed JWT');
      const result = await verifyFully(token, verifyOptions);
      if (verified && result.claims.exp > Math.floor(now() / 1000)) verified.set(cacheKey(token), result);
      return result.claims;
    },
  };
}
