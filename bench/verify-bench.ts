/**
 * npm run bench: requests/s and latency of a bare Koa route versus the SSO server answering
 * GET /user/id with a valid RS256 Bearer token from a local OpenID provider, side by side in
 * interleaved rounds on 127.0.0.1. Every process it starts is stopped before it exits.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import autocannon from 'autocannon';
import { startIdp, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../test/helpers/idp.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 50;
const SESSION_KEY = 'bench-session-key-0123456789abcdef0123456789';

interface Stats {
  rss: number;
  peakRss: number;
  /** CPU time the process has used so far (user + system), in microseconds. */
  cpuMicros: number;
}

interface Child {
  process: ChildProcess;
  url: string;
  stats(): Promise<Stats>;
  stop(): Promise<void>;
}

async function startChild(role: 'bare' | 'sso', env: Record<string, string> = {}): Promise<Child> {
  const child = fork(new URL('./processes.ts', import.meta.url).pathname, [role], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ port: number }];
  return {
    process: child,
    url: `http://127.0.0.1:${ready.port}`,
    async stats() {
      child.send({ type: 'stats' });
      const [stats] = (await once(child, 'message')) as [Stats];
      return stats;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Loads one server; also measures the server's CPU time per request, which other load on the machine skews less. */
async function load(target: Child, token?: string) {
  const cpuBefore = (await target.stats()).cpuMicros;
  const result = await autocannon({
    url: `${target.url}/user/id`,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${target.url}: ${result.non2xx} non-2xx responses and ${result.errors} errors during the load`);
  }
  const cpuMicros = (await target.stats()).cpuMicros - cpuBefore;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuPerRequest: cpuMicros / result.requests.total };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const children: Child[] = [];
const idp = await startIdp({ idTokenTtlSec: 3600 });
try {
  const bare = await startChild('bare');
  children.push(bare);
  const sso = await startChild('sso', {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: TEST_CLIENT_ID,
    OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
    SESSION_KEYS: SESSION_KEY,
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  });
  children.push(sso);

  const now = Math.floor(Date.now() / 1000);
  const token = idp.sign({ iss: idp.issuer, sub: 'bench', aud: TEST_CLIENT_ID, iat: now, exp: now + 3600, email: 'bench@example.com' });

  // Warm-up: JIT, and the server's first discovery and JWKS fetches (counted separately).
  await load(bare);
  await load(sso, token);
  const countIdp = (suffix: string) => idp.requests.filter((path) => path.endsWith(suffix)).length;
  const before = { discovery: countIdp('/openid-configuration'), jwks: countIdp('/jwks') };

  const rounds: Array<{ bare: Awaited<ReturnType<typeof load>>; sso: Awaited<ReturnType<typeof load>> }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const bareResult = await load(bare);
    const ssoResult = await load(sso, token);
    rounds.push({ bare: bareResult, sso: ssoResult });
    process.stderr.write(
      `round ${round}/${ROUNDS}: bare ${bareResult.rps.toFixed(0)} req/s (${bareResult.cpuPerRequest.toFixed(1)} µs CPU each), ` +
        `sso ${ssoResult.rps.toFixed(0)} req/s (${ssoResult.cpuPerRequest.toFixed(1)} µs)\n`,
    );
  }
  const during = { discovery: countIdp('/openid-configuration') - before.discovery, jwks: countIdp('/jwks') - before.jwks };
  const { peakRss } = await sso.stats();

  type Result = Awaited<ReturnType<typeof load>>;
  const row = (name: string, pick: (round: (typeof rounds)[number]) => Result) => {
    const m = (field: keyof Result) => median(rounds.map((r) => pick(r)[field]));
    return `| ${name} | ${m('rps').toFixed(0)} | ${m('p50').toFixed(1)} | ${m('p99').toFixed(1)} | ${m('cpuPerRequest').toFixed(1)} |`;
  };
  const ratio = median(rounds.map((r) => r.sso.rps / r.bare.rps));
  const p99Ratio = median(rounds.map((r) => r.sso.p99 / Math.max(r.bare.p99, 1)));

  console.log(`\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s each\n`);
  console.log('| route | requests/s | p50 ms | p99 ms | server CPU µs/request |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(row('bare Koa route', (r) => r.bare));
  console.log(row('SSO server, GET /user/id with Bearer RS256', (r) => r.sso));
  console.log(`\nratio server/bare (median of rounds): ${ratio.toFixed(2)}×, p99 ratio ${p99Ratio.toFixed(2)}×`);
  console.log(`IdP requests during the load: ${during.jwks} JWKS, ${during.discovery} discovery`);
  console.log(`server peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MB`);
} finally {
  await Promise.all(children.map((child) => child.stop()));
  await idp.close();
}
