import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { LoginError } from './errors.ts';

/** Installed Chromium/Chrome locations we look for, per platform, in order. */
export const SYSTEM_BROWSERS: Partial<Record<NodeJS.Platform, readonly string[]>> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'],
  darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
  win32: ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe'],
};

/** What a path is, as far as starting it as the browser goes. */
export type FileKind = 'missing' | 'directory' | 'not-executable' | 'executable';

/** Everything the browser lookup depends on, injected so tests need no real files. */
export interface BrowserPathSources {
  /** The --browser option. */
  flag?: string | undefined;
  /** $PUPPETEER_EXECUTABLE_PATH. */
  env?: string | undefined;
  /** $PATH, where a bare name such as `--browser chromium` is looked up. */
  searchPath?: string | undefined;
  /** Where Puppeteer's own downloaded Chrome would be (it may not be downloaded). */
  puppeteerPath: () => string | undefined;
  kind: (file: string) => FileKind;
  platform: NodeJS.Platform;
}

/**
 * Picks the browser executable: --browser, then $PUPPETEER_EXECUTABLE_PATH,
 * then Puppeteer's downloaded Chrome, then an installed Chromium or Chrome.
 * An explicit choice that is not an executable file is an error rather than
 * silently skipped, so a typo in --browser is not hidden by a fallback; it is
 * checked here because Puppeteer reports a directory or a non-executable file
 * only as a crash or a closed target.
 */
export function findBrowser(sources: BrowserPathSources): string {
  for (const [origin, file] of [['--browser', sources.flag], ['PUPPETEER_EXECUTABLE_PATH', sources.env]] as const) {
    if (!file) continue;
    return isBareName(file, sources.platform) ? onSearchPath(origin, file, sources) : checked(origin, file, sources.kind(file));
  }
  const candidates = [safely(sources.puppeteerPath), ...(SYSTEM_BROWSERS[sources.platform] ?? [])];
  const found = candidates.find((file): file is string => Boolean(file) && sources.kind(file as string) === 'executable');
  if (found) return found;
  throw new LoginError(
    'NO_BROWSER',
    'No Chromium or Chrome found: install one (Debian/Ubuntu: apt install chromium) or pass --browser /path/to/chrome',
  );
}

/** `chromium` rather than `./chromium` or `/usr/bin/chromium`: a shell would look it up on $PATH, so we do too. */
function isBareName(file: string, platform: NodeJS.Platform): boolean {
  return !file.includes('/') && !(platform === 'win32' && file.includes('\\'));
}

function onSearchPath(origin: string, name: string, sources: BrowserPathSources): string {
  const paths = sources.platform === 'win32' ? path.win32 : path.posix;
  // An empty entry (a stray ':') means the working folder to a shell: skipped, so a file lying there is never started by accident.
  const folders = (sources.searchPath ?? '').split(paths.delimiter).filter(Boolean);
  const found = folders.map((folder) => paths.join(folder, name)).find((file) => sources.kind(file) === 'executable');
  if (found) return found;
  throw new LoginError('NO_BROWSER', `${origin} names ${name}, which is not an executable file on PATH`);
}

function checked(origin: string, file: string, kind: FileKind): string {
  if (kind === 'executable') return file;
  const problem = { missing: 'does not exist', directory: 'is a directory', 'not-executable': 'is not an executable file' }[kind];
  throw new LoginError('NO_BROWSER', `${origin} names ${file}, which ${problem}`);
}

/** Puppeteer throws when it has no configuration for this platform; treat that as "not downloaded". */
function safely(lookup: () => string | undefined): string | undefined {
  try {
    return lookup();
  } catch {
    return undefined;
  }
}

/** The {@link FileKind} of a real file; symbolic links are followed, as starting the browser would. */
export function fileKind(file: string): FileKind {
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'not-executable' : 'missing';
  }
  if (stats.isDirectory()) return 'directory';
  if (!stats.isFile()) return 'not-executable';
  try {
    accessSync(file, constants.X_OK);
    return 'executable';
  } catch {
    return 'not-executable';
  }
}

/** {@link BrowserPathSources} of the real machine. */
export function systemBrowserSources(
  flag: string | undefined,
  env: string | undefined,
  puppeteerPath: () => string,
  searchPath: string | undefined = process.env.PATH,
): BrowserPathSources {
  return { flag, env, searchPath, puppeteerPath, kind: fileKind, platform: process.platform };
}
