import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** What a --profile folder holds, as far as deleting it goes. */
export type ProfileFolder = 'missing' | 'empty' | 'chromium' | 'other';

/**
 * Tells a Chromium profile from anything else before `logout --all` deletes it: --profile can
 * name any folder (`.`, `~`, a typo'd notes folder). Chromium writes "Local State" at the top
 * of its profile folder as it starts, so every profile the helper has used has one.
 */
export async function inspectProfileFolder(dir: string): Promise<ProfileFolder> {
  const folder = await stat(dir).catch(() => undefined);
  if (!folder) return 'missing';
  if (!folder.isDirectory()) return 'other';
  if ((await readdir(dir)).length === 0) return 'empty';
  const localState = await stat(path.join(dir, 'Local State')).catch(() => undefined);
  return localState?.isFile() ? 'chromium' : 'other';
}
