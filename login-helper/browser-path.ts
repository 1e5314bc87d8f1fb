import { existsSync } from 'node:fs';
import { LoginError } from './errors.ts';

/** Installed Chromium/Chrome locations we look for, per platform, in order. */
export const SYSTEM_BROWSERS: Partial<Record<NodeJS.Platform, readonly string[]>> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'],
  darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
  win32: ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe'],
};

/** Everything the browser lookup depends on, injected so tests need no real files. */
export interface BrowserPathSources {
  /** The --browser option. */
  flag?: string | undefined;
  /** $PUPPETEER_EXECUTABLE_PATH. */
  env?: string | undefined;
  /** Where Puppeteer's own downloaded Chrome would be (it may not be downloaded). */
  puppeteerPath: () => string | undefined;
  exists: (file: string) => boolean;
  platform: NodeJS.Platform;
}

/**
 * Picks the browser executable: --browser, then $PUPPETEER_EXECUTABLE_PATH,
 * then Puppeteer's downloaded Chrome, then an installed Chromium or Chrome.
 * An explicit choice that does not exist is an error rather than silently
 * skipped, so a typo in --browser is not hidden by a fallback.
 */
export function findBrowser(sources: BrowserPathSources): string {
  for (const [origin, file] of [['--browser', sources.flag], ['PUPPETEER_EXECUTABLE_PATH', sources.env]] as const) {
    if (!file) continue;
    if (!sources.exists(file)) throw new LoginError('NO_BROWSER', `${origin} names ${file}, which does not exist`);
    return file;
  }
  const candidates = [safely(sources.puppeteerPath), ...(SYSTEM_BROWSERS[sources.platform] ?? [])];
  const found = candidates.find((file): file is string => Boolean(file) && sources.exists(file as string));
  if (found) return found;
  throw new LoginError(
    'NO_BROWSER',
    'No Chromium or Chrome found: install one (Debian/Ubuntu: apt install chromium) or pass --browser /path/to/chrome',
  );
}

/** Puppeteer throws when it has no configuration for this platform; treat that as "not downloaded". */
function safely(lookup: () => string | undefined): string | undefined {
  try {
    return lookup();
  } catch {
    return undefined;
  }
}

/** {@link BrowserPathSources} of the real machine. */
export function systemBrowserSources(flag: string | undefined, env: string | undefined, puppeteerPath: () => string): BrowserPathSources {
  return { flag, env, puppeteerPath, exists: existsSync, platform: process.platform };
}
