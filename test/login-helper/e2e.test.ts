/**
 * End to end: the real server with its development IdP, real Chromium
 * (headless), and the CLI as a child process. The tests share one signed-in
 * profile and run one after another, so one browser at a time.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createTokenStore } from '../../login-helper/token-cache.ts';
import { startDevServer, type TestServer } from '../helpers/server.ts';
import { startFakeHttp } from '../helpers/fake-http.ts';
import { fakeIdToken, tempFolder } from './_fakes.ts';
import { firstSignIn, runCliProcess } from './_process.ts';

const EMAIL = 'grace@example.com';
let server: TestServer;
let profileRoot: string;
let profile: string;

test.before(async () => {
  server = await startDevServer();
  profileRoot = await mkdtemp(path.join(tmpdir(), 'e2e-profile-'));
  profile = path.join(profileRoot, 'profile');
  await firstSignIn(server.url, profile, EMAIL);
});

test.after.always(async () => {
  await server?.close();
  if (profileRoot) await rm(profileRoot, { recursive: true, force: true });
});

/** The cache folder the CLI uses under a given XDG_CONFIG_HOME. */
const cacheDir = (configHome: string) => path.join(configHome, 'koa-oidc-sso');

test.serial('login --headless with a remembered profile prints the email, exits 0 and caches the token (0600)', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');

  const run = await runCliProcess(['login', '--server', server.url, '--headless', '--profile', profile], configHome);

  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, `${EMAIL}\n`);
  const [file] = await readdir(cacheDir(configHome));
  t.is((await stat(path.join(cacheDir(configHome), file!))).mode & 0o777, 0o600);
  const cached = await createTokenStore(cacheDir(configHome)).read(server.url);
  t.truthy(cached);
  t.false(run.stderr.includes(cached!.idToken));
  t.true((await stat(path.join(profile, 'DiskCache'))).isDirectory(), 'the disk cache lives in the profile, deleted with it');

  const whoami = await runCliProcess(['whoami', '--server', server.url], configHome);
  t.is(whoami.stdout, `${EMAIL}\n`);
});

test.serial('--server at another address than PUBLIC_URL: exit 8 naming the address to pass', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');
  const publicUrl = new URL(server.url); // http://localhost:<port>
  const otherAddress = `http://127.0.0.1:${publicUrl.port}`;

  const run = await runCliProcess(['login', '--server', otherAddress, '--headless', '--profile', profile], configHome);

  t.is(run.code, 8, run.stderr);
  t.true(run.stderr.includes(`The server finishes sign-ins at ${publicUrl.origin} (its PUBLIC_URL), not at ${otherAddress}: pass --server ${publicUrl.origin}`), run.stderr);
});

test.serial('token with an expired cached token signs in again headless and prints a fresh token', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');
  const store = createTokenStore(cacheDir(configHome));
  const expired = fakeIdToken({ exp: Math.floor(Date.now() / 1000) - 10, email: EMAIL });
  await store.write(server.url, expired);

  const run = await runCliProcess(['token', '--server', server.url, '--profile', profile], configHome);

  t.is(run.code, 0, run.stderr);
  const printed = run.stdout.trim();
  t.not(printed, expired);
  t.is((await store.read(server.url))?.idToken, printed);
  t.regex(run.stderr, /saved browser profile/);
});

// Headless Chromium needs no display, so each case can say whether the machine has one.
const displays = [
  { command: 'token', display: { DISPLAY: ':0', WAYLAND_DISPLAY: undefined } },
  { command: 'login', display: { DISPLAY: undefined, WAYLAND_DISPLAY: undefined } },
];
for (const { command, display } of displays) {
  const where = display.DISPLAY ? 'with a display' : 'on a machine without a display';
  test.serial(`${command} --headless with a profile the IdP does not know stops at its form ${where}: exit 9, not a wait for --timeout`, async (t) => {
    const configHome = await tempFolder(t, 'e2e-config-');
    const fresh = path.join(configHome, 'fresh-profile');

    // Were it to wait at the form, it would end with exit 7 after these 100 s (ava gives up after 120).
    const run = await runCliProcess([command, '--headless', '--timeout', '100', '--server', server.url, '--profile', fresh], configHome, display);

    t.is(run.code, 9, run.stderr);
    t.is(run.stdout, '');
    if (display.DISPLAY) {
      t.regex(run.stderr, /which needs a window: run koa-oidc-sso login without --headless\n$/);
    } else {
      // Without --headless it would only fail again (exit 5): the advice is what works without a window.
      t.regex(run.stderr, /which needs a window: this machine has no display .*ssh -X/);
      t.true(run.stderr.includes(`sign in with your own browser at ${server.url}/login, open ${server.url}/user/token`), run.stderr);
    }
  });
}

test.serial('a sign-in page that never settles and never shows a verdict: exit 7 at --timeout', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');
  // A page that keeps the network busy (long polling) never counts as stuck at a form.
  const polling = '<!doctype html><p>Waiting</p><script>setInterval(() => fetch("/poll"), 200)</script>';
  const busy = await startFakeHttp((request, response) => {
    response.setHeader('Content-Type', 'text/html');
    response.end(request.url === '/login' ? polling : 'ok');
  });
  t.teardown(busy.close);

  const run = await runCliProcess(['login', '--headless', '--timeout', '3', '--server', busy.url, '--profile', path.join(configHome, 'p')], configHome);

  t.is(run.code, 7, run.stderr);
  t.regex(run.stderr, /did not finish within 3 s/);
});

test.serial('run as npm run login, the advice names npm run login', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');
  const asNpmScript = { npm_lifecycle_event: 'login', npm_package_name: 'koa-oidc-sso' };

  const run = await runCliProcess(['whoami', '--server', server.url], configHome, asNpmScript);

  t.is(run.code, 12, run.stderr);
  t.true(run.stderr.endsWith(`Not signed in to ${server.url} (or the token expired): run npm run login\n`), run.stderr);
});

test.serial('a server that is down: exit 3, naming the URL, without starting a browser', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');
  const gone = await startFakeHttp((_request, response) => response.end());
  await gone.close(); // its port is now closed

  const run = await runCliProcess(['login', '--server', gone.url, '--profile', path.join(configHome, 'unused')], configHome);

  t.is(run.code, 3);
  t.true(run.stderr.includes(`Cannot reach the server at ${gone.url}/healthz`), run.stderr);
  t.notRegex(run.stderr, /\n\s+at /);
  t.notRegex(run.stderr, /Sign/); // no sign-in progress: it stopped before the browser
});

test.serial('logout --all ends the server session, deletes the token and the profile', async (t) => {
  const configHome = await tempFolder(t, 'e2e-config-');
  const store = createTokenStore(cacheDir(configHome));
  await store.write(server.url, fakeIdToken({ exp: Math.floor(Date.now() / 1000) + 3600 }));

  const run = await runCliProcess(['logout', '--all', '--server', server.url, '--profile', profile], configHome);

  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, /Ended the session/);
  t.is(await store.read(server.url), undefined);
  await t.throwsAsync(stat(profile), { code: 'ENOENT' });
});
