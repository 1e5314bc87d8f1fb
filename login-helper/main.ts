/**
 * Entry of the login helper (`npm run login`, `npx koa-oidc-sso`): wires the
 * real side effects into the CLI and sets the exit code. Kept thin on purpose.
 */
import os from 'node:os';
import puppeteer from 'puppeteer';
import { createServerApi } from './api.ts';
import { createChromiumLauncher } from './browser.ts';
import { findBrowser, systemBrowserSources } from './browser-path.ts';
import { runCli } from './cli.ts';
import { systemClock } from './clock.ts';
import { createConsoleOutput } from './output.ts';
import { createTokenStore } from './token-cache.ts';

const env = process.env;

process.exitCode = await runCli(process.argv, {
  env,
  homeDir: os.homedir(),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  effects: (settings, options) => ({
    launcher: createChromiumLauncher(),
    api: createServerApi(settings.serverUrl),
    store: createTokenStore(settings.cacheDir),
    clock: systemClock,
    output: createConsoleOutput(),
    findBrowser: () => findBrowser(systemBrowserSources(options.browser, env.PUPPETEER_EXECUTABLE_PATH, () => puppeteer.executablePath(), env.PATH)),
  }),
});
