/** Helpers for the end-to-end tests: the CLI as a child process, and a first sign-in in a real profile. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer';
import { TEST_IDS, testIdSelector } from '../../shared/constants.ts';
import { chromiumArgs } from '../../login-helper/browser.ts';
import type { CliRun } from './_fakes.ts';
import { systemChromium } from '../helpers/chromium.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs `node --import tsx login-helper/main.ts …args` with XDG_CONFIG_HOME=`configHome` (and
 * Chromium's XDG cache below it, so the tests leave nothing in the home folder) and the environment's
 * `overrides` (undefined removes a variable), without npm's variables; resolves when it exits.
 */
export function runCliProcess(args: string[], configHome: string, overrides: Record<string, string | undefined> = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, XDG_CACHE_HOME: path.join(configHome, 'cache') };
  delete env.SSO_SERVER;
  // How the tests were started (npm test, npx ava) is no concern of the helper's messages.
  for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'login-helper/main.ts', ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Signs in once through the development IdP's form in the persistent
 * profile `profileDir`, as a person would the first time; afterwards the IdP
 * remembers this profile. Uses the login helper's own Chromium flags.
 */
export async function firstSignIn(serverUrl: string, profileDir: string, email: string): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: systemChromium(),
    headless: true,
    userDataDir: profileDir,
    args: chromiumArgs({ isRoot: process.getuid?.() === 0, profileDir }),
    ignoreDefaultArgs: ['--enable-automation'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${serverUrl}/login`);
    await page.locator('input[name="email"]').fill(email);
    await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').click()]);
    await page.waitForSelector(testIdSelector(TEST_IDS.loginSuccess));
  } finally {
    await browser.close();
  }
}
