/**
 * The two servers the benchmark compares, each run as its own process (so its CPU and memory are
 * its own): `bare` is a plain Koa route returning a constant, `sso` is the project's server.
 * The parent talks to them over IPC: it receives { port }, and asks for { rss } stats.
 */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { startServer } from '../server/start.ts';

const role = process.argv[2];
const send = (message: object) => process.send?.(message);

process.on('message', (message: { type?: string }) => {
  if (message.type === 'stats') {
    // maxRSS is in kibibytes: the peak resident set since the process started.
    const cpu = process.cpuUsage();
    send({ type: 'stats', rss: process.memoryUsage().rss, peakRss: process.resourceUsage().maxRSS * 1024, cpuMicros: cpu.user + cpu.system });
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
  const server = await startServer({ env: { ...process.env, PORT: '0', HOST: '127.0.0.1' } });
  send({ type: 'ready', port: Number(new URL(server.url).port) });
} else {
  throw new Error(`unknown role ${role}`);
}
