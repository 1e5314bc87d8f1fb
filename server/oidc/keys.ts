import { createPublicKey, type KeyObject } from 'node:crypto';
import jwksClient from 'jwks-rsa';
import { SsoError } from '../errors.ts';
import { describeHttpFailure, idpHttp } from '../http.ts';

/** One signing key of the provider, parsed once per JWKS fetch. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when the provider declares one: the only algorithm this key may verify. */
  readonly alg: string | undefined;
  readonly keyObject: KeyObject;
}

export interface KeyStore {
  /** The key a token names; an unknown kid refetches the JWKS (rate limited), so rotation works. */
  get(kid: string | undefined): Promise<VerificationKey>;
  /** Whether the key is still published as of the last fetch (no request; a stale set is refreshed in the background). */
  isCurrent(key: VerificationKey): boolean;
  /** Fetches the key set if there is none yet (for readiness checks). */
  ready(): Promise<void>;
  /** Resolves once no refresh is in flight, e.g. one started in the background. */
  settled(): Promise<void>;
}

export interface KeyStoreOptions {
  jwksUri: () => Promise<string>;
  /** Age after which the key set is refreshed (in the background while its keys keep working). */
  maxAgeMs?: number;
  /** At most this many refetches a minute for tokens naming an unknown kid. */
  unknownKidRefetchesPerMinute?: number;
  /** After a failed refresh, the current keys stay in use this long before the next attempt. */
  retryAfterMs?: number;
  now?: () => number;
  onRequest?: (url: string) => void;
  onRefreshError?: (error: SsoError) => void;
}

/**
 * The provider's JWKS, fetched and converted by jwks-rsa, held as parsed KeyObjects.
 *
 * jwks-rsa's own per-kid cache is not used: it cannot tell us when a key leaves the set,
 * and the verifier's cache of verified tokens must forget tokens signed by a dropped key.
 */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const {
    maxAgeMs = 10 * 60_000,
    unknownKidRefetchesPerMinute = 5,
    retryAfterMs = 30_000,
    now = Date.now,
  } = options;
  let keys: Map<string | undefined, VerificationKey> | undefined;
  let refreshAt = 0;
  let inFlight: Promise<void> | undefined;
  const unknownKidRefetches: number[] = [];

  async function fetchKeys(): Promise<Map<string | undefined, VerificationKey>> {
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
    const parsed = new Map<string | undefined, VerificationKey>();
    for (const signingKey of signingKeys) {
      const kid = signingKey.kid ?? undefined;
      try {
        parsed.set(kid, Object.freeze({ kid, alg: signingKey.alg ?? undefined, keyObject: createPublicKey(signingKey.getPublicKey()) }));
      } catch {
        // A key this platform cannot load is skipped, as jwks-rsa skips JWKs it cannot import.
      }
    }
    return parsed;
  }

  function refresh(): Promise<void> {
    inFlight ??= fetchKeys()
      .then(
        (fetched) => {
          keys = fetched;
          refreshAt = now() + maxAgeMs;
        },
        (error: SsoError) => {
          if (!keys) throw error;
          refreshAt = now() + retryAfterMs;
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

  function lookup(kid: string | undefined): VerificationKey | undefined {
    if (!keys) return undefined;
    if (kid === undefined && keys.size === 1) return keys.values().next().value;
    return keys.get(kid);
  }

  return {
    async get(kid) {
      if (!keys) await refresh();
      let key = lookup(kid);
      if (key) {
        refreshInBackgroundIfStale();
        return key;
      }
      if (kid === undefined) {
        throw new SsoError('invalid_token', 'The token names no key (kid) and the identity provider publishes several');
      }
      if (inFlight || mayRefetchForUnknownKid()) {
        await refresh();
        key = lookup(kid);
      }
      if (!key) throw new SsoError('invalid_token', 'The token is signed with a key the identity provider does not publish');
      return key;
    },
    isCurrent(key) {
      refreshInBackgroundIfStale();
      return keys?.get(key.kid) === key || (key.kid === undefined && lookup(undefined) === key);
    },
    async ready() {
      if (!keys) await refresh();
    },
    async settled() {
      await inFlight?.catch(() => {});
    },
  };
}
