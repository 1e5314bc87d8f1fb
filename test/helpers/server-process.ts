import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * The port a server started as a child process (`HOST=127.0.0.1`, `PORT=0`) listens on, read
 * from its start-up log line; rejects if the process exits first.
 */
export function listeningPort(child: ChildProcess & { stdout: Readable }): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (listening) resolve(listening[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening:\n${stdout}`)));
  });
}
