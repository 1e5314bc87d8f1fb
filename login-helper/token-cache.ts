import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Clock } from './clock.ts';
import { LoginError } from './errors.ts';
import { ID_TOKEN_SHAPE, MAX_ID_TOKEN_BYTES } from './limits.ts';

/** A token remembered for one server. */
export interface CachedToken {
  /** Normalized server URL the token came from. */
  server: string;
  idToken: string;
  /** The id_token's `exp`, in milliseconds since the epoch. */
  expiresAt: number;
}

/** Where tokens are remembered between runs; a fake in unit tests. */
export interface TokenStore {
  /** The cached token for `server`, or undefined when there is none, the file is unreadable or its token would be refused if fetched now. */
  read(server: string): Promise<CachedToken | undefined>;
  /** Remembers `idToken` for `server` (atomically, mode 0600) and returns the entry. */
  write(server: string, idToken: string): Promise<CachedToken>;
  /** Forgets the token for `server`; true when there was one. */
  remove(server: string): Promise<boolean>;
}

/** A token that expires within this margin is treated as expired, so callers never send a dying token. */
export const EXPIRY_MARGIN_MS = 60_000;

/**
 * A cached id_token must pass the checks a fetched one does (api.ts): a file an earlier version
 * wrote may hold one it would refuse today, and a miss makes the helper sign in again.
 */
const cacheFileSchema = z.object({
  server: z.string(),
  id_token: z.string().max(MAX_ID_TOKEN_BYTES).regex(ID_TOKEN_SHAPE),
  expires_at: z.number(),
});
const claimsSchema = z.object({ exp: z.number() });

/** Short, file-name-safe key for a server URL or a profile folder: cache and lock files are named by it. */
export function cacheKey(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** True when the token is still valid for more than {@link EXPIRY_MARGIN_MS} at `clock.now()`. */
export function isFresh(token: Pick<CachedToken, 'expiresAt'>, clock: Clock): boolean {
  return token.expiresAt - clock.now() > EXPIRY_MARGIN_MS;
}

/**
 * Reads `exp` from an id_token's payload without verifying it: the cache only
 * needs to know when to refresh; the server verifies the token on every call.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken (exp is required)
 */
export function idTokenExpiry(idToken: string): number | undefined {
  const payload = idToken.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = claimsSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    return claims.success ? claims.data.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A token store of one JSON file per server in `dir` (folder 0700, files 0600),
 * named by a hash of the normalized server URL. Writes go to a temporary file
 * that is renamed into place, so a parallel reader never sees half a file.
 */
export function createTokenStore(dir: string): TokenStore {
  const fileFor = (server: string) => path.join(dir, `token-${cacheKey(server)}.json`);

  return {
    async read(server) {
      let text: string;
      try {
        text = await readFile(fileFor(server), 'utf8');
      } catch {
        return undefined;
      }
      let parsed;
      try {
        parsed = cacheFileSchema.safeParse(JSON.parse(text));
      } catch {
        return undefined; // a corrupt file is a miss: the next sign-in overwrites it
      }
      if (!parsed.success || parsed.data.server !== server) return undefined;
      return { server, idToken: parsed.data.id_token, expiresAt: parsed.data.expires_at };
    },

    async write(server, idToken) {
      const expiresAt = idTokenExpiry(idToken);
      if (expiresAt === undefined) {
        throw new LoginError('TOKEN_REFUSED', `The id_token from ${server} has no readable exp claim`);
      }
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700); // mkdir leaves an existing folder's mode alone
      const file = fileFor(server);
      const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
      const content = JSON.stringify({ server, id_token: idToken, expires_at: expiresAt });
      try {
        await writeFile(temporary, `${content}\n`, { mode: 0o600, flag: 'wx' });
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      return { server, idToken, expiresAt };
    },

    async remove(server) {
      try {
        await rm(fileFor(server));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
  };
}
