/**
 * The servers the benchmark compares, each in its own process so that its CPU time and memory
 * are its own: `bare` is a plain Koa route returning a constant, `sso` is the project's server
 * (configured by the environment). The parent talks to them over IPC: it receives
 * { type: 'ready', port } and asks for { type: 'stats' }.
 */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

const role = process.argv[2];
const send = (message: object) => process.send?.(message);
const idpRequests = { discovery: 0, jwks: 0 };

process.on('message', (message: { type?: string }) => {
  if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    send({
      type: 'stats',
      rss: process.memoryUsage().rss,
      // maxRSS is in kibibytes: the peak resident set since the process started.
      peakRss: process.resourceUsage().maxRSS * 1024,
      cpuMicros: cpu.user + cpu.system,
      idpRequests,
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
} else if (role === 'sso') {
  // Imported here so that the bare process carries none of the server's modules.
  const { startServer } = await import('../server/start.ts');
  const server = await startServer({
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    onIdpRequest: (kind) => idpRequests[kind]++,
  });
  send({ type: 'ready', port: Number(new URL(server.address).port) }); // url is PUBLIC_URL's
} else {
  throw new Error(`unknown role ${role}`);
}
