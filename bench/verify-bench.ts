/**
 * npm run bench: requests/s and latency of a bare Koa route versus the SSO server answering
 * GET /user/id with a valid RS256 Bearer token from a local OpenID provider, side by side in
 * interleaved rounds on 127.0.0.1. Every process it starts is stopped before it exits.
 *
 * BENCH_ROUNDS (default 8) and BENCH_SECONDS (default 4) set the length of the run. BENCH_CONTROL=1
 * adds a control: a second server exactly like the LOG_LEVEL=warn one, in its own process. How far
 * apart the two identical servers come out is how much this machine's noise moves a ratio.
 *
 * BENCH_REQUEST_LINES=1 measures instead what the per-request log line costs, in one server
 * process whose request lines go on and off every 50 ms under load: the two phases meet the same
 * machine, so its drift, which moves the ratios between processes, cancels out.
 * BENCH_SAME_PROCESS=1 compares the server with the bare route the same way: both answer, taking
 * turns every 50 ms, in one process under one load (with request lines, and at LOG_LEVEL=warn).
 *
 * The servers run as `npm start` runs them: compiled JavaScript from dist/, which `npm run bench`
 * builds first, with no TypeScript loader in their processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startIdp, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../test/helpers/idp.ts';

/** A setting from the environment that must be a number of at least `min` (a whole one when `integer`). */
function numberSetting(name: string, fallback: number, { min, integer }: { min: number; integer: boolean }): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    process.stderr.write(`npm run bench: ${name} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}, not ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return value;
}

const ROUNDS = numberSetting('BENCH_ROUNDS', 8, { min: 1, integer: true });
const SECONDS = numberSetting('BENCH_SECONDS', 4, { min: 1, integer: false });
const CONNECTIONS = 50;
const CONTROL = process.env.BENCH_CONTROL === '1';
const REQUEST_LINES = process.env.BENCH_REQUEST_LINES === '1';
const SAME_PROCESS = process.env.BENCH_SAME_PROCESS === '1';

interface Phase {
  cpuMicros: number;
  requests: number;
  /** How long the phase has lasted in all: timers run late, and later in the slower phase. */
  ms: number;
}

interface Stats {
  rss: number;
  peakRss: number;
  /** CPU time the process has used so far (user + system), in microseconds. */
  cpuMicros: number;
  idpRequests: { discovery: number; jwks: number };
  /** A process that takes turns between two phases: each phase's totals so far. */
  phases: Record<string, Phase>;
}

interface Contender {
  name: string;
  /** A short name for the per-round progress lines. */
  label: string;
  url: string;
  token?: string;
  stats(): Promise<Stats>;
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
}

const PROCESSES = fileURLToPath(new URL('../dist/bench/processes.js', import.meta.url));
if (!existsSync(PROCESSES)) throw new Error(`${PROCESSES} is missing: run the benchmark with npm run bench, which builds it`);

async function startContender([name, label]: [string, string], role: 'bare' | 'sso' | 'sso-log-toggle' | 'sso-or-bare', env: Record<string, string> = {}, token?: string): Promise<Contender> {
  const child = fork(PROCESSES, [role], {
    execArgv: [], // not this process's --import tsx
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.add(child);
  // A child that dies while starting would otherwise leave this wait hanging.
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`the ${role} process exited (${String(code)}) before it was ready`))),
  ])) as [{ port: number }];
  return {
    name,
    label,
    url: `http://127.0.0.1:${ready.port}/user/id`,
    ...(token ? { token } : {}),
    async stats() {
      child.send({ type: 'stats' });
      const [stats] = (await once(child, 'message')) as [Stats];
      return stats;
    },
  };
}

/** Every process started: all are stopped at the end, whether or not they got as far as ready. */
const children = new Set<ChildProcess>();

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Loads one server; also measures its CPU time per request, which other load on the machine skews less than requests/s. */
async function load(contender: Contender, seconds = SECONDS): Promise<Result> {
  const cpuBefore = (await contender.stats()).cpuMicros;
  const result = await autocannon({
    url: contender.url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: contender.token ? { authorization: `Bearer ${contender.token}` } : {},
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${contender.name}: ${result.non2xx} non-2xx responses and ${result.errors} errors during the load`);
  }
  const cpuMicros = (await contender.stats()).cpuMicros - cpuBefore;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuPerRequest: cpuMicros / result.requests.total };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const contenders: Contender[] = [];

/** The main table: the bare route, the server with and without request lines (and the control). */
async function compareWithBare(ssoEnv: Record<string, string>, token: string): Promise<void> {
  const bare = await startContender(['bare Koa route', 'bare'], 'bare');
  const sso = await startContender(['SSO server, Bearer RS256 (request log on)', 'log on'], 'sso', { ...ssoEnv, LOG_LEVEL: 'info' }, token);
  const quiet = await startContender(['SSO server, Bearer RS256, LOG_LEVEL=warn', 'warn'], 'sso', { ...ssoEnv, LOG_LEVEL: 'warn' }, token);
  contenders.push(bare, sso, quiet);
  if (CONTROL) contenders.push(await startContender(['control: the LOG_LEVEL=warn server again, another process', 'control'], 'sso', { ...ssoEnv, LOG_LEVEL: 'warn' }, token));

  // Warm-up: the JIT, and each server's first discovery and JWKS fetches.
  for (const contender of contenders) await load(contender, 2);

  const rounds: Result[][] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts with the next contender: none always runs right after the same other one.
    const results: Result[] = [];
    for (let step = 0; step < contenders.length; step++) {
      const index = (round - 1 + step) % contenders.length;
      results[index] = await load(contenders[index]!);
    }
    rounds.push(results);
    process.stderr.write(`round ${round}/${ROUNDS}: ${results.map((r, index) => `${contenders[index]!.label} ${r.rps.toFixed(0)}`).join(', ')} req/s\n`);
  }

  const column = (index: number, field: keyof Result) => median(rounds.map((results) => results[index]![field]));
  const ratios = (index: number, field: 'rps' | 'p99') => rounds.map((results) => results[index]![field] / Math.max(results[0]![field], 1));
  const ratio = (index: number, field: 'rps' | 'p99') => median(ratios(index, field));
  // The spread of the per-round ratios: on a machine whose speed drifts, the median alone hides how much.
  const ratioRange = (index: number) => `${Math.min(...ratios(index, 'rps')).toFixed(2)}-${Math.max(...ratios(index, 'rps')).toFixed(2)}`;

  console.log(machineLine(`${ROUNDS} interleaved rounds of ${SECONDS} s`));
  console.log('| GET /user/id | requests/s | p50 ms | p99 ms | server CPU µs/request | × bare req/s | lowest-highest round | × bare p99 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  contenders.forEach((contender, index) => {
    const cells = [column(index, 'rps').toFixed(0), column(index, 'p50').toFixed(0), column(index, 'p99').toFixed(0), column(index, 'cpuPerRequest').toFixed(1)];
    const relative = index === 0 ? ['1.00', '', '1.00'] : [ratio(index, 'rps').toFixed(2), ratioRange(index), ratio(index, 'p99').toFixed(2)];
    console.log(`| ${contender.name} | ${cells.join(' | ')} | ${relative.join(' | ')} |`);
  });
  console.log('');
  for (const contender of contenders.slice(1)) {
    const stats = await contender.stats();
    console.log(
      `${contender.name}: ${stats.idpRequests.jwks} JWKS and ${stats.idpRequests.discovery} discovery requests in all (warm-up included); ` +
        `peak RSS ${(stats.peakRss / 1024 / 1024).toFixed(0)} MB`,
    );
  }
}

/** One round of a process that takes turns: each phase's CPU per request, and the first's requests/s × the second's. */
interface TurnsRound {
  cpuFirst: number;
  cpuSecond: number;
  requestsRatio: number;
}

/** Loads a process that takes turns between two phases for one round, and compares the phases. */
async function loadTurns(contender: Contender, [first, second]: [string, string]): Promise<TurnsRound> {
  const before = (await contender.stats()).phases;
  await load(contender);
  const after = (await contender.stats()).phases;
  const delta = (phase: string) => ({
    cpuMicros: after[phase]!.cpuMicros - before[phase]!.cpuMicros,
    requests: after[phase]!.requests - before[phase]!.requests,
    ms: after[phase]!.ms - before[phase]!.ms,
  });
  const [a, b] = [delta(first), delta(second)];
  if (a.requests === 0 || b.requests === 0) throw new Error(`${contender.name}: a phase answered no request during the load`);
  return { cpuFirst: a.cpuMicros / a.requests, cpuSecond: b.cpuMicros / b.requests, requestsRatio: a.requests / a.ms / (b.requests / b.ms) };
}

/** The medians of rounds of loadTurns, as a table row: first's CPU, second's CPU, ratio, range. */
function turnsRow(rounds: TurnsRound[]): string[] {
  const ratios = rounds.map((round) => round.requestsRatio);
  return [
    median(rounds.map((round) => round.cpuFirst)).toFixed(1),
    median(rounds.map((round) => round.cpuSecond)).toFixed(1),
    median(ratios).toFixed(2),
    `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`,
  ];
}

function machineLine(what: string): string {
  return `\n${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}; ${CONNECTIONS} connections, ${what}; medians\n`;
}

/** BENCH_REQUEST_LINES=1: one server whose request lines go on and off every 50 ms under load. */
async function measureRequestLines(ssoEnv: Record<string, string>, token: string): Promise<void> {
  const server = await startContender(['SSO server, request lines on and off every 50 ms', 'lines on/off'], 'sso-log-toggle', ssoEnv, token);
  contenders.push(server);
  await load(server, 2); // warm-up
  const rounds: TurnsRound[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const result = await loadTurns(server, ['lines', 'noLines']);
    rounds.push(result);
    process.stderr.write(`round ${round}/${ROUNDS}: ${result.cpuFirst.toFixed(1)} µs/request with lines, ${result.cpuSecond.toFixed(1)} without; requests ${result.requestsRatio.toFixed(2)}×\n`);
  }
  const [cpuWith, cpuWithout, ratio, range] = turnsRow(rounds);
  const costs = rounds.map((round) => round.cpuFirst - round.cpuSecond);
  console.log(machineLine(`${ROUNDS} rounds of ${SECONDS} s`));
  console.log('| GET /user/id, Bearer RS256, one server process | server CPU µs/request | requests/s × lines off | lowest-highest round |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| request lines off (warn) | ${cpuWithout} | 1.00 | |`);
  console.log(`| request lines on (info) | ${cpuWith} | ${ratio} | ${range} |`);
  console.log(`\nThe request line costs ${median(costs).toFixed(1)} µs of server CPU per request (rounds: ${Math.min(...costs).toFixed(1)}-${Math.max(...costs).toFixed(1)}).`);
}

/**
 * BENCH_SAME_PROCESS=1: the server and the bare route take turns every 50 ms in one process under
 * one load (the bare route ignores the Bearer header), once with request lines and once at
 * LOG_LEVEL=warn, in interleaved rounds.
 */
async function compareInOneProcess(ssoEnv: Record<string, string>, token: string): Promise<void> {
  const pairs = [
    await startContender(['SSO server (request log on) / bare route', 'log on'], 'sso-or-bare', { ...ssoEnv, LOG_LEVEL: 'info' }, token),
    await startContender(['SSO server, LOG_LEVEL=warn / bare route', 'warn'], 'sso-or-bare', { ...ssoEnv, LOG_LEVEL: 'warn' }, token),
  ];
  contenders.push(...pairs);
  for (const pair of pairs) await load(pair, 2); // warm-up
  const rounds: TurnsRound[][] = pairs.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    const results: string[] = [];
    for (let step = 0; step < pairs.length; step++) {
      const index = (round - 1 + step) % pairs.length;
      const result = await loadTurns(pairs[index]!, ['sso', 'bare']);
      rounds[index]!.push(result);
      results[index] = `${pairs[index]!.label} ${result.requestsRatio.toFixed(2)}×`;
    }
    process.stderr.write(`round ${round}/${ROUNDS}: server/bare requests ${results.join(', ')}\n`);
  }
  console.log(machineLine(`${ROUNDS} interleaved rounds of ${SECONDS} s, server and bare route taking turns every 50 ms in one process`));
  console.log('| GET /user/id | server CPU µs/request | bare route CPU µs/request | server requests/s × bare | lowest-highest round |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  pairs.forEach((pair, index) => console.log(`| ${pair.name} | ${turnsRow(rounds[index]!).join(' | ')} |`));
}

const idp = await startIdp();
try {
  const now = Math.floor(Date.now() / 1000);
  const token = idp.sign({ iss: idp.issuer, sub: 'bench', aud: TEST_CLIENT_ID, iat: now, exp: now + 3600, email: 'bench@example.com' });
  const ssoEnv = {
    NODE_ENV: 'production',
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: TEST_CLIENT_ID,
    OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
    SESSION_KEYS: 'bench-session-key-0123456789abcdef0123456789',
    PUBLIC_URL: 'http://localhost:5000', // required in production; only sign-in links use it
  };
  if (REQUEST_LINES) await measureRequestLines(ssoEnv, token);
  else if (SAME_PROCESS) await compareInOneProcess(ssoEnv, token);
  else await compareWithBare(ssoEnv, token);
} finally {
  await Promise.all([...children].map(stop));
  await idp.close();
}
