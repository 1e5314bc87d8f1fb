import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { LoginError } from '../../login-helper/errors.ts';
import { FakeLauncher, NOW, cliSandbox, fakeApi, fakeIdToken, tempFolder } from './_fakes.ts';

const SERVER = 'http://localhost:5000';
const EMAIL = 'ada@example.com';
const inAnHour = Math.floor(NOW / 1000) + 3600;
const signedIn = { cookies: [] };

test('login prints only the email on stdout and caches the token', async (t) => {
  const idToken = fakeIdToken({ exp: inAnHour });
  const launcher = new FakeLauncher([signedIn]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi(idToken, EMAIL) });

  const run = await sandbox.run(['login', '--server', `${SERVER}/`]);

  t.is(run.code, 0);
  t.is(run.stdout, `${EMAIL}\n`);
  t.false(run.stderr.includes(idToken));
  t.like(launcher.requests[0], { loginUrl: `${SERVER}/login`, headless: false, silent: false, executablePath: '/usr/bin/chromium' });
  t.is((await sandbox.store.read(SERVER))?.idToken, idToken);
});

test('login is the default command, and --headless reaches the browser', async (t) => {
  const launcher = new FakeLauncher([signedIn]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi(fakeIdToken({ exp: inAnHour }), EMAIL) });
  t.is((await sandbox.run(['--headless', '--timeout', '30'])).code, 0);
  t.like(launcher.requests[0], { headless: true, silent: true, timeoutMs: 30_000 }); // nobody can fill in a form headless
});

test('token prints a still-valid cached token without opening a browser or calling the server', async (t) => {
  const idToken = fakeIdToken({ exp: inAnHour });
  const api = fakeApi('unused', EMAIL);
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api });
  await sandbox.store.write(SERVER, idToken);

  const run = await sandbox.run(['token']);

  t.is(run.code, 0);
  t.is(run.stdout, `${idToken}\n`);
  t.deepEqual(api.calls, []);
});

test('token refreshes silently and headless when the cached token expires within 60 s', async (t) => {
  const fresh = fakeIdToken({ exp: inAnHour });
  const launcher = new FakeLauncher([signedIn]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi(fresh, EMAIL) });
  await sandbox.store.write(SERVER, fakeIdToken({ exp: Math.floor(NOW / 1000) + 59 }));

  const run = await sandbox.run(['token']);

  t.is(run.stdout, `${fresh}\n`);
  t.is(launcher.requests.length, 1);
  t.like(launcher.requests[0], { headless: true, silent: true });
  t.is((await sandbox.store.read(SERVER))?.idToken, fresh);
});

test('token falls back to a window only when the silent sign-in needs the user', async (t) => {
  const fresh = fakeIdToken({ exp: inAnHour });
  const launcher = new FakeLauncher([new LoginError('LOGIN_REQUIRED', 'the IdP wants the user'), signedIn]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi(fresh, EMAIL) });

  const run = await sandbox.run(['token']);

  t.is(run.code, 0);
  t.is(run.stdout, `${fresh}\n`);
  t.deepEqual(launcher.requests.map(({ headless, silent }) => ({ headless, silent })), [
    { headless: true, silent: true },
    { headless: false, silent: false },
  ]);
});

test('token --headless never opens a window: it fails with exit code 9 instead', async (t) => {
  const launcher = new FakeLauncher([new LoginError('LOGIN_REQUIRED', 'the IdP wants the user')]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi('unused', EMAIL) });

  const run = await sandbox.run(['token', '--headless']);

  t.is(run.code, 9);
  t.is(run.stdout, '');
  t.is(launcher.requests.length, 1);
});

test('a failure prints one line with its own exit code and no stack; --verbose adds the details', async (t) => {
  const closed = () => new LoginError('WINDOW_CLOSED', 'The sign-in window was closed', { cause: new Error('Target closed') });
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([closed(), closed()]), api: fakeApi('unused', EMAIL) });

  const quiet = await sandbox.run(['login']);
  t.is(quiet.code, 6);
  t.is(quiet.stdout, '');
  t.regex(quiet.stderr, /^koa-oidc-sso: The sign-in window was closed$/m);
  t.notRegex(quiet.stderr, /\n\s+at /);

  const verbose = await sandbox.run(['login', '--verbose']);
  t.regex(verbose.stderr, /\n\s+at /);
  t.regex(verbose.stderr, /Caused by: Error: Target closed/);
});

test("--verbose cleans each line of the stacks and causes, which quote the server's text", async (t) => {
  const quoted = new LoginError('LOGIN_FAILED', 'The server says: \u001b]0;owned\u0007access\u202e denied', {
    cause: new Error('reason \u001b[2Jphrase\r\u2066hidden'),
  });
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([quoted]), api: fakeApi('unused', EMAIL) });

  const run = await sandbox.run(['login', '--verbose']);

  t.is(run.code, 8);
  for (const character of ['\u001b', '\u0007', '\r', '\u202e', '\u2066']) t.false(run.stderr.includes(character), JSON.stringify(character));
  t.regex(run.stderr, /^\w*Error: The server says: \]0;owned access denied$/m); // the stack's own first line
  t.regex(run.stderr, /^Caused by: Error: reason \[2Jphrase hidden$/m);
  t.regex(run.stderr, /\n {4}at /); // one stack line per line, indented as Node writes them
});

test('an unexpected error exits 1, a bad option 2', async (t) => {
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([new TypeError('boom')]), api: fakeApi('unused', EMAIL) });
  t.is((await sandbox.run(['login'])).code, 1);
  t.is((await sandbox.run(['login', '--timeout', 'soon'])).code, 2);
  t.is((await sandbox.run(['login', '--server', 'ftp://example.com'])).code, 2);
  t.is((await sandbox.run(['fly'])).code, 2);
});

test('a misspelt command is an unknown command listing the commands (exit 2), not an argument of the default login', async (t) => {
  const launcher = new FakeLauncher([]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi('unused', EMAIL) });

  for (const args of [['whomai'], ['--headless', 'whomai', '--json']]) {
    const run = await sandbox.run(args);
    t.is(run.code, 2);
    t.is(run.stdout, '');
    t.is(run.stderr, "error: unknown command 'whomai' (the commands are login, token, whoami, logout; see --help)\n");
  }
  t.regex((await sandbox.run(['login', 'now'])).stderr, /too many arguments for 'login'/); // named explicitly, login keeps its own message
  t.is(launcher.requests.length, 0);
});

test('the refused calls have their own exit codes and name the status', async (t) => {
  const refused = fakeApi('unused', EMAIL, {
    fetchIdToken: async () => {
      throw new LoginError('TOKEN_REFUSED', 'The server refused GET /user/token: 401 Unauthorized');
    },
  });
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([signedIn]), api: refused });
  const run = await sandbox.run(['login']);
  t.is(run.code, 10);
  t.regex(run.stderr, /401/);
});

test('whoami uses the cached token, and says to log in when there is none', async (t) => {
  const idToken = fakeIdToken({ exp: inAnHour });
  const api = fakeApi('unused', EMAIL);
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api });

  const before = await sandbox.run(['whoami']);
  t.is(before.code, 12);
  t.regex(before.stderr, /koa-oidc-sso login/);

  await sandbox.store.write(SERVER, idToken);
  t.is((await sandbox.run(['whoami'])).stdout, `${EMAIL}\n`);
  t.deepEqual(JSON.parse((await sandbox.run(['whoami', '--json'])).stdout), { email: EMAIL });
  t.deepEqual(api.calls, ['id', 'me']);
});

test('logout forgets the cached token of that server only', async (t) => {
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api: fakeApi('unused', EMAIL) });
  await sandbox.store.write(SERVER, fakeIdToken({ exp: inAnHour }));
  await sandbox.store.write('https://other.example', fakeIdToken({ exp: inAnHour }));

  const run = await sandbox.run(['logout']);

  t.is(run.code, 0);
  t.is(await sandbox.store.read(SERVER), undefined);
  t.truthy(await sandbox.store.read('https://other.example'));
});

test('the server comes from --server, else $SSO_SERVER, else http://localhost:5000', async (t) => {
  const launcher = new FakeLauncher([signedIn, signedIn, signedIn]);
  const api = fakeApi(fakeIdToken({ exp: inAnHour }), EMAIL);
  const fromEnv = await cliSandbox(t, { launcher, api, env: { SSO_SERVER: 'https://sso.example.com/' } });
  await fromEnv.run(['login']);
  await fromEnv.run(['login', '--server', 'https://other.example/sso']);
  await (await cliSandbox(t, { launcher, api })).run(['login']);
  t.deepEqual(launcher.requests.map((request) => request.loginUrl), [
    'https://sso.example.com/login',
    'https://other.example/sso/login',
    `${SERVER}/login`,
  ]);
});

test('--help lists the exit codes', async (t) => {
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api: fakeApi('unused', EMAIL) });
  const help = await sandbox.run(['--help']);
  t.is(help.code, 0);
  for (const line of ['   3  the server did not answer', '   6  the sign-in window was closed', '   7  sign-in did not finish within --timeout']) {
    t.true(help.stdout.includes(line), line);
  }
});

test('login caches the token before asking for the email, so token works even when the email lookup is refused', async (t) => {
  const idToken = fakeIdToken({ exp: inAnHour });
  const noEmail = new LoginError('IDENTITY_REFUSED', 'The server refused GET /user/id: 404 Not Found: The token has no email claim');
  const api = fakeApi(idToken, EMAIL, { fetchEmail: () => Promise.reject(noEmail) });
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([signedIn]), api });

  const login = await sandbox.run(['login']);
  t.is(login.code, 11);
  t.regex(login.stderr, /no email claim/);

  const token = await sandbox.run(['token']);
  t.is(token.code, 0);
  t.is(token.stdout, `${idToken}\n`);
});

test('--version prints the package version on stdout', async (t) => {
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api: fakeApi('unused', EMAIL) });
  const run = await sandbox.run(['--version']);
  t.is(run.code, 0);
  t.regex(run.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('a bad server URL is a usage error that names where it came from', async (t) => {
  const api = fakeApi('unused', EMAIL);
  const fromFlag = await cliSandbox(t, { launcher: new FakeLauncher([]), api });
  const flag = await fromFlag.run(['whoami', '--server', 'ftp://example.com']);
  t.is(flag.code, 2);
  t.is(flag.stderr, 'koa-oidc-sso: --server: the server URL must start with http:// or https://, got "ftp://example.com"\n');

  const fromEnv = await cliSandbox(t, { launcher: new FakeLauncher([]), api, env: { SSO_SERVER: 'localhost:5000' } });
  const env = await fromEnv.run(['whoami']);
  t.is(env.code, 2);
  t.regex(env.stderr, /^koa-oidc-sso: SSO_SERVER: /);

  const withPassword = await fromFlag.run(['whoami', '--server', 'https://me:secret@sso.example.com']);
  t.is(withPassword.code, 2);
  t.false(withPassword.stderr.includes('secret'));
  // The address the server logs at start-up is its /login page: the helper names the one to give.
  const pages: Array<[given: string, route: string, base: string]> = [
    ['http://localhost:5000/login', '/login', 'http://localhost:5000'],
    ['https://example.com/sso/user/token/', '/user/token', 'https://example.com/sso'],
  ];
  for (const [given, route, base] of pages) {
    const page = await fromFlag.run(['login', '--server', given]);
    t.is(page.code, 2);
    t.is(page.stderr, `koa-oidc-sso: --server: ${given} is the server's ${route} page; give the server's address: ${base}\n`);
  }
});

test('token refuses a freshly fetched token that is expired or expires within 60 s (exit 10), and caches nothing', async (t) => {
  for (const exp of [Math.floor(NOW / 1000) - 3600, Math.floor(NOW / 1000) + 59]) {
    const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([signedIn]), api: fakeApi(fakeIdToken({ exp }), EMAIL) });

    const run = await sandbox.run(['token']);

    t.is(run.code, 10, run.stderr);
    t.is(run.stdout, '');
    t.regex(run.stderr, /^koa-oidc-sso: The server handed out an expired id_token \(exp .+; this computer's clock says 2026-01-01T00:00:00Z, and a token needs 60 s left\): is either clock wrong\?$/m);
    t.is(await sandbox.store.read(SERVER), undefined);
  }
  const justEnough = await cliSandbox(t, { launcher: new FakeLauncher([signedIn]), api: fakeApi(fakeIdToken({ exp: Math.floor(NOW / 1000) + 61 }), EMAIL) });
  t.is((await justEnough.run(['token'])).code, 0);
});

test('whoami --json writes C1 and bidi characters of the claims as \\uXXXX: the same JSON, nothing raw', async (t) => {
  const claims = { email: EMAIL, name: 'Ada\u202e\u009b2J\u2066' };
  const api = fakeApi('unused', EMAIL, { fetchClaims: async () => claims });
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api });
  await sandbox.store.write(SERVER, fakeIdToken({ exp: inAnHour }));

  const run = await sandbox.run(['whoami', '--json']);

  t.is(run.code, 0);
  t.notRegex(run.stdout, /[\u007f-\u009f\u202e\u2066]/);
  t.true(run.stdout.includes('"Ada\\u202e\\u009b2J\\u2066"'));
  t.deepEqual(JSON.parse(run.stdout), claims);
});

test('login and token refuse a --profile folder of other files (exit 2): Chromium would fill it, and logout --all delete it', async (t) => {
  const root = await tempFolder(t, 'login-profile-');
  const notes = path.join(root, 'notes');
  await mkdir(notes);
  await writeFile(path.join(notes, 'todo.txt'), 'keep me');
  const launcher = new FakeLauncher([]);
  const sandbox = await cliSandbox(t, { launcher, api: fakeApi(fakeIdToken({ exp: inAnHour }), EMAIL) });

  for (const command of ['login', 'token']) {
    const run = await sandbox.run([command, '--profile', notes]);
    t.is(run.code, 2, command);
    t.is(run.stderr, `koa-oidc-sso: ${notes} is neither empty nor a browser profile (no Chromium "Local State" file in it): pass a new or empty folder to --profile\n`);
  }
  t.deepEqual(await readdir(notes), ['todo.txt']);
  t.is(launcher.requests.length, 0, 'no browser was started');
});

test('login takes a new or empty --profile folder, a profile, or one whose first start was cut short', async (t) => {
  const root = await tempFolder(t, 'login-profile-');
  const empty = path.join(root, 'empty');
  await mkdir(empty);
  const profile = path.join(root, 'profile');
  await mkdir(profile);
  await writeFile(path.join(profile, 'Local State'), '{}');
  const cutShort = path.join(root, 'cut-short');
  await mkdir(cutShort);
  await symlink('host-1234', path.join(cutShort, 'SingletonLock')); // a dangling link, as Chromium leaves it
  const folders = [path.join(root, 'new'), empty, profile, cutShort];
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher(folders.map(() => signedIn)), api: fakeApi(fakeIdToken({ exp: inAnHour }), EMAIL) });

  for (const folder of folders) {
    await sandbox.store.remove(SERVER);
    const run = await sandbox.run(['login', '--profile', folder]);
    t.is(run.code, 0, `${folder}: ${run.stderr}`);
  }
});

test('logout --all deletes a Chromium profile (it has "Local State") or an empty folder, and refuses anything else (exit 2) deleting nothing', async (t) => {
  const root = await tempFolder(t, 'logout-all-');
  const notes = path.join(root, 'notes');
  await mkdir(notes);
  await writeFile(path.join(notes, 'todo.txt'), 'keep me');
  const file = path.join(root, 'notes.txt');
  await writeFile(file, 'keep me too');
  const profile = path.join(root, 'profile');
  await mkdir(path.join(profile, 'Default'), { recursive: true });
  await writeFile(path.join(profile, 'Local State'), '{}');
  const empty = path.join(root, 'empty');
  await mkdir(empty);
  const sandbox = await cliSandbox(t, { launcher: new FakeLauncher([]), api: fakeApi('unused', EMAIL) });
  await sandbox.store.write(SERVER, fakeIdToken({ exp: inAnHour }));

  for (const foreign of [notes, file, root]) {
    const run = await sandbox.run(['logout', '--all', '--profile', foreign]);
    t.is(run.code, 2);
    t.is(run.stderr, `koa-oidc-sso: ${foreign} is neither empty nor a browser profile (no Chromium "Local State" file in it), so logout --all deletes nothing: check --profile\n`);
  }
  t.is(await readFile(path.join(notes, 'todo.txt'), 'utf8'), 'keep me');
  t.is(await readFile(file, 'utf8'), 'keep me too');
  t.truthy(await sandbox.store.read(SERVER), 'the refusal left the token too');

  for (const dir of [profile, empty]) {
    const run = await sandbox.run(['logout', '--all', '--profile', dir]);
    t.is(run.code, 0, run.stderr);
    t.regex(run.stderr, /Deleted the browser profile/);
    await t.throwsAsync(stat(dir), { code: 'ENOENT' });
  }
  t.is(await sandbox.store.read(SERVER), undefined);

  // A --profile link to a profile: the profile is deleted, not only the link.
  const target = path.join(root, 'linked-profile');
  await mkdir(target);
  await writeFile(path.join(target, 'Local State'), '{}');
  const link = path.join(root, 'link');
  await symlink(target, link);
  const run = await sandbox.run(['logout', '--all', '--profile', link]);
  t.is(run.code, 0, run.stderr);
  await t.throwsAsync(stat(target), { code: 'ENOENT' });
  await t.throwsAsync(lstat(link), { code: 'ENOENT' });
});
