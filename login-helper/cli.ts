import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_SERVER_URL } from '../shared/constants.ts';
import { login, logout, token, whoami } from './commands.ts';
import { ERROR_CODES, LoginError, exitCodeTable } from './errors.ts';
import { DEFAULT_TIMEOUT_SECONDS, defaultProfileDir, parseTimeout, resolveSettings, type GlobalOptions, type ResolvedSettings } from './settings.ts';
import type { Effects } from './sign-in.ts';
import { printable } from './terminal-text.ts';

/** What the CLI needs from the process; main.ts passes the real one. */
export interface CliHost {
  env: Record<string, string | undefined>;
  homeDir: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Builds the side effects once the settings are known. */
  effects(settings: ResolvedSettings, options: GlobalOptions): Effects;
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const FILES_HELP = `
Files:
  token cache     \${XDG_CONFIG_HOME:-~/.config}/koa-oidc-sso/token-<hash of server URL>.json (mode 0600)
  browser profile ${defaultProfileDir()} (or --profile)`;

/**
 * Parses `argv` (as process.argv: node, script, args…), runs the command and
 * returns the exit code. Expected failures print one line on stderr; --verbose
 * adds the stack and causes.
 */
export async function runCli(argv: readonly string[], host: CliHost): Promise<number> {
  const program = buildProgram(host);
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : ERROR_CODES.USAGE.exitCode; // commander printed it
    const failure = error instanceof LoginError ? error : new LoginError('INTERNAL', `Unexpected error: ${String(error)}`, { cause: error });
    // Messages quote what the server said, cleaned where they do; cleaning the line again keeps any one that missed it harmless.
    host.stderr(`koa-oidc-sso: ${printable(failure.message, Infinity)}\n`);
    if (argv.includes('--verbose')) host.stderr(`${describe(error)}\n`);
    return failure.exitCode;
  }
}

function buildProgram(host: CliHost): Command {
  const program = new Command('koa-oidc-sso')
    .description('Sign in to a koa-oidc-sso server through your identity provider, in a small Chromium window, and cache the id_token.')
    .option('--server <url>', `server URL (default: $SSO_SERVER, else ${DEFAULT_SERVER_URL})`)
    .version(version)
    .option('--headless', 'no window: sign in with the saved browser profile only (exit 9 when the IdP wants you to sign in)')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the sign-in').default(DEFAULT_TIMEOUT_SECONDS).argParser(timeoutArgument))
    .option('--profile <dir>', 'browser profile folder, kept between runs so the IdP remembers you')
    .option('--browser <path>', "Chromium or Chrome executable, a path or a name on PATH (default: $PUPPETEER_EXECUTABLE_PATH, Puppeteer's Chrome, then an installed one)")
    .option('--verbose', 'show details (stack, causes) of errors')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: host.stdout, writeErr: host.stderr })
    .exitOverride()
    .addHelpText('after', `${FILES_HELP}\n\n${exitCodeTable()}\n`);

  const run = (action: (effects: Effects, settings: ResolvedSettings, local: Record<string, boolean>) => Promise<void>) =>
    async (local: Record<string, boolean>, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const settings = resolveSettings(options, host.env, host.homeDir);
      await action(host.effects(settings, options), settings, local);
    };

  program
    .command('login', { isDefault: true })
    .description('open the sign-in window, then print your email (the default command)')
    .action(run((effects, settings) => login(effects, settings)));
  program
    .command('token')
    .description('print a valid id_token; signs in again (silently if possible) when it expires within 60 s')
    .action(run((effects, settings) => token(effects, settings)));
  program
    .command('whoami')
    .description('print the email of the cached token (never opens a browser)')
    .option('--json', 'print the claims from GET /user/me instead')
    .action(run((effects, settings, local) => whoami(effects, settings, { json: local.json === true })));
  program
    .command('logout')
    .description('delete the cached token')
    .option('--all', 'also end the server session and delete the browser profile')
    .action(run((effects, settings, local) => logout(effects, settings, { all: local.all === true })));
  for (const command of program.commands) {
    command.configureOutput({ writeOut: host.stdout, writeErr: host.stderr }).exitOverride();
  }
  // login is the default command, so commander hands a misspelt command to it as an argument
  // ("too many arguments for 'login'"): name it as the unknown command it is instead.
  program.hook('preSubcommand', (parent, subcommand) => {
    const [first] = parent.args;
    if (first === undefined || first.startsWith('-') || first === subcommand.name()) return;
    const names = parent.commands.map((command) => command.name()).join(', ');
    parent.error(`error: unknown command '${first}' (the commands are ${names}; see --help)`, { code: 'commander.unknownCommand' });
  });
  return program;
}

function timeoutArgument(value: string): number {
  try {
    return parseTimeout(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Stack of the error and of each cause, for --verbose. Never util.inspect: got errors hold request
 * headers. Stacks start with the message, which may quote the server, so each line is cleaned as
 * the one-line message is; the line breaks and the indentation of the "at" lines stay.
 */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current !== undefined && parts.length < 5; current = (current as { cause?: unknown }).cause) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    if (!(current instanceof Error)) break;
  }
  return parts.join('\nCaused by: ').split('\n').map(printableIndented).join('\n');
}

/** `line` as {@link printable} makes it, keeping its leading spaces (a stack's "    at"). */
function printableIndented(line: string): string {
  const indentation = /^ */.exec(line)?.[0] ?? '';
  return `${indentation}${printable(line, Infinity)}`;
}
