import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** A fresh RSA signing key as a private JWK, with a kid. */
export function generateSigningKey(kid = randomBytes(8).toString('hex')): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}
