import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { TEST_SESSION_KEY } from '../helpers/server.ts';

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** GET `url`; resolves with the status, or undefined when the connection was refused (nothing listens yet). */
function statusOf(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: 20_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('timeout', () => request.destroy(new Error(`no answer from ${url}: the request was left hanging`)));
    request.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve(undefined) : reject(error)));
  });
}

test('a request that arrives while the server is still starting is answered once it is ready, not left hanging', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), SESSION_KEYS: TEST_SESSION_KEY, LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });

  // The port opens before the app (and the development IdP) are loaded: the first connection
  // that gets through lands in that gap.
  let status: number | undefined;
  for (let attempt = 0; status === undefined && child.exitCode === null && attempt < 100_000; attempt++) {
    status = await statusOf(`http://127.0.0.1:${port}/healthz`);
  }
  t.is(status, 200);
});
