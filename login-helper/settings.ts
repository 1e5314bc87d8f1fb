import path from 'node:path';
import envPaths from 'env-paths';
import { DEFAULT_SERVER_URL } from '../shared/constants.ts';
import { LoginError } from './errors.ts';
import { normalizeServerUrl } from './server-url.ts';
import type { Settings } from './sign-in.ts';
import { cacheKey } from './token-cache.ts';

const APP = 'koa-oidc-sso';

/** Default --timeout, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 300;

/** The options shared by every command, as commander hands them over. */
export interface GlobalOptions {
  server?: string;
  headless?: boolean;
  timeout?: number;
  profile?: string;
  browser?: string;
  verbose?: boolean;
}

/** Settings plus the folder of the token cache. */
export interface ResolvedSettings extends Settings {
  cacheDir: string;
}

/** Default browser profile: a per-user data folder (~/.local/share/koa-oidc-sso/chromium-profile on Linux). */
export function defaultProfileDir(): string {
  return path.join(envPaths(APP, { suffix: '' }).data, 'chromium-profile');
}

/**
 * Token cache folder: ${XDG_CONFIG_HOME:-~/.config}/koa-oidc-sso. A relative
 * XDG_CONFIG_HOME is ignored, as the XDG Base Directory spec says.
 * @see https://specifications.freedesktop.org/basedir-spec/latest/
 */
export function cacheDirFor(env: Record<string, string | undefined>, homeDir: string): string {
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homeDir, '.config');
  return path.join(configHome, APP);
}

/** --timeout's parser: whole seconds, at least 1. */
export function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1) throw new LoginError('USAGE', `--timeout wants whole seconds (at least 1), got ${JSON.stringify(value)}`);
  return seconds;
}

/** Turns the options and the environment into validated settings, once, at start-up. */
export function resolveSettings(options: GlobalOptions, env: Record<string, string | undefined>, homeDir: string): ResolvedSettings {
  const serverUrl = options.server
    ? normalizeServerUrl(options.server, '--server')
    : normalizeServerUrl(env.SSO_SERVER || DEFAULT_SERVER_URL, 'SSO_SERVER');
  const profileDir = path.resolve(options.profile ?? defaultProfileDir());
  const cacheDir = cacheDirFor(env, homeDir);
  return {
    serverUrl,
    headless: options.headless ?? false,
    timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    profileDir,
    cacheDir,
    lockFile: path.join(cacheDir, `profile-${cacheKey(profileDir)}.lock`),
  };
}
