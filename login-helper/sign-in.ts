import type { ServerApi } from './api.ts';
import type { BrowserLauncher } from './browser.ts';
import type { Clock } from './clock.ts';
import { toCookieJar } from './cookies.ts';
import { LoginError, isLoginError } from './errors.ts';
import { withLock } from './lock.ts';
import { inspectProfileFolder, notAProfileMessage } from './profile-folder.ts';
import type { Output } from './output.ts';
import { ROUTES } from '../shared/constants.ts';
import { routeUrl } from './server-url.ts';
import { EXPIRY_MARGIN_MS, idTokenExpiry, isFresh, type CachedToken, type TokenStore } from './token-cache.ts';

/** The side effects a command needs; real ones in main.ts, fakes in unit tests. */
export interface Effects {
  launcher: BrowserLauncher;
  api: ServerApi;
  store: TokenStore;
  clock: Clock;
  output: Output;
  /** Resolves the browser executable (throws NO_BROWSER). */
  findBrowser(): string;
}

/** What the command line decided, already validated. */
export interface Settings {
  serverUrl: string;
  headless: boolean;
  timeoutMs: number;
  profileDir: string;
  /** Lock file that keeps two runs from driving the same profile. */
  lockFile: string;
}

/** A finished sign-in. */
export interface SignedIn {
  email: string;
  token: CachedToken;
}

/**
 * `login`: opens the server's /login in Chromium (a window, or headless with
 * --headless), then trades the browser's session cookie for the id_token and
 * the token for the email, and caches the token. Headless, nobody can fill in
 * the IdP's form: stopping there is LOGIN_REQUIRED at once, not a timeout.
 */
export async function signIn(effects: Effects, settings: Settings): Promise<SignedIn> {
  const deadline = effects.clock.now() + settings.timeoutMs;
  const executablePath = await prepare(effects, settings);
  const { headless } = settings;
  return locked(effects, settings, deadline, () => attempt(effects, settings, { executablePath, deadline, headless, silent: headless }));
}

/**
 * `token`: the cached token while it stays valid for another minute; else a
 * silent headless sign-in with the saved profile, and a window only when the
 * IdP needs the user again (never with --headless).
 */
export async function currentToken(effects: Effects, settings: Settings): Promise<CachedToken> {
  const cached = await effects.store.read(settings.serverUrl);
  if (cached && isFresh(cached, effects.clock)) return cached;
  const deadline = effects.clock.now() + settings.timeoutMs;
  const executablePath = await prepare(effects, settings);
  return locked(effects, settings, deadline, async () => {
    const refreshed = await effects.store.read(settings.serverUrl); // a parallel run may have signed in while we waited
    if (refreshed && isFresh(refreshed, effects.clock)) return refreshed;
    try {
      return (await attempt(effects, settings, { executablePath, deadline, headless: true, silent: true })).token;
    } catch (error) {
      if (!isLoginError(error, 'LOGIN_REQUIRED') || settings.headless) throw error;
      effects.output.info('The identity provider needs you to sign in again: opening a browser window.');
      return (await attempt(effects, settings, { executablePath, deadline, headless: false, silent: false })).token;
    }
  });
}

/** Runs `task` holding the profile's lock; waiting for it counts against the same deadline. */
export function locked<T>(effects: Effects, settings: Settings, deadline: number, task: () => Promise<T>): Promise<T> {
  const what = `the browser profile ${settings.profileDir}`;
  const onWait = () => effects.output.info(`Waiting for another koa-oidc-sso run that is using ${what}…`);
  return withLock(settings.lockFile, { deadline, clock: effects.clock, what, onWait }, task);
}

/**
 * Fails fast, before any window opens: a --profile folder of other files (Chromium would fill it
 * with its own, and `logout --all` would then take it for a profile and delete it all), a server
 * that is down, no browser installed.
 */
async function prepare(effects: Effects, settings: Settings): Promise<string> {
  if ((await inspectProfileFolder(settings.profileDir)) === 'other') {
    throw new LoginError('USAGE', `${notAProfileMessage(settings.profileDir)}: pass a new or empty folder to --profile`);
  }
  await effects.api.checkReachable();
  return effects.findBrowser();
}

interface Attempt {
  executablePath: string;
  deadline: number;
  headless: boolean;
  silent: boolean;
}

async function attempt(effects: Effects, settings: Settings, options: Attempt): Promise<SignedIn> {
  const { clock, output } = effects;
  const instruction = options.headless
    ? 'Signing in with the saved browser profile (no window)'
    : 'Sign in to your identity provider in the browser window';
  const label = () => `${instruction}, ${formatSeconds(options.deadline - clock.now())} left`;
  const progress = output.progress(label());
  const ticker = setInterval(() => progress.update(label()), 1000);
  try {
    const { cookies } = await effects.launcher.signIn({
      loginUrl: routeUrl(settings.serverUrl, ROUTES.login),
      executablePath: options.executablePath,
      profileDir: settings.profileDir,
      headless: options.headless,
      timeoutMs: Math.max(options.deadline - clock.now(), 1),
      silent: options.silent,
    });
    progress.update('Fetching the token');
    const idToken = await effects.api.fetchIdToken(await toCookieJar(cookies, settings.serverUrl));
    refuseUnlessFresh(idToken, clock); // before caching: a dead token must not replace a cached one
    // Cached first: the server has just verified it, and `token` stays usable even when the
    // email lookup fails (a token without an email claim, an unverified address).
    const token = await effects.store.write(settings.serverUrl, idToken);
    const email = await effects.api.fetchEmail(idToken);
    progress.succeed(`Signed in to ${settings.serverUrl} as ${email}`);
    return { email, token };
  } finally {
    clearInterval(ticker);
    progress.stop();
  }
}

/**
 * A token that dies within the minute is no result: `token` would print it and `whoami` would
 * reject it at once. Only this computer's clock can judge `exp`, so the message names it: a
 * clock far ahead of the server's makes every token look expired.
 */
function refuseUnlessFresh(idToken: string, clock: Clock): void {
  const expiresAt = idTokenExpiry(idToken);
  if (expiresAt === undefined || isFresh({ expiresAt }, clock)) return; // no exp: the cache refuses it
  const when = (milliseconds: number) => {
    const date = new Date(milliseconds);
    return Number.isNaN(date.getTime()) ? String(milliseconds / 1000) : date.toISOString().replace(/\.\d+Z$/, 'Z');
  };
  throw new LoginError('TOKEN_REFUSED', `The server handed out an expired id_token (exp ${when(expiresAt)}; this computer's clock says ` +
    `${when(clock.now())}, and a token needs ${EXPIRY_MARGIN_MS / 1000} s left): is either clock wrong?`);
}

/** 300000 -> "5:00". */
function formatSeconds(milliseconds: number): string {
  const seconds = Math.max(0, Math.ceil(milliseconds / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
