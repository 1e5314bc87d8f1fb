import { readdir, stat } from 'node:fs/promises';
import { LoginError } from './errors.ts';

/** What a --profile folder holds, as far as using or deleting it goes. */
export type ProfileFolder = 'missing' | 'empty' | 'chromium' | 'other';

/**
 * Files only Chromium writes at the top of its profile folder: "Local State" as it starts, and
 * its singleton lock links first of all (a first start cut short may leave only those).
 */
const CHROMIUM_MARKERS = ['Local State', 'SingletonLock', 'SingletonSocket', 'SingletonCookie'];

/**
 * Tells a Chromium profile from anything else before a browser fills it or `logout --all`
 * deletes it: --profile can name any folder (`.`, `~`, a typo'd notes folder).
 * @throws LoginError USAGE when the folder cannot be read.
 */
export async function inspectProfileFolder(dir: string): Promise<ProfileFolder> {
  const folder = await stat(dir).catch(() => undefined);
  if (!folder) return 'missing';
  if (!folder.isDirectory()) return 'other';
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new LoginError('USAGE', `the browser profile folder ${dir} cannot be read (${error.code ?? error.message})`);
  });
  if (entries.length === 0) return 'empty';
  return CHROMIUM_MARKERS.some((name) => entries.includes(name)) ? 'chromium' : 'other';
}

/** Why a folder of other files is refused as a browser profile. */
export function notAProfileMessage(dir: string): string {
  return `${dir} is neither empty nor a browser profile (no Chromium "Local State" file in it)`;
}
