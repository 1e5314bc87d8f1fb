import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * A new private key, generated as PEM and read back rather than used as generated: on Node 20, a
 * garbage collection while a generated key object is exported or used can deadlock the process
 * (the finished generation job's destructor waits for a lock the running operation holds). It
 * hung a test server at start-up once; Node 22 is not affected.
 */
export function generatePrivateKey(options: { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string }): KeyObject {
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const { privateKey } =
    options.type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength, privateKeyEncoding, publicKeyEncoding })
      : generateKeyPairSync('ec', { namedCurve: options.namedCurve, privateKeyEncoding, publicKeyEncoding });
  return createPrivateKey(privateKey);
}

/** A fresh RSA signing key as a private JWK, with a kid. */
export function generateSigningKey(kid = randomBytes(8).toString('hex')): Record<string, unknown> {
  const privateKey = generatePrivateKey({ type: 'rsa', modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}
