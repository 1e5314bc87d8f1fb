/** Test doubles for the login helper's side effects (STYLE.md practice 7). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerApi } from '../../login-helper/api.ts';
import type { BrowserLauncher, SignInRequest, SignInResult } from '../../login-helper/browser.ts';
import type { CliHost } from '../../login-helper/cli.ts';
import { runCli } from '../../login-helper/cli.ts';
import type { Output } from '../../login-helper/output.ts';
import { createTokenStore, type TokenStore } from '../../login-helper/token-cache.ts';

/** An unsigned JWT-shaped token with the given claims: enough for the cache, which never verifies. */
export function fakeIdToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

/** A temporary folder, removed at teardown. */
export async function tempFolder(t: { teardown(fn: () => Promise<void>): void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Current fake time, in ms since the epoch: 2026-01-01. */
export const NOW = Date.UTC(2026, 0, 1);

/** A launcher that records each sign-in and answers from `outcomes`, in order (an Error is thrown). */
export class FakeLauncher implements BrowserLauncher {
  readonly requests: SignInRequest[] = [];
  constructor(private readonly outcomes: Array<SignInResult | Error>) {}

  async signIn(request: SignInRequest): Promise<SignInResult> {
    this.requests.push(request);
    const outcome = this.outcomes.shift();
    if (!outcome) throw new Error('unexpected sign-in');
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  async readCookies(): Promise<SignInResult['cookies']> {
    return [];
  }
}

/** A server that hands out `idToken` for any cookies and says it belongs to `email`. */
export function fakeApi(idToken: string, email: string, overrides: Partial<ServerApi> = {}): ServerApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    checkReachable: async () => void calls.push('healthz'),
    fetchIdToken: async () => (calls.push('token'), idToken),
    fetchEmail: async () => (calls.push('id'), email),
    fetchClaims: async () => (calls.push('me'), { email }),
    endSession: async () => void calls.push('logout'),
    ...overrides,
  };
}

/** Everything a CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A sandbox for {@link runCli} with fake side effects and a temporary config folder. */
export interface CliSandbox {
  store: TokenStore;
  run(args: string[]): Promise<CliRun>;
}

export async function cliSandbox(
  t: { teardown(fn: () => Promise<void>): void },
  effects: { launcher: BrowserLauncher; api: ServerApi; now?: number; env?: Record<string, string> },
): Promise<CliSandbox> {
  const root = await tempFolder(t, 'login-cli-');
  const env = { XDG_CONFIG_HOME: path.join(root, 'config'), ...effects.env };
  const store = createTokenStore(path.join(env.XDG_CONFIG_HOME, 'koa-oidc-sso'));
  return {
    store,
    async run(args) {
      let stdout = '';
      let stderr = '';
      const output: Output = {
        result: (text) => void (stdout += `${text}\n`),
        info: (text) => void (stderr += `${text}\n`),
        progress: (text) => ((stderr += `${text}\n`), { update() {}, succeed() {}, stop() {} }),
      };
      const host: CliHost = {
        env,
        homeDir: root,
        stdout: (text) => void (stdout += text),
        stderr: (text) => void (stderr += text),
        effects: () => ({ ...effects, store, output, clock: { now: () => effects.now ?? NOW }, findBrowser: () => '/usr/bin/chromium' }),
      };
      const code = await runCli(['node', 'main.ts', '--profile', path.join(root, 'profile'), ...args], host);
      return { code, stdout, stderr };
    },
  };
}
