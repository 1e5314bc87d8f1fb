import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { TEST_IDS } from '../../shared/constants.ts';
import { cookieClient, signIn } from '../helpers/browserless-login.ts';
import { listeningPort } from '../helpers/server-process.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('npm start\'s build runs as plain JavaScript: the development server starts and signs a user in', async (t) => {
  // Built as `npm start` builds it (tsconfig.build.json), into a folder of its own that finds the project's packages.
  const root = mkdtempSync(path.join(tmpdir(), 'sso-build-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ type: 'module' })); // as in the project
  await promisify(execFile)(process.execPath, [TSC, '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', path.join(root, 'dist')]);

  const child = spawn(process.execPath, [path.join(root, 'dist/server/main.js')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', XDG_DATA_HOME: root, HOME: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const port = await listeningPort(child);

  // The modules loaded on demand (the development IdP, simple-oauth2) resolve in the build too.
  const base = `http://localhost:${port}`;
  const { http } = cookieClient();
  t.is((await http.get(`${base}/user/id`)).statusCode, 401);
  t.true((await signIn(base, 'built@example.com', { http })).body.includes(`data-testid="${TEST_IDS.loginSuccess}"`));
  t.is((await http.get(`${base}/user/id`)).body, 'built@example.com');
  child.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 0);
});
