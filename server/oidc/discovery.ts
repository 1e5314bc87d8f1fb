import { z } from 'zod';
import { SsoError } from '../errors.ts';
import { describeHttpFailure, idpHttp } from '../http.ts';
import { createFailureBackoff } from './failure-backoff.ts';

const endpoint = z.url({ protocol: /^https?$/ });

/** Optional metadata: some providers send null for "not supported". */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

/** The parts of the OpenID Provider Metadata (OpenID Connect Discovery 3) this server uses. */
const discoverySchema = z.object({
  issuer: endpoint,
  authorization_endpoint: endpoint,
  token_endpoint: endpoint,
  jwks_uri: endpoint,
  end_session_endpoint: optional(endpoint),
  id_token_signing_alg_values_supported: optional(z.array(z.string())),
  token_endpoint_auth_methods_supported: optional(z.array(z.string())),
  code_challenge_methods_supported: optional(z.array(z.string())),
  authorization_response_iss_parameter_supported: optional(z.boolean()),
});

export type DiscoveryDocument = Readonly<z.infer<typeof discoverySchema>>;

export interface Discovery {
  /** The provider's metadata, fetched once and cached; refetched after the TTL. */
  get(): Promise<DiscoveryDocument>;
  /** The cached metadata when there is one, without a request. */
  cached(): DiscoveryDocument | undefined;
  /** The provider answers again (a readiness probe saw it): a failed first fetch no longer stands. */
  retryNow(): void;
}

export interface DiscoveryOptions {
  url: URL;
  /** When set, the document's issuer must equal it (OpenID Connect Discovery 4.3). */
  expectedIssuer?: string | undefined;
  ttlMs?: number;
  /** After a failed refresh, how long a stale document keeps being served before the next attempt; also the longest a failed first fetch stands. */
  retryAfterMs?: number;
  now?: () => number;
  onRequest?: (url: URL) => void;
}

/** Trailing slashes aside, the issuer must be the same URL (Discovery 4.3). */
function sameIssuer(discovered: string, expected: string): boolean {
  return discovered.replace(/\/+$/, '') === expected.replace(/\/+$/, '');
}

/**
 * The first endpoint of a document fetched over https that is not https itself: the client
 * secret, the code and the keys would then travel in clear text. Nothing for a document fetched
 * over http (a development IdP on localhost: production configuration requires https otherwise).
 */
const endpointNames = ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint'] as const;

export function httpEndpointIn(
  document: Pick<DiscoveryDocument, (typeof endpointNames)[number]>,
  documentUrl: URL,
): string | undefined {
  if (documentUrl.protocol !== 'https:') return undefined;
  return endpointNames.find((name) => {
    const value = document[name];
    return value !== undefined && new URL(value).protocol !== 'https:';
  });
}

/**
 * Fetches and caches the provider's discovery document: one request in flight at a time,
 * a stale document is kept while a refresh fails, so a short IdP outage does not break sign-in,
 * and before the first success a failure stands for a while (see createFailureBackoff).
 */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { url, expectedIssuer, ttlMs = 60 * 60_000, retryAfterMs = 30_000, now = Date.now } = options;
  let document: DiscoveryDocument | undefined;
  let freshUntil = 0;
  let inFlight: Promise<DiscoveryDocument> | undefined;
  const firstFetchBackoff = createFailureBackoff({ maxMs: retryAfterMs, now });

  async function fetchDocument(): Promise<DiscoveryDocument> {
    options.onRequest?.(url);
    let body: unknown;
    try {
      body = await idpHttp.get(url, { responseType: 'json' }).json();
    } catch (error) {
      throw new SsoError('idp_unavailable', `The identity provider's discovery document at ${url} could not be fetched (${describeHttpFailure(error)})`, { cause: error });
    }
    const parsed = discoverySchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SsoError('idp_unavailable', `The identity provider's discovery document at ${url} is invalid: ${issue?.path.join('.') || 'document'} ${issue?.message ?? ''}`.trim(), { cause: parsed.error });
    }
    const downgraded = httpEndpointIn(parsed.data, url);
    if (downgraded) {
      throw new SsoError('idp_unavailable', `The identity provider's discovery document at ${url} is invalid: ${downgraded} is not https, as the document is`);
    }
    if (expectedIssuer && !sameIssuer(parsed.data.issuer, expectedIssuer)) {
      throw new SsoError('idp_unavailable', `The discovery document's issuer "${parsed.data.issuer}" does not match OIDC_ISSUER "${expectedIssuer}"`);
    }
    return Object.freeze(parsed.data);
  }

  async function refresh(): Promise<DiscoveryDocument> {
    try {
      document = await fetchDocument();
      freshUntil = now() + ttlMs;
      firstFetchBackoff.succeeded();
      return document;
    } catch (error) {
      if (!document) {
        firstFetchBackoff.failed(error as SsoError);
        throw error;
      }
      freshUntil = now() + retryAfterMs;
      return document;
    } finally {
      inFlight = undefined;
    }
  }

  return {
    get() {
      if (document && now() < freshUntil) return Promise.resolve(document);
      const standing = document || inFlight ? undefined : firstFetchBackoff.standing();
      if (standing) return Promise.reject(standing);
      inFlight ??= refresh();
      return inFlight;
    },
    cached: () => document,
    retryNow: () => firstFetchBackoff.succeeded(),
  };
}
