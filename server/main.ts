import { config as loadDotenv } from 'dotenv';
import { ConfigError } from './config.ts';
import { startServer } from './start.ts';

// A .env file in the working directory fills in variables that are not already set.
loadDotenv({ quiet: true });

try {
  const server = await startServer({ env: process.env });
  if (server.devIdp) {
    process.stderr.write(
      [
        '',
        '  ==================================================================',
        `   DEVELOPMENT IdP at ${server.url}/idp: any email signs in, no password.`,
        '   Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET for a real one.',
        `   Sign in: ${server.url}/login`,
        `   From a terminal: npm run --silent login -- --server ${server.url}`,
        '  ==================================================================',
        '',
        '',
      ].join('\n'),
    );
  }
  // A signal can come twice (Ctrl-C or systemd signal the whole group, and npm passes it on
  // again): the repeat must not kill the shutdown in progress, which ends within 5 s anyway.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`koa-oidc-sso: ${signal} received, shutting down\n`);
    server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  if (error instanceof ConfigError) {
    const problems = error.message.split('\n');
    const report = problems.length === 1 ? `configuration error: ${error.message}` : `configuration errors:\n${problems.map((problem) => `  ${problem}`).join('\n')}`;
    process.stderr.write(`koa-oidc-sso: ${report}\n`);
    process.exit(2);
  }
  const listenError = error as NodeJS.ErrnoException;
  if (['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(listenError?.code ?? '')) {
    process.stderr.write(`koa-oidc-sso: cannot listen (check HOST and PORT): ${listenError.message}\n`);
    process.exit(1);
  }
  throw error;
}
