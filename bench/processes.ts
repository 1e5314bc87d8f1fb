/**
 * The servers the benchmark compares, each in its own process so that its CPU time and memory
 * are its own: `bare` is a plain Koa route returning a constant, `sso` is the project's server
 * (configured by the environment). Two more take turns within one process, every PHASE_MS under
 * load, so that both sides of a comparison meet the same machine: `sso-log-toggle` is the server
 * with its request lines on and off, `sso-or-bare` answers each phase's requests by the server or
 * by the bare route. The parent talks to them over IPC: it receives { type: 'ready', port } and
 * asks for { type: 'stats' }.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

const role = process.argv[2];
/** How long each phase of a process that takes turns lasts. */
const PHASE_MS = 50;
const send = (message: object) => process.send?.(message);
const idpRequests = { discovery: 0, jwks: 0 };

/** CPU time (user + system) the process has used so far, in microseconds. */
function cpuMicros(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

/** Per phase of a process that takes turns: the CPU time and the requests that arrived while it lasted. */
const phases: Record<string, { cpuMicros: number; requests: number; ms: number }> = {};

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

function bareApp(): Koa {
  const app = new Koa();
  app.use((ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'bench@example.com';
  });
  return app;
}

/**
 * Switches between two phases every PHASE_MS (`enter` sets one up), adding up each phase's CPU
 * time, requests and duration. Both phases meet the same machine, a few milliseconds apart: what its drift
 * does to one, it does to the other. @returns the function that counts a request.
 */
function takeTurns(names: [string, string], enter: (name: string) => void): () => void {
  for (const name of names) phases[name] = { cpuMicros: 0, requests: 0, ms: 0 };
  let current = 0;
  let requests = 0;
  let [cpuBefore, requestsBefore, startedMs] = [cpuMicros(), 0, performance.now()];
  enter(names[current]!);
  setInterval(() => {
    const phase = phases[names[current]!]!;
    const [cpuNow, nowMs] = [cpuMicros(), performance.now()];
    phase.cpuMicros += cpuNow - cpuBefore;
    phase.requests += requests - requestsBefore;
    // A phase lasts until its timer runs, which is later when the turn in progress is longer.
    phase.ms += nowMs - startedMs;
    [cpuBefore, requestsBefore, startedMs] = [cpuNow, requests, nowMs];
    current = 1 - current;
    enter(names[current]!);
  }, PHASE_MS);
  return () => void requests++;
}

if (role === 'bare') {
  const server = bareApp().listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
} else if (role === 'sso' || role === 'sso-log-toggle' || role === 'sso-or-bare') {
  // Imported here so that the bare process carries none of the server's modules.
  const { startServer } = await import('../server/start.ts');
  const { createLogger } = await import('../server/logger.ts');
  // A process that switches its request lines makes the logger itself; `sso` leaves that to the server, as `npm start` does.
  const logger = role === 'sso-log-toggle' ? createLogger('info') : undefined;
  const server = await startServer({
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    ...(logger ? { logger } : {}),
    onIdpRequest: (kind) => idpRequests[kind]++,
  });
  if (logger) {
    const count = takeTurns(['lines', 'noLines'], (phase) => (logger.level = phase === 'lines' ? 'info' : 'warn'));
    server.httpServer.prependListener('request', count);
  } else if (role === 'sso-or-bare') {
    const [ssoListener] = server.httpServer.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
    const bare = bareApp().callback();
    let answer = ssoListener!;
    const count = takeTurns(['sso', 'bare'], (phase) => (answer = phase === 'sso' ? ssoListener! : bare));
    server.httpServer.removeAllListeners('request');
    server.httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
      count();
      return answer(request, response);
    });
  }
  send({ type: 'ready', port: Number(new URL(server.address).port) }); // url is PUBLIC_URL's
} else {
  throw new Error(`unknown role ${role}`);
}
