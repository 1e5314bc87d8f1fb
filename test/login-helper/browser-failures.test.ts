/**
 * How the CLI ends when the browser does not start or does not reach the
 * success marker: a tiny fake server stands in for the SSO server, and the CLI
 * runs as a child process with real headless Chromium. Each scenario lives
 * under its own path prefix, which the CLI supports (--server http://host/prefix).
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import puppeteer from 'puppeteer';
import { chromiumArgs, hasDisplay } from '../../login-helper/browser.ts';
import { TEST_IDS } from '../../shared/constants.ts';
import { systemChromium } from '../helpers/chromium.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { tempFolder } from './_fakes.ts';
import { runCliProcess } from './_process.ts';

const PAGES: Record<string, string> = {
  // The page closes its own window, as a person closing it would (a window with one history entry may close itself).
  '/closes/login': '<p>Signing in…</p><script>window.close()</script>',
  '/fails/login': `<h1>Sign-in failed</h1><p data-testid="${TEST_IDS.loginError}">The identity provider did not sign you in: access_denied</p>`,
  // Raw escape sequences, CR, bidi controls and a wall of text, as a hostile server may send them.
  '/hostile/login': `<p data-testid="${TEST_IDS.loginError}">denied\u001b]0;pwned\u0007\u001b[2J\r\u202eevil\u202c ${'x'.repeat(5000)}</p>`,
};

const REPO = new URL('../../', import.meta.url).pathname;

let fake: Awaited<ReturnType<typeof startFakeHttp>>;

test.before(async () => {
  fake = await startFakeHttp((request, response) => {
    const page = PAGES[request.url ?? ''];
    if (request.url?.endsWith('/healthz')) return void response.end('ok');
    response.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><title>fake</title>${page ?? 'not found'}`);
  });
});

test.after.always(() => fake?.close());

test.serial('the user closes the window: exit 6 at once, not after the timeout', async (t) => {
  const dir = await tempFolder(t, 'closed-');
  // A generous timeout: had the closing gone unnoticed, the run would end with exit 7 instead.
  const args = ['login', '--headless', '--timeout', '90', '--server', `${fake.url}/closes`, '--profile', path.join(dir, 'profile')];

  const run = await runCliProcess(args, dir);

  t.is(run.code, 6, run.stderr);
  t.regex(run.stderr, /window was closed/);
  t.is(run.stdout, '');
});

test.serial("the server's login error page: exit 8, quoting its text", async (t) => {
  const dir = await tempFolder(t, 'error-page-');
  const args = ['login', '--headless', '--server', `${fake.url}/fails`, '--profile', path.join(dir, 'profile')];

  const run = await runCliProcess(args, dir);

  t.is(run.code, 8, run.stderr);
  t.regex(run.stderr, /"The identity provider did not sign you in: access_denied"/);
  t.is(run.stdout, '');
});

test.serial("a hostile login error page: exit 8, its text quoted as one clean line of at most 200 characters", async (t) => {
  const dir = await tempFolder(t, 'hostile-page-');
  const args = ['login', '--headless', '--server', `${fake.url}/hostile`, '--profile', path.join(dir, 'profile')];

  const run = await runCliProcess(args, dir);

  t.is(run.code, 8, run.stderr);
  const failure = run.stderr.split('\n').find((line) => line.startsWith('koa-oidc-sso: '));
  const quoted = failure?.match(/^koa-oidc-sso: The server could not sign you in: "(.*)"$/)?.[1];
  t.is(quoted?.length, 200, run.stderr);
  t.regex(quoted ?? '', /^denied \]0;pwned \[2J evil x+…$/);
  t.notRegex(run.stderr.replaceAll('\n', ''), /[\p{Cc}\p{Cf}]/u);
});

test.serial('no display for the window: exit 5 with what to do, not Puppeteer\'s advice to script authors', async (t) => {
  const dir = await tempFolder(t, 'no-display-');
  const args = ['login', '--server', `${fake.url}/closes`, '--profile', path.join(dir, 'profile')];

  const run = await runCliProcess(args, dir, { DISPLAY: undefined, WAYLAND_DISPLAY: undefined });

  t.is(run.code, 5, run.stderr);
  t.regex(run.stderr, /did not start: there is no display to open the sign-in window on .*ssh -X.*--headless/);
  t.notRegex(run.stderr, /xvfb-run|headless to true/);
  t.is(run.stdout, '');
  // This profile never signed in, so --headless alone would end in exit 9: the README's third way is on offer too.
  const signInElsewhere = `sign in with your own browser at ${fake.url}/closes/login, open ${fake.url}/closes/user/token in the same browser, ` +
    'and pass that token as "Authorization: Bearer …"';
  const failure = run.stderr.split('\n').filter((line) => line.startsWith('koa-oidc-sso: '));
  t.is(failure.length, 1, run.stderr);
  t.true(failure[0]!.includes(signInElsewhere), run.stderr);
});

test.serial('a profile in use by another Chromium: exit 5 naming the profile and --profile, not Puppeteer\'s `userDataDir`', async (t) => {
  const dir = await tempFolder(t, 'in-use-');
  const profileDir = path.join(dir, 'profile');
  const other = await puppeteer.launch({ executablePath: systemChromium(), headless: true, userDataDir: profileDir, args: chromiumArgs({ isRoot: process.getuid?.() === 0, profileDir }) });
  t.teardown(() => other.close());

  const run = await runCliProcess(['login', '--headless', '--server', `${fake.url}/closes`, '--profile', profileDir], dir);

  t.is(run.code, 5, run.stderr);
  t.regex(run.stderr, /did not start: the profile .+ is in use by another Chromium: close it, or pass --profile <another dir>$/m);
  t.true(run.stderr.includes(profileDir));
  t.notRegex(run.stderr, /userDataDir/);
});

test.serial('--browser naming a directory or a file that is not executable: exit 4 in one line, not a stack trace', async (t) => {
  const dir = await tempFolder(t, 'bad-browser-');
  const server = ['--server', `${fake.url}/closes`, '--profile', path.join(dir, 'profile')];

  const directory = await runCliProcess(['login', '--headless', '--browser', dir, ...server], dir);
  t.is(directory.code, 4, directory.stderr);
  t.is(directory.stderr, `koa-oidc-sso: --browser names ${dir}, which is a directory\n`);

  const notExecutable = await runCliProcess(['login', '--headless', ...server], dir, { PUPPETEER_EXECUTABLE_PATH: path.join(REPO, 'package.json') });
  t.is(notExecutable.code, 4, notExecutable.stderr);
  t.regex(notExecutable.stderr, /^koa-oidc-sso: PUPPETEER_EXECUTABLE_PATH names .+package\.json, which is not an executable file\n$/);
});

test.serial('--browser naming an executable that is not a browser: exit 5 saying it quit at once, not "Target closed"', async (t) => {
  const dir = await tempFolder(t, 'not-a-browser-');
  const script = path.join(dir, 'not-chrome');
  await writeFile(script, '#!/bin/sh\nexit 0\n');
  await chmod(script, 0o755);

  const run = await runCliProcess(['login', '--headless', '--browser', script, '--server', `${fake.url}/closes`, '--profile', path.join(dir, 'profile')], dir);

  t.is(run.code, 5, run.stderr);
  t.regex(run.stderr, /^koa-oidc-sso: The browser .+not-chrome did not start: it quit at once, before answering \(is it Chromium or Chrome\?\)$/m);
  t.notRegex(run.stderr, /Target closed|Protocol error/);
});

test('a display is an X or Wayland one on Linux; other systems always have one', (t) => {
  t.false(hasDisplay({}, 'linux'));
  t.false(hasDisplay({ DISPLAY: '' }, 'linux'));
  t.true(hasDisplay({ DISPLAY: ':0' }, 'linux'));
  t.true(hasDisplay({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'));
  t.true(hasDisplay({}, 'darwin'));
  t.true(hasDisplay({}, 'win32'));
});
