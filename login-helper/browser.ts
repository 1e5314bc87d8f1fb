import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import { ROUTES, TEST_IDS, testIdSelector } from '../shared/constants.ts';
import type { BrowserCookie } from './cookies.ts';
import { LoginError } from './errors.ts';
import { helperCommand } from './invocation.ts';
import { printable } from './terminal-text.ts';

/** One sign-in in the browser: open the server's /login and wait for its verdict. */
export interface SignInRequest {
  loginUrl: string;
  executablePath: string;
  profileDir: string;
  headless: boolean;
  timeoutMs: number;
  /**
   * Silent refresh: give up with LOGIN_REQUIRED as soon as the page settles
   * without a marker (the IdP wants the user), instead of waiting for the timeout.
   */
  silent: boolean;
}

/** What the browser hands back after the success marker appeared. */
export interface SignInResult {
  cookies: BrowserCookie[];
}

/** The browser as the CLI uses it; a fake in unit tests. */
export interface BrowserLauncher {
  signIn(request: SignInRequest): Promise<SignInResult>;
  /** Cookies stored in a profile, read without opening any page (for logout --all). */
  readCookies(request: { executablePath: string; profileDir: string }): Promise<BrowserCookie[]>;
}

const MARKERS = `${testIdSelector(TEST_IDS.loginSuccess)}, ${testIdSelector(TEST_IDS.loginError)}`;
/** How long the network must stay quiet before a silent sign-in counts as stuck on the IdP's form. */
const SETTLED_MS = 1500;
/** The most of a marker's text read from the page: more than the one line that is printed of it. */
const MARKER_TEXT_LIMIT = 1000;

/**
 * Chromium's command line. Machines may have no internet, so everything that
 * phones home is off; the small app-mode window has no tabs or address bar.
 * Chromium refuses to run as root without --no-sandbox (containers, CI).
 * Its disk cache stays inside the profile: by default Chromium puts it in
 * ~/.cache/<the profile folder's name>, where deleting the profile leaves it.
 */
export function chromiumArgs(options: { appUrl?: string; isRoot: boolean; profileDir: string }): string[] {
  return [
    ...(options.appUrl ? [`--app=${options.appUrl}`] : []),
    `--disk-cache-dir=${path.join(options.profileDir, 'DiskCache')}`,
    '--window-size=520,720',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-domain-reliability',
    '--disable-quic',
    '--no-pings',
    ...(options.isRoot ? ['--no-sandbox'] : []),
  ];
}

async function launch(executablePath: string, profileDir: string, headless: boolean, appUrl: string): Promise<Browser> {
  try {
    return await puppeteer.launch({
      executablePath,
      userDataDir: profileDir,
      headless,
      pipe: true, // no DevTools port that other local users could connect to and read cookies from
      defaultViewport: null,
      args: chromiumArgs({ appUrl, isRoot: process.getuid?.() === 0, profileDir }),
      // --enable-automation shows an infobar and makes some IdPs refuse the sign-in;
      // about:blank would open a second window next to the app window.
      ignoreDefaultArgs: ['--enable-automation', 'about:blank'],
    });
  } catch (error) {
    const reason = launchFailureReason(error, { headless, profileDir, appUrl });
    throw new LoginError('BROWSER_FAILED', `The browser ${executablePath} did not start: ${reason}`, { cause: error });
  }
}

const NO_DISPLAY = /Missing X server|cannot open display/i;
/** Chromium's log line, and Puppeteer's own message since it reads that log ("The browser is already running for <dir>"). */
const PROFILE_IN_USE = /in use by another|already running for/i;

/** The way to a token without a window on this machine. */
function signInElsewhere(loginUrl: string): string {
  const tokenUrl = new URL(`.${ROUTES.userToken}`, loginUrl).href; // /login and /user/token sit side by side
  return `sign in with your own browser at ${loginUrl}, open ${tokenUrl} in the same browser, and pass that token as "Authorization: Bearer …" (nothing renews it)`;
}

/**
 * Why Chromium did not start, in the helper's terms: Puppeteer's messages are
 * written for script authors (`userDataDir`, "set headless to true").
 */
function launchFailureReason(error: unknown, launch: { headless: boolean; profileDir: string; appUrl: string }): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').map((line) => line.trim());
  const telling = lines.find((line) => PROFILE_IN_USE.test(line) || NO_DISPLAY.test(line));
  if (telling && PROFILE_IN_USE.test(telling)) {
    return `the profile ${launch.profileDir} is in use by another Chromium: close it, or pass --profile <another dir>`;
  }
  // A window nobody can see is no use for typing a password into, so xvfb-run is no advice here; and
  // --headless alone loops for a profile that never signed in (exit 9), hence the way round the helper.
  if (!launch.headless && telling && NO_DISPLAY.test(telling)) {
    return 'there is no display to open the sign-in window on (no X server, or DISPLAY is not set). ' +
      `Forward one (ssh -X); once this profile has signed in, --headless works. Or ${signInElsewhere(launch.appUrl)}`;
  }
  // What Puppeteer says when the program quit before answering on the pipe: a crash, or not a browser at all.
  if (!telling && /Target closed/.test(lines[0] ?? '')) return 'it quit at once, before answering (is it Chromium or Chrome?)';
  return telling ?? lines[0] ?? 'unknown error';
}

async function firstPage(browser: Browser): Promise<Page> {
  const [page] = await browser.pages();
  if (page) return page;
  const target = await browser.waitForTarget((candidate) => candidate.type() === 'page');
  const targetPage = await target.page();
  if (!targetPage) throw new LoginError('BROWSER_FAILED', 'The browser opened no page');
  return targetPage;
}

/**
 * Waits for the success or error marker, whichever comes first, across all
 * the redirects through the IdP. A closed window is reported at once (page
 * 'close' in headless mode, where Chromium outlives its last page; browser
 * 'disconnected' in a window, where closing it quits Chromium).
 */
async function waitForMarker(browser: Browser, page: Page, request: SignInRequest): Promise<string> {
  const abort = new AbortController();
  const { signal } = abort;
  let onClosed = () => {};
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<never>((_, reject) => {
    onClosed = () => reject(new LoginError('WINDOW_CLOSED', 'The sign-in window was closed before the sign-in finished'));
    page.once('close', onClosed);
    browser.once('disconnected', onClosed);
  });
  const timedOut = new Promise<never>((_, reject) => {
    const seconds = Math.round(request.timeoutMs / 1000);
    timer = setTimeout(() => reject(new LoginError('TIMEOUT', `Sign-in did not finish within ${seconds} s (see --timeout)`)), request.timeoutMs);
  });
  const marker = page.waitForSelector(MARKERS, { timeout: 0, signal }).then(async (element) => {
    if (!element) throw new LoginError('BROWSER_FAILED', 'The marker vanished from the page');
    // The page's text is the server's (or whoever answers at --server): cut in the page, cleaned here.
    const [testId, text] = await element.evaluate((node, limit) => [node.getAttribute('data-testid'), (node.textContent ?? '').slice(0, limit)], MARKER_TEXT_LIMIT);
    const message = printable(text ?? '');
    if (testId === TEST_IDS.loginError) throw new LoginError('LOGIN_FAILED', `The server could not sign you in: "${message}"${elsewhereHint(page.url(), request.loginUrl)}`);
    return message;
  });
  const contenders: Promise<string>[] = [marker, closed, timedOut];
  if (request.silent) contenders.push(settledWithoutMarker(page, signal, request.loginUrl));
  try {
    return await Promise.race(contenders);
  } catch (error) {
    if (error instanceof LoginError) throw error;
    if (page.isClosed() || !browser.connected || causedByClosing(error)) throw new LoginError('WINDOW_CLOSED', 'The sign-in window was closed before the sign-in finished', { cause: error });
    throw new LoginError('BROWSER_FAILED', `The browser failed during sign-in: ${String(error)}`, { cause: error });
  } finally {
    abort.abort();
    clearTimeout(timer);
    page.off('close', onClosed);
    browser.off('disconnected', onClosed);
    for (const contender of contenders) contender.catch(() => {}); // the losers reject once aborted
  }
}

/**
 * Puppeteer's waits can fail on a closed page before the 'close' event
 * arrives: look for the closing among the causes. TargetCloseError is not in
 * Puppeteer's public exports, hence the name; a page whose main frame was
 * detached by its closing fails with the assertion quoted here.
 */
function causedByClosing(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.name === 'TargetCloseError' || current.message === 'Requesting main frame too early!') return true;
  }
  return false;
}

/**
 * Whether a window could open here: on Linux only with an X or Wayland display to show it on
 * (Chromium's Ozone picks either). Other systems always have one for a signed-in user.
 */
export function hasDisplay(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  return platform !== 'linux' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/**
 * When the sign-in failed at the server's callback under another host name than the one the
 * helper started at (--server 127.0.0.1 for a PUBLIC_URL of localhost), that is the cause: the
 * sign-in's cookie belongs to the host it started at (whatever the port). Empty otherwise.
 */
function elsewhereHint(pageUrl: string, loginUrl: string): string {
  const page = URL.parse(pageUrl);
  const started = new URL(loginUrl);
  if (!page || page.hostname === started.hostname || page.pathname !== ROUTES.callback) return ''; // PUBLIC_URL has no path
  return `. The server finishes sign-ins at ${printable(page.origin)} (its PUBLIC_URL), not at ${started.origin}: pass --server ${printable(page.origin)}`;
}

/** Resolves into LOGIN_REQUIRED once the network stays quiet and no marker is on the page. */
async function settledWithoutMarker(page: Page, signal: AbortSignal, loginUrl: string): Promise<never> {
  for (;;) {
    await page.waitForNetworkIdle({ idleTime: SETTLED_MS, timeout: 0, signal });
    if (!(await page.$(MARKERS))) {
      const advice = hasDisplay()
        ? `run ${helperCommand('login')} without --headless`
        : // Without --headless this machine would only fail again (exit 5): say what works instead.
          `this machine has no display (DISPLAY is not set): forward one (ssh -X) and run ${helperCommand('login')} without --headless, or ${signInElsewhere(loginUrl)}`;
      throw new LoginError('LOGIN_REQUIRED', `The identity provider wants you to sign in, which needs a window: ${advice}`);
    }
  }
}

/** The real {@link BrowserLauncher}: Puppeteer driving Chromium with a persistent profile. */
export function createChromiumLauncher(): BrowserLauncher {
  return {
    async signIn(request) {
      const browser = await launch(request.executablePath, request.profileDir, request.headless, request.loginUrl);
      try {
        await waitForMarker(browser, await firstPage(browser), request);
        return { cookies: await browser.cookies() };
      } finally {
        // A graceful close (not a kill) makes Chromium write its cookies to the profile: that is what lets the next sign-in be silent.
        await browser.close().catch(() => {});
      }
    },

    async readCookies(request) {
      const browser = await launch(request.executablePath, request.profileDir, true, 'about:blank');
      try {
        return await browser.cookies();
      } finally {
        await browser.close().catch(() => {});
      }
    },
  };
}
