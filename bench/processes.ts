/**
 * The servers the benchmark compares, each in its own process so that its CPU time and memory
 * are its own: `bare` is a plain Koa route returning a constant, `sso` is the project's server
 * (configured by the environment), and `sso-log-toggle` is that server with its request lines
 * switched on and off every TOGGLE_MS under load. The parent talks to them over IPC: it
 * receives { type: 'ready', port } and asks for { type: 'stats' }.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

const role = process.argv[2];
/** How long each phase of `sso-log-toggle` lasts. */
const TOGGLE_MS = 50;
const send = (message: object) => process.send?.(message);
const idpRequests = { discovery: 0, jwks: 0 };

/** CPU time (user + system) the process has used so far, in microseconds. */
function cpuMicros(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

/** Per phase of `sso-log-toggle`: the CPU time and the requests that arrived while it lasted. */
const phases = { lines: { cpuMicros: 0, requests: 0 }, noLines: { cpuMicros: 0, requests: 0 } };

process.on('message', (message: { type?: string }) => {
  if (message.type === 'stats') {
    send({
      type: 'stats',
      rss: process.memoryUsage().rss,
      // maxRSS is in kibibytes: the peak resident set since the process started.
      peakRss: process.resourceUsage().maxRSS * 1024,
      cpuMicros: cpuMicros(),
      idpRequests,
      phases,
    });
  }
});
process.on('disconnect', () => process.exit(0));

if (role === 'bare') {
  const app = new Koa();
  app.use((ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'bench@example.com';
  });
  const server = app.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
} else if (role === 'sso' || role === 'sso-log-toggle') {
  // Imported here so that the bare process carries none of the server's modules.
  const { startServer } = await import('../server/start.ts');
  const { createLogger } = await import('../server/logger.ts');
  // The toggling server's logger is made here, to switch its level; `sso` makes its own, as `npm start` does.
  const logger = role === 'sso-log-toggle' ? createLogger('info') : undefined;
  const server = await startServer({
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    ...(logger ? { logger } : {}),
    onIdpRequest: (kind) => idpRequests[kind]++,
  });
  if (logger) alternateRequestLines(logger, TOGGLE_MS);
  send({ type: 'ready', port: Number(new URL(server.address).port) }); // url is PUBLIC_URL's
} else {
  throw new Error(`unknown role ${role}`);
}

/**
 * Switches the request lines on (info) and off (warn) every `intervalMs`, adding up each phase's
 * CPU time and requests. Both phases meet the same machine, a few milliseconds apart: what the
 * machine's drift does to one, it does to the other.
 */
function alternateRequestLines(logger: { level: string }, intervalMs: number): void {
  let current = phases.lines;
  let requests = 0;
  subscribe('http.server.request.start', () => requests++);
  let [cpuBefore, requestsBefore] = [cpuMicros(), 0];
  setInterval(() => {
    const cpuNow = cpuMicros();
    current.cpuMicros += cpuNow - cpuBefore;
    current.requests += requests - requestsBefore;
    [cpuBefore, requestsBefore] = [cpuNow, requests];
    current = current === phases.lines ? phases.noLines : phases.lines;
    logger.level = current === phases.lines ? 'info' : 'warn';
  }, intervalMs);
}
