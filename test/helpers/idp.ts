import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import Koa from 'koa';
import mount from 'koa-mount';
import { pino } from 'pino';
import { generateSigningKey } from '../../server/dev-idp/keys.ts';
import { createDevIdp } from '../../server/dev-idp/provider.ts';
import { LOGGER_OPTIONS } from '../../server/logger.ts';

export const TEST_CLIENT_ID = 'test-client';
export const TEST_CLIENT_SECRET = 'test-client-secret-0123456789';

const COOKIE_KEYS = ['test-idp-cookie-key-0123456789abcdef'];
/** The test IdP's internal errors go to stderr, where ava shows them next to the test that failed. */
const IDP_LOGGER = pino({ level: 'error', ...LOGGER_OPTIONS }, process.stderr);

export interface TestIdp {
  /** The issuer, e.g. http://127.0.0.1:PORT/oidc */
  issuer: string;
  port: number;
  /** Private JWKs the IdP signs with (the first is current). */
  signingKeys: Array<Record<string, unknown>>;
  /** Paths requested from the IdP, in order. */
  requests: string[];
  /** Registers the relying party's redirect URIs (the server's URL is known only after it starts). */
  registerServer(serverUrl: string): Promise<void>;
  /** Signs arbitrary claims with the IdP's current key (or another one), as a hostile party could try to. */
  sign(claims: Record<string, unknown>, options?: { key?: Record<string, unknown>; header?: Record<string, unknown>; algorithm?: jwt.Algorithm }): string;
  publicKey(key?: Record<string, unknown>): KeyObject;
  /** Stops the IdP; `start()` brings it back on the same port, optionally with other keys. */
  stop(): Promise<void>;
  start(options?: { signingKeys?: Array<Record<string, unknown>> }): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** A real OpenID provider (oidc-provider) on 127.0.0.1 and an ephemeral port, for the server under test. */
export async function startIdp(options: { idTokenTtlSec?: number } = {}): Promise<TestIdp> {
  let server = createServer();
  const port = await listen(server, 0);
  const issuer = `http://127.0.0.1:${port}/oidc`;
  const requests: string[] = [];
  let redirectBase = 'http://localhost:1';
  let keys: Array<Record<string, unknown>> = [generateSigningKey('key-1')];
  let stopped = false;

  function handler() {
    const { app } = createDevIdp({
      issuer,
      clients: [
        {
          clientId: TEST_CLIENT_ID,
          clientSecret: TEST_CLIENT_SECRET,
          redirectUris: [`${redirectBase}/callback`],
          postLogoutRedirectUris: [`${redirectBase}/logout`],
        },
      ],
      signingKeys: keys,
      cookieKeys: COOKIE_KEYS,
      logger: IDP_LOGGER,
      ...(options.idTokenTtlSec ? { idTokenTtlSec: options.idTokenTtlSec } : {}),
    });
    // The IdP lives under /oidc, as most real ones live under a path.
    const outer = new Koa({ keys: COOKIE_KEYS });
    outer.use(async (ctx, next) => {
      requests.push(ctx.path);
      await next();
    });
    outer.use(mount('/oidc', app));
    return outer.callback();
  }

  let handle = handler();
  server.on('request', (request, response) => handle(request, response));

  const idp: TestIdp = {
    issuer,
    port,
    get signingKeys() {
      return keys;
    },
    requests,
    async registerServer(serverUrl) {
      redirectBase = serverUrl;
      handle = handler();
    },
    sign(claims, signOptions = {}) {
      const key = signOptions.key ?? keys[0]!;
      return jwt.sign(claims, createPrivateKey({ key: key as never, format: 'jwk' }), {
        algorithm: signOptions.algorithm ?? 'RS256',
        keyid: String(key.kid),
        ...(signOptions.header ? { header: signOptions.header as unknown as jwt.JwtHeader } : {}),
      });
    },
    publicKey(key = keys[0]!) {
      return createPublicKey({ key: key as never, format: 'jwk' });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async start(startOptions = {}) {
      if (startOptions.signingKeys) keys = startOptions.signingKeys;
      handle = handler();
      server = createServer((request, response) => handle(request, response));
      await listen(server, port);
      stopped = false;
    },
    close: () => idp.stop(),
  };
  return idp;
}
