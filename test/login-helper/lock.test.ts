import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { systemClock } from '../../login-helper/clock.ts';
import { isLoginError } from '../../login-helper/errors.ts';
import { withLock } from '../../login-helper/lock.ts';
import { tempFolder } from './_fakes.ts';

async function lockFile(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  return path.join(await tempFolder(t, 'lock-'), 'profile.lock');
}

const options = (deadline = Date.now() + 60_000) => ({ deadline, clock: systemClock, what: 'the profile' });

test('parallel runs take turns: the second one waits, and starts only after the first one ended', async (t) => {
  const file = await lockFile(t);
  const events: string[] = [];
  let releaseFirst = () => {};
  const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
  let firstStarted = () => {};
  const firstRunning = new Promise<void>((resolve) => (firstStarted = resolve));

  const first = withLock(file, options(), async () => {
    events.push('first start');
    t.is(await readFile(file, 'utf8'), String(process.pid));
    firstStarted();
    await firstHolds;
    events.push('first end');
  });
  await firstRunning;
  const onWait = () => {
    events.push('second waits');
    releaseFirst();
  };
  await Promise.all([first, withLock(file, { ...options(), onWait }, async () => void events.push('second start'))]);

  t.deepEqual(events, ['first start', 'second waits', 'first end', 'second start']);
});

test('a lock left by a process that died is taken over', async (t) => {
  const file = await lockFile(t);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  await writeFile(file, dead);
  t.is(await withLock(file, options(), async () => 'ran'), 'ran');
});

test('waiting for a live holder gives up at the deadline with TIMEOUT', async (t) => {
  const file = await lockFile(t);
  await writeFile(file, String(process.pid)); // held by a live process: this one
  const error = await t.throwsAsync(withLock(file, options(Date.now() - 1), async () => 'never'));
  t.true(isLoginError(error, 'TIMEOUT'));
});
