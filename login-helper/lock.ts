import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './clock.ts';
import { LoginError } from './errors.ts';

const RETRY_MS = 250;

/** How long to wait for the lock and what to say meanwhile. */
export interface LockOptions {
  deadline: number;
  clock: Clock;
  /** What the lock protects, for the timeout message ("the browser profile …"). */
  what: string;
  /** Called once when the lock is busy and the wait begins. */
  onWait?: () => void;
}

/**
 * Runs `task` while holding an exclusive lock file, so two runs never drive
 * the same browser profile at once (Chromium would refuse the second one).
 * The file holds the owner's pid; a lock left behind by a dead process is
 * taken over. Waiting gives up at `deadline` with a TIMEOUT error.
 */
export async function withLock<T>(file: string, options: LockOptions, task: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let round = 0; ; round++) {
    if (await tryCreate(file)) break;
    if (!(await ownerIsAlive(file))) {
      await rm(file, { force: true });
      continue;
    }
    if (options.clock.now() >= options.deadline) {
      throw new LoginError('TIMEOUT', `Timed out waiting for another koa-oidc-sso run that is using ${options.what}`);
    }
    if (round === 0) options.onWait?.();
    await delay(RETRY_MS);
  }
  try {
    return await task();
  } finally {
    await rm(file, { force: true });
  }
}

/** Creates `file` holding our pid, atomically: a hard link fails when the file exists, and never exposes it empty. */
async function tryCreate(file: string): Promise<boolean> {
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, String(process.pid), { mode: 0o600 });
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

async function ownerIsAlive(file: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(file, 'utf8'), 10);
  } catch {
    return true; // released in the meantime: look again next round
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0); // signal 0 only checks that the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
