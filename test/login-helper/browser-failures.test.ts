/**
 * How the CLI ends when the browser does not reach the success marker: a
 * tiny fake server stands in for the SSO server, and the CLI runs as a child
 * process with real headless Chromium. Each scenario lives under its own path
 * prefix, which the CLI supports (--server http://host/prefix).
 */
import path from 'node:path';
import test from 'ava';
import { TEST_IDS } from '../../shared/constants.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { tempFolder } from './_fakes.ts';
import { runCliProcess } from './_process.ts';

const PAGES: Record<string, string> = {
  // The page closes its own window, as a person closing it would (a window with one history entry may close itself).
  '/closes/login': '<p>Signing in…</p><script>window.close()</script>',
  '/fails/login': `<h1>Sign-in failed</h1><p data-testid="${TEST_IDS.loginError}">The identity provider did not sign you in: access_denied</p>`,
};

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

test.serial('no display for the window: exit 5 with what to do, not Puppeteer\'s advice to script authors', async (t) => {
  const dir = await tempFolder(t, 'no-display-');
  const args = ['login', '--server', `${fake.url}/closes`, '--profile', path.join(dir, 'profile')];

  const run = await runCliProcess(args, dir, { DISPLAY: undefined, WAYLAND_DISPLAY: undefined });

  t.is(run.code, 5, run.stderr);
  t.regex(run.stderr, /did not start: there is no display to open the sign-in window on .*ssh -X.*--headless/);
  t.notRegex(run.stderr, /xvfb-run|headless to true/);
  t.is(run.stdout, '');
});
