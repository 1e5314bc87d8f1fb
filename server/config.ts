import { z } from 'zod';
import { DEFAULT_PORT } from '../shared/constants.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The server's validated, frozen configuration. Handlers never read process.env. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Public origin of this server (no path); undefined = http://localhost:<port>. */
  readonly publicUrl: URL | undefined;
  readonly trustProxy: boolean;
  readonly production: boolean;
  readonly logLevel: string;
  /** The identity provider; undefined = the embedded development IdP. */
  readonly oidc: OidcConfig | undefined;
  readonly scopes: readonly string[];
  /** Session signing keys: the first signs, all verify. Undefined = generated development key. */
  readonly sessionKeys: readonly string[] | undefined;
}

export interface OidcConfig {
  /** The discovery document's URL. */
  readonly discoveryUrl: URL;
  /** Set when configured through OIDC_ISSUER: the discovered issuer must equal it (OpenID Connect Discovery 4.3). */
  readonly expectedIssuer: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  /** How the client authenticates at the token endpoint; undefined = chosen from discovery. */
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod | undefined;
}

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** A configuration value that is missing or wrong; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIN_SESSION_KEY_LENGTH = 32;
const WELL_KNOWN_PATH = '/.well-known/openid-configuration';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''], { error: 'must be true or false (also 1/0, yes/no)' })
  .transform((value) => ['true', '1', 'yes'].includes(value));

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).transform((value) => new URL(value));

const nonBlank = z.string().trim().min(1, { error: 'must not be empty' });
/**
 * RFC 6749 Appendix A: a client id or secret is printable ASCII. The OAuth client refuses
 * anything else only at the first sign-in, quoting the value: refused here, unquoted.
 */
const clientCredential = nonBlank.regex(/^[\x20-\x7E]+$/, {
  error: 'must be printable ASCII (RFC 6749 Appendix A): look for an accented letter, a typographic quote or an invisible character copied with it',
});

const envSchema = z.object({
  NODE_ENV: z
    .string()
    .refine((value) => value === 'production' || !/^prod/i.test(value.trim()), {
      // A near miss would otherwise run as development: with no IdP set, the development IdP.
      error: 'must be exactly "production" to run in production, or unset for development',
    })
    .optional(),
  // Digits only: a number coercion would also take 0x1388 or 5e3 for 5000.
  PORT: z
    .string()
    .regex(/^\d{1,5}$/, { error: 'must be a port number (digits only)' })
    .transform(Number)
    .pipe(z.number().max(65535, { error: 'must be between 0 and 65535' }))
    .default(DEFAULT_PORT),
  HOST: nonBlank.default('127.0.0.1'),
  PUBLIC_URL: httpUrl
    .refine((url) => url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password, {
      error: 'must be an origin such as https://sso.example.com (no path, query or credentials)',
    })
    .optional(),
  TRUST_PROXY: booleanFlag.default(false),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  OIDC_ISSUER: httpUrl
    .refine((url) => !url.pathname.includes('/.well-known/'), {
      error: 'is the issuer, not its discovery document: leave out /.well-known/…, or set OIDC_WELL_KNOWN_URL to the document instead',
    })
    .optional(),
  OIDC_WELL_KNOWN_URL: httpUrl.optional(),
  OIDC_CLIENT_ID: clientCredential.optional(),
  OIDC_CLIENT_SECRET: clientCredential.optional(),
  OIDC_TOKEN_ENDPOINT_AUTH_METHOD: z
    .enum(['client_secret_basic', 'client_secret_post'], { error: 'must be client_secret_basic or client_secret_post' })
    .optional(),
  OIDC_SCOPES: z
    .string()
    .default('openid profile email')
    .transform((value) => [...new Set(value.split(/[\s,]+/).filter(Boolean))])
    .refine((scopes) => scopes.includes('openid'), { error: 'must include "openid"' })
    .refine((scopes) => scopes.every((scope) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)), {
      error: 'must be scope tokens separated by spaces (RFC 6749 3.3)',
    }),
  SESSION_KEYS: z
    .string()
    .transform((value) => value.split(',').map((key) => key.trim()).filter(Boolean))
    .refine((keys) => keys.length > 0, { error: 'must list at least one key' })
    .refine((keys) => keys.every((key) => key.length >= MIN_SESSION_KEY_LENGTH), {
      error: `every key must be at least ${MIN_SESSION_KEY_LENGTH} characters (e.g. openssl rand -base64 32)`,
    })
    .optional(),
});

/** Treats empty variables as unset, as a `.env` line such as `OIDC_ISSUER=` intends. */
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== ''),
  );
}

/**
 * A warning about where sign-in sends browsers, undefined when there is none:
 * - other machines can connect (HOST is not loopback) but PUBLIC_URL is unset, so their browsers
 *   would be sent back to http://localhost;
 * - production with a loopback PUBLIC_URL (allowed, for trying production settings locally):
 *   behind a TLS proxy this is the forgotten setting that sends every user to localhost.
 */
export function publicUrlWarning(config: Pick<Config, 'host' | 'publicUrl' | 'production'>): string | undefined {
  if (config.production && config.publicUrl && isLoopback(config.publicUrl)) {
    return `NODE_ENV=production, but PUBLIC_URL is ${config.publicUrl.origin}, a loopback address: only a browser on this machine can sign in. Behind a proxy, set PUBLIC_URL to the https address users reach`;
  }
  const hostUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}`;
  if (config.publicUrl || !URL.canParse(hostUrl) || isLoopback(new URL(hostUrl))) return undefined;
  return `HOST=${config.host} accepts other machines, but PUBLIC_URL is not set: sign-in sends their browsers to http://localhost. Set PUBLIC_URL to the address they reach this server at`;
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

function discoveryUrlFor(issuer: URL): URL {
  const url = new URL(issuer);
  url.pathname = url.pathname.replace(/\/$/, '') + WELL_KNOWN_PATH;
  return url;
}

/**
 * Parses and validates the environment once, at start-up.
 * @throws ConfigError naming every bad or missing variable and what is wrong with it (one per
 *   line), so that a new deployment learns all it lacks from one start, not one restart each.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'configuration')}: ${issue.message}`).join('\n'));
  }
  const vars = parsed.data;
  const production = vars.NODE_ENV === 'production';
  const problems: string[] = [];

  if (production && !vars.SESSION_KEYS) {
    problems.push('SESSION_KEYS is required when NODE_ENV=production (comma-separated, 32+ characters each)');
  }
  if (production) {
    // Production sends the client secret to the IdP and sets session cookies: both need TLS.
    for (const [variable, url] of [['OIDC_ISSUER', vars.OIDC_ISSUER], ['OIDC_WELL_KNOWN_URL', vars.OIDC_WELL_KNOWN_URL], ['PUBLIC_URL', vars.PUBLIC_URL]] as const) {
      if (url && url.protocol !== 'https:' && !isLoopback(url)) {
        problems.push(`${variable}: must be an https URL when NODE_ENV=production (http is allowed for localhost only)`);
      }
    }
  }
  if (vars.OIDC_ISSUER && vars.OIDC_WELL_KNOWN_URL) {
    problems.push('OIDC_ISSUER and OIDC_WELL_KNOWN_URL are both set: set only one of them');
  }

  const clientSetting = (['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_TOKEN_ENDPOINT_AUTH_METHOD'] as const).find((name) => vars[name] !== undefined);
  const identityProvider = vars.OIDC_ISSUER ?? vars.OIDC_WELL_KNOWN_URL;
  if (identityProvider) {
    if (!vars.OIDC_CLIENT_ID) problems.push('OIDC_CLIENT_ID is required when an identity provider is configured');
    if (!vars.OIDC_CLIENT_SECRET) problems.push('OIDC_CLIENT_SECRET is required when an identity provider is configured');
  } else if (clientSetting) {
    // Half a configuration would otherwise start the development IdP, and its sign-in form would
    // let anyone in as anybody where a real IdP was meant.
    problems.push(
      `${clientSetting} is set but no identity provider is: set OIDC_ISSUER (or OIDC_WELL_KNOWN_URL) too, or unset ${clientSetting} to use the development IdP`,
    );
  } else if (production) {
    problems.push('OIDC_ISSUER (or OIDC_WELL_KNOWN_URL) is required when NODE_ENV=production: the development IdP never runs in production');
  }

  if (production && !vars.PUBLIC_URL) {
    problems.push('PUBLIC_URL is required when NODE_ENV=production: the https address browsers reach this server at (redirect_uri is PUBLIC_URL/callback)');
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));

  const oidc: OidcConfig | undefined =
    identityProvider && vars.OIDC_CLIENT_ID && vars.OIDC_CLIENT_SECRET
      ? Object.freeze({
          discoveryUrl: vars.OIDC_ISSUER ? discoveryUrlFor(vars.OIDC_ISSUER) : identityProvider,
          expectedIssuer: vars.OIDC_ISSUER ? env.OIDC_ISSUER?.trim() : undefined,
          clientId: vars.OIDC_CLIENT_ID,
          clientSecret: vars.OIDC_CLIENT_SECRET,
          tokenEndpointAuthMethod: vars.OIDC_TOKEN_ENDPOINT_AUTH_METHOD,
        })
      : undefined;

  return Object.freeze({
    port: vars.PORT,
    host: vars.HOST,
    publicUrl: vars.PUBLIC_URL,
    trustProxy: vars.TRUST_PROXY,
    production,
    logLevel: vars.LOG_LEVEL,
    oidc,
    scopes: Object.freeze(vars.OIDC_SCOPES),
    sessionKeys: vars.SESSION_KEYS ? Object.freeze(vars.SESSION_KEYS) : undefined,
  });
}
