import path from 'node:path';

/**
 * How the user ran the helper, so that its advice names a command they can type: `npm run login`
 * inside the project, `npx koa-oidc-sso` there too, and `koa-oidc-sso` once `npm link`ed (README).
 * npm tells its scripts which script and which npm command they run under.
 */
export function invocation(env: NodeJS.ProcessEnv, script: string | undefined): 'npm run login' | 'npx koa-oidc-sso' | 'koa-oidc-sso' {
  if (env.npm_lifecycle_event === 'login' && env.npm_package_name === 'koa-oidc-sso') return 'npm run login';
  if (env.npm_command === 'exec' && script !== undefined && /^koa-oidc-sso(\.js)?$/.test(path.basename(script))) return 'npx koa-oidc-sso';
  return 'koa-oidc-sso';
}

const HOW_RUN = invocation(process.env, process.argv[1]);

/** The command line that runs `subcommand`, as this user runs the helper. */
export function helperCommand(subcommand: string, howRun = HOW_RUN): string {
  if (howRun !== 'npm run login') return `${howRun} ${subcommand}`;
  // login is the helper's default command; anything else goes after npm's `--`.
  return subcommand === 'login' ? howRun : `${howRun} -- ${subcommand}`;
}
