import Router from '@koa/router';
import { ROUTES } from '../../shared/constants.ts';
import { SsoError } from '../errors.ts';
import { createDiscovery } from '../oidc/discovery.ts';
import { createKeyStore } from '../oidc/keys.ts';
import { allowedAlgorithms } from '../oidc/verify.ts';

export interface HealthOptions {
  discoveryUrl: () => URL;
  /** The issuer the discovery document must name, when configured. */
  expectedIssuer: () => string | undefined;
  /** Readiness is probed at most this often; probes in between share the last answer. */
  probeIntervalMs?: number;
  now?: () => number;
  /** Called when a probe finds the IdP usable: whatever waits out an earlier failure may try again. */
  onUsable?: () => void;
}

/**
 * Fetches the IdP's discovery document and keys afresh, checked exactly as sign-in checks them;
 * what is wrong (a document or key set sign-in would refuse), or undefined when all is well.
 */
export async function probeIdentityProvider(options: { discoveryUrl: URL; expectedIssuer: string | undefined; now?: () => number }): Promise<string | undefined> {
  const { now = Date.now } = options;
  try {
    const discovery = createDiscovery({ url: options.discoveryUrl, expectedIssuer: options.expectedIssuer, now });
    const document = await discovery.get();
    const algorithms = allowedAlgorithms(document.id_token_signing_alg_values_supported);
    const keyStore = createKeyStore({ jwksUri: async () => document.jwks_uri, now });
    await keyStore.ready();
    if (!keyStore.usableWith(algorithms)) {
      return `The identity provider's signing keys at ${document.jwks_uri} include none for ${algorithms.join(', ')}, the algorithms it advertises`;
    }
    return undefined;
  } catch (error) {
    return error instanceof SsoError ? error.message : 'the identity provider could not be checked';
  }
}

/** GET /healthz (the process answers) and GET /readyz (the IdP's discovery and JWKS answer now). */
export function healthRoutes(options: HealthOptions): Router {
  const { probeIntervalMs = 5000, now = Date.now } = options;
  let last: { at: number; problem: string | undefined } | undefined;
  let probing: Promise<string | undefined> | undefined;
  const probe = () => probeIdentityProvider({ discoveryUrl: options.discoveryUrl(), expectedIssuer: options.expectedIssuer(), now });

  const router = new Router();
  router.get(ROUTES.healthz, (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'ok';
  });
  router.get(ROUTES.readyz, async (ctx) => {
    if (!last || now() - last.at >= probeIntervalMs) {
      probing ??= probe().finally(() => {
        probing = undefined;
      });
      last = { at: now(), problem: await probing };
      // Ready must mean that sign-in works now, not once a failure the app remembers has run out.
      if (!last.problem) options.onUsable?.();
    }
    ctx.set('Cache-Control', 'no-store');
    if (last.problem) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: last.problem };
    } else {
      ctx.body = { status: 'ready' };
    }
  });
  return router;
}
