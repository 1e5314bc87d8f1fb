import test from 'ava';
import { helperCommand, invocation } from '../../login-helper/invocation.ts';

test('the helper names itself as it was run: npm run login, npx koa-oidc-sso, or the linked command', (t) => {
  const npmScript = { npm_lifecycle_event: 'login', npm_package_name: 'koa-oidc-sso', npm_command: 'run-script' };
  t.is(invocation(npmScript, '/p/login-helper/main.ts'), 'npm run login');
  // Another package's script called login is not this one.
  t.is(invocation({ ...npmScript, npm_package_name: 'my-app' }, '/p/login-helper/main.ts'), 'koa-oidc-sso');
  t.is(invocation({ npm_command: 'exec', npm_lifecycle_event: 'npx' }, '/p/node_modules/.bin/koa-oidc-sso'), 'npx koa-oidc-sso');
  t.is(invocation({ npm_command: 'exec', npm_lifecycle_event: 'npx' }, '/p/bin/koa-oidc-sso.js'), 'npx koa-oidc-sso');
  // npx running something else (a test runner) that runs the helper's code.
  t.is(invocation({ npm_command: 'exec', npm_lifecycle_event: 'npx' }, '/p/node_modules/ava/lib/worker/base.js'), 'koa-oidc-sso');
  t.is(invocation({}, '/usr/local/bin/koa-oidc-sso'), 'koa-oidc-sso');
  t.is(invocation({}, undefined), 'koa-oidc-sso');
});

test('the command line for a subcommand: login is npm run login itself, others go after --', (t) => {
  t.is(helperCommand('login', 'npm run login'), 'npm run login');
  t.is(helperCommand('logout --all', 'npm run login'), 'npm run login -- logout --all');
  t.is(helperCommand('login', 'npx koa-oidc-sso'), 'npx koa-oidc-sso login');
  t.is(helperCommand('token', 'koa-oidc-sso'), 'koa-oidc-sso token');
});
