import { createPublicKey, type KeyObject } from 'node:crypto';
import jwksClient from 'jwks-rsa';
import { SsoError } from '../errors.ts';
import { describeHttpFailure, idpHttp } from '../http.ts';
import { createFailureBackoff } from './failure-backoff.ts';

/** One signing key of the provider, parsed once per JWKS fetch. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when the provider declares one: the only algorithm this key may verify. */
  readonly alg: string | undefined;
  readonly keyObject: KeyObject;
}

export interface KeyStore {
  /**
   * The key a token's header names (kid) of the type its algorithm needs; an unknown kid refetches
   * the JWKS (rate limited), so rotation works.
   */
  get(kid: string | undefined, alg: string, options?: KeyLookupOptions): Promise<VerificationKey>;
  /** Whether the key is still published as of the last fetch (no request; a stale set is refreshed in the background). */
  isCurrent(key: VerificationKey): boolean;
  /** Whether the key set holds a key that verifies one of these algorithms (for readiness checks). */
  usableWith(algorithms: readonly string[]): boolean;
  /** Fetches the key set if there is none yet (for readiness checks). */
  ready(): Promise<void>;
  /**
   * Fetches the key set again now: after a fetch in flight, which may have started before the
   * provider published its new key. @throws SsoError idp_unavailable when the fetch fails.
   */
  refetch(): Promise<void>;
  /** Resolves once no refresh is in flight, e.g. one started in the background. */
  settled(): Promise<void>;
  /** The provider answers again (a readiness probe saw it): a failed first fetch no longer stands. */
  retryNow(): void;
}

export interface KeyLookupOptions {
  /**
   * The token came from the IdP's token endpoint, at a sign-in: its kid is refetched for even when
   * tokens from elsewhere used up the unknown-kid refetches, which would otherwise keep a rotated
   * key from every sign-in for a while. Nobody can repeat this without signing in at the IdP.
   */
  fromTokenEndpoint?: boolean;
}

export interface KeyStoreOptions {
  jwksUri: () => Promise<string>;
  /** Age after which the key set is refreshed (in the background while its keys keep working). */
  maxAgeMs?: number;
  /** At most this many refetches a minute for tokens naming an unknown kid. */
  unknownKidRefetchesPerMinute?: number;
  /** After a failed refresh, the current keys stay in use this long before the next attempt; also the longest a failed first fetch stands. */
  retryAfterMs?: number;
  now?: () => number;
  onRequest?: (url: string) => void;
  onRefreshError?: (error: SsoError) => void;
}

/** The curve of each ECDSA algorithm (RFC 7518 3.4), as Node names it. */
const CURVE_OF: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Whether a key is of the type an algorithm verifies with: RSA for RS and PS, EC on its curve for ES. */
function fitsAlgorithm(key: VerificationKey, alg: string): boolean {
  const { asymmetricKeyType, asymmetricKeyDetails } = key.keyObject;
  if (/^(RS|PS)\d+$/.test(alg)) return asymmetricKeyType === 'rsa';
  return asymmetricKeyType === 'ec' && asymmetricKeyDetails?.namedCurve === CURVE_OF[alg];
}

/**
 * The provider's JWKS, fetched and converted by jwks-rsa, held as parsed KeyObjects.
 *
 * jwks-rsa's own per-kid cache is not used: it cannot tell us when a key leaves the set,
 * and the verifier's cache of verified tokens must forget tokens signed by a dropped key.
 * Before the first successful fetch, a failure stands for a while (see createFailureBackoff).
 */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const {
    maxAgeMs = 10 * 60_000,
    unknownKidRefetchesPerMinute = 5,
    retryAfterMs = 30_000,
    now = Date.now,
  } = options;
  // A list, not a map by kid: RFC 7517 4.5 lets keys of different types share a kid, or have none.
  let keys: readonly VerificationKey[] | undefined;
  let current = new Set<VerificationKey>();
  let refreshAt = 0;
  let lastRefreshFailed = false;
  let inFlight: Promise<void> | undefined;
  const unknownKidRefetches: number[] = [];
  const firstFetchBackoff = createFailureBackoff({ maxMs: retryAfterMs, now });

  async function fetchKeys(): Promise<VerificationKey[]> {
    const jwksUri = await options.jwksUri();
    const client = jwksClient({
      jwksUri,
      cache: false,
      fetcher: async (uri) => {
        options.onRequest?.(uri);
        return idpHttp.get(uri).json();
      },
    });
    let signingKeys: jwksClient.SigningKey[];
    try {
      signingKeys = await client.getSigningKeys();
    } catch (error) {
      throw new SsoError('idp_unavailable', `The identity provider's signing keys at ${jwksUri} could not be loaded (${describeHttpFailure(error)})`, { cause: error });
    }
    const parsed: VerificationKey[] = [];
    for (const signingKey of signingKeys) {
      // A key published for another purpose (an encryption alg such as RSA-OAEP) never verifies a signature.
      if (signingKey.alg && !/^(RS|PS|ES)\d+$/.test(signingKey.alg)) continue;
      try {
        parsed.push(Object.freeze({ kid: signingKey.kid ?? undefined, alg: signingKey.alg ?? undefined, keyObject: createPublicKey(signingKey.getPublicKey()) }));
      } catch {
        // A key this platform cannot load is skipped, as jwks-rsa skips JWKs it cannot import.
      }
    }
    return parsed;
  }

  function refresh(): Promise<void> {
    if (inFlight) return inFlight;
    const standing = keys ? undefined : firstFetchBackoff.standing();
    if (standing) return Promise.reject(standing);
    inFlight = fetchKeys()
      .then(
        (fetched) => {
          keys = fetched;
          current = new Set(fetched);
          refreshAt = now() + maxAgeMs;
          lastRefreshFailed = false;
          firstFetchBackoff.succeeded();
        },
        (error: SsoError) => {
          if (!keys) {
            firstFetchBackoff.failed(error);
            throw error;
          }
          refreshAt = now() + retryAfterMs;
          lastRefreshFailed = true;
          options.onRefreshError?.(error);
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  function refreshInBackgroundIfStale(): void {
    if (now() >= refreshAt && !inFlight) refresh().catch(() => {});
  }

  function mayRefetchForUnknownKid(): boolean {
    const minuteAgo = now() - 60_000;
    while (unknownKidRefetches.length > 0 && (unknownKidRefetches[0] ?? 0) <= minuteAgo) unknownKidRefetches.shift();
    if (unknownKidRefetches.length >= unknownKidRefetchesPerMinute) return false;
    unknownKidRefetches.push(now());
    return true;
  }

  /** The keys of the type an algorithm needs, with the given kid (any kid, for a token that names none). */
  function candidates(kid: string | undefined, alg: string): VerificationKey[] {
    return (keys ?? []).filter((key) => (kid === undefined || key.kid === kid) && fitsAlgorithm(key, alg));
  }

  return {
    async get(kid, alg, lookup = {}) {
      if (!keys) await refresh();
      let found = candidates(kid, alg);
      let lookedAgain = false;
      if (found.length === 0 && kid !== undefined && (inFlight || lookup.fromTokenEndpoint || mayRefetchForUnknownKid())) {
        await refresh();
        found = candidates(kid, alg);
        lookedAgain = true;
      } else {
        refreshInBackgroundIfStale();
      }
      // A kid is only a hint (RFC 7515 4.1.4): one the set does not name may be its one key without a kid.
      if (found.length === 0 && kid !== undefined) found = candidates(undefined, alg).filter((key) => key.kid === undefined);
      // A key the provider may have added while its JWKS could not be fetched: that is no proof
      // the token is bad, and a 401 would sign a session out over an outage.
      if (found.length === 0 && kid !== undefined && lastRefreshFailed) {
        throw new SsoError('idp_unavailable', "The token names a signing key this server does not know yet, and the identity provider's keys cannot be fetched to look for it");
      }
      if (found.length > 1) {
        const naming = kid === undefined ? 'names no key (kid) and' : 'names a kid for which';
        throw new SsoError('invalid_token', `The token ${naming} the identity provider publishes several ${alg} keys`);
      }
      const [key] = found;
      if (!key && kid !== undefined && !lookedAgain) {
        // Not "does not publish": the key may be new, and the refetch budget was spent on other tokens.
        throw new SsoError('invalid_token', `The token names a signing key (kid) the identity provider did not publish when its keys were last fetched; unknown kids are looked up at most ${unknownKidRefetchesPerMinute} times a minute`);
      }
      if (!key) throw new SsoError('invalid_token', `The token is signed with a key the identity provider does not publish (no ${alg} key${kid === undefined ? '' : ' with its kid'})`);
      return key;
    },
    isCurrent(key) {
      refreshInBackgroundIfStale();
      return current.has(key);
    },
    usableWith(algorithms) {
      return (keys ?? []).some((key) => algorithms.some((alg) => (key.alg === undefined || key.alg === alg) && fitsAlgorithm(key, alg)));
    },
    async ready() {
      if (!keys) await refresh();
    },
    async refetch() {
      await inFlight?.catch(() => {});
      await refresh();
      if (lastRefreshFailed) {
        throw new SsoError('idp_unavailable', "The identity provider's signing keys could not be fetched again to check a token signed with a key that changed");
      }
    },
    async settled() {
      await inFlight?.catch(() => {});
    },
    retryNow: () => firstFetchBackoff.succeeded(),
  };
}
