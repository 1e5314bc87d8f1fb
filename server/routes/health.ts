import Router from '@koa/router';
import { ROUTES } from '../../shared/constants.ts';
import { describeHttpFailure, idpHttp } from '../http.ts';

export interface HealthOptions {
  discoveryUrl: () => URL;
  /** Readiness is probed at most this often; probes in between share the last answer. */
  probeIntervalMs?: number;
  now?: () => number;
}

/** GET /healthz (the process answers) and GET /readyz (the IdP's discovery and JWKS answer now). */
export function healthRoutes(options: HealthOptions): Router {
  const { probeIntervalMs = 5000, now = Date.now } = options;
  let last: { at: number; problem: string | undefined } | undefined;
  let probing: Promise<string | undefined> | undefined;

  async function probe(): Promise<string | undefined> {
    const url = options.discoveryUrl();
    try {
      const document = await idpHttp.get(url).json<{ jwks_uri?: unknown }>();
      if (typeof document.jwks_uri !== 'string') return 'the discovery document has no jwks_uri';
      await idpHttp.get(document.jwks_uri).json();
      return undefined;
    } catch (error) {
      return `the identity provider is not reachable (${describeHttpFailure(error)})`;
    }
  }

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
