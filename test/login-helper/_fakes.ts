/** Test doubles for the login helper's side effects (STYLE.md practice 7). */

/** An unsigned JWT-shaped token with the given claims: enough for the cache, which never verifies. */
export function fakeIdToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
