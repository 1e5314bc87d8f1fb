import { execFile, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import test from 'ava';
import { pino } from 'pino';
import type { Context } from 'koa';
import { batchingDestination, loggableError, LOGGER_OPTIONS } from '../../server/logger.ts';
import { requestLog } from '../../server/middleware/request-log.ts';

/** A stand-in for pino's stdout destination that records each write it is given. */
function recordingOut() {
  const writes: string[] = [];
  return {
    writes,
    out: {
      write: (text: string) => writes.push(text) > 0,
      flush: (callback?: (error?: Error) => void) => callback?.(),
      flushSync: () => {},
    },
  };
}

test('the lines of one event-loop turn reach stdout in one write, in order', async (t) => {
  const { writes, out } = recordingOut();
  const logger = pino({ base: undefined }, batchingDestination(out));
  logger.info({ n: 1 }, 'first');
  logger.warn({ n: 2 }, 'second');
  t.deepEqual(writes, [], 'nothing is written during the turn');

  await new Promise((resolve) => setImmediate(resolve));
  t.is(writes.length, 1);
  const lines = writes[0]!.trimEnd().split('\n').map((line) => JSON.parse(line));
  t.deepEqual(
    lines.map((line) => [line.msg, line.n, line.level]),
    [
      ['first', 1, 30],
      ['second', 2, 40],
    ],
  );

  logger.info('next turn');
  await new Promise((resolve) => setImmediate(resolve));
  t.is(writes.length, 2);
  t.regex(writes[1]!, /"msg":"next turn"/);
});

test('flush() writes the pending lines at once', (t) => {
  const { writes, out } = recordingOut();
  const logger = pino({ base: undefined }, batchingDestination(out));
  logger.info('pending');
  logger.flush();
  t.is(writes.length, 1);
  t.regex(writes[0]!, /"msg":"pending"/);
});

/** The JSON lines a module script (its lines of code, run from the project folder) writes to stdout. */
async function linesLoggedBy(script: string[]): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script.join('\n')], {
    cwd: new URL('../..', import.meta.url),
  });
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('lines logged just before process.exit() are not lost', async (t) => {
  const lines = await linesLoggedBy([
    "import { createLogger } from './server/logger.ts';",
    'const logger = createLogger("info");',
    'for (let index = 0; index < 3; index++) logger.info({ index }, "before exit");',
    'process.exit(0);',
  ]);
  t.deepEqual(
    lines.map((line) => [line.msg, line.index]),
    [
      ['before exit', 0],
      ['before exit', 1],
      ['before exit', 2],
    ],
  );
});

test('request lines of the last turn before process.exit() are not lost, though logged after the exit flush', async (t) => {
  // The request log's exit handler runs after the destination's (registered later, with the app).
  const lines = await linesLoggedBy([
    "import { createLogger } from './server/logger.ts';",
    "import { requestLog } from './server/middleware/request-log.ts';",
    'const logger = createLogger("info");',
    'const logRequest = requestLog(logger);',
    'logger.info("before the requests");',
    'for (const status of [200, 401, 404]) logRequest({ method: "GET", path: "/user/id", status }, performance.now());',
    'process.exit(0);',
  ]);
  t.deepEqual(
    lines.map((line) => line.msg ?? `${line.method} ${line.path} ${line.status}`),
    ['before the requests', 'GET /user/id 200', 'GET /user/id 401', 'GET /user/id 404'],
  );
});

test('a turn\'s request lines reach the logger together at its end, in order, each with its own duration', async (t) => {
  const { writes, out } = recordingOut();
  const logger = pino({ base: undefined }, batchingDestination(out));
  const logRequest = requestLog(logger);
  const ctx = (status: number) => ({ method: 'GET', path: '/user/id', status }) as Context;
  logRequest(ctx(200), performance.now() - 12.34);
  logRequest(ctx(401), performance.now());
  logger.info('logged during the turn');

  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  const lines = writes.join('').trimEnd().split('\n').map((line) => JSON.parse(line));
  t.deepEqual(
    lines.map((line) => line.msg ?? `${line.method} ${line.path} ${line.status}`),
    ['logged during the turn', 'GET /user/id 200', 'GET /user/id 401'],
  );
  t.true(lines[1].ms >= 12.3 && lines[2].ms < 12, JSON.stringify(lines));
});

test('a stdout nobody reads does not stall the process that logs to it', async (t) => {
  // 20 MB of lines over 200 turns: far past what a pipe holds. Written synchronously, the first
  // full pipe would block the event loop and "still running" would never come.
  const script = [
    "import { createLogger } from './server/logger.ts';",
    'const logger = createLogger("info");',
    'const padding = "x".repeat(1000);',
    'for (let turn = 0; turn < 200; turn++) {',
    '  for (let index = 0; index < 100; index++) logger.info({ turn, index, padding });',
    '  await new Promise((resolve) => setImmediate(resolve));',
    '}',
    'process.stderr.write("still running\\n");',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    cwd: new URL('../..', import.meta.url),
    stdio: ['ignore', 'pipe', 'pipe'],
    // A stalled child is killed rather than left behind; its stderr then ends without the line.
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  t.teardown(() => child.kill('SIGKILL'));
  child.stdout.pause();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  for await (const chunk of child.stderr) {
    stderr += chunk;
    if (stderr.includes('\n')) break;
  }
  t.is(stderr, 'still running\n');
});

test('errors are logged by type, message, code, status, stack and cause only: never the request bytes or options they carry', (t) => {
  const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', options: { headers: { authorization: 'Basic c2VjcmV0' } } });
  const error = Object.assign(new Error('Parse Error', { cause }), { code: 'HPE_INVALID_CHUNK_SIZE', status: 400, rawPacket: Buffer.from('Authorization: Bearer x') });
  const logged = loggableError(error);
  t.like(logged, { type: 'Error', message: 'Parse Error', code: 'HPE_INVALID_CHUNK_SIZE', status: 400, cause: { message: 'socket hang up', code: 'ECONNRESET' } });
  t.false(JSON.stringify(logged).includes('Bearer'));
  t.false(JSON.stringify(logged).includes('c2VjcmV0'));
  t.is(loggableError('a thrown string'), 'a thrown string');
});

test('the server\'s logger keeps an error\'s details, whether it is given the error or its loggable form', (t) => {
  const lines: Array<{ err?: unknown }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ level: 'info', ...LOGGER_OPTIONS }, sink);
  const error = Object.assign(new Error('discovery failed', { cause: new Error('connect ECONNREFUSED') }), { code: 'ECONNREFUSED', rawPacket: 'Authorization: Bearer x' });
  logger.error({ err: loggableError(error) }, 'as the server logs it');
  logger.error({ err: error }, 'a raw error');
  for (const line of lines) {
    t.like(line.err, { type: 'Error', message: 'discovery failed', code: 'ECONNREFUSED', cause: { message: 'connect ECONNREFUSED' } });
    t.false(JSON.stringify(line).includes('Bearer'));
  }
  // Anything else given as an error (a thrown plain object) is not logged field by field.
  logger.error({ err: { rawPacket: 'Authorization: Bearer x' } }, 'a thrown object');
  t.is(lines.length, 3);
  t.false(JSON.stringify(lines[2]).includes('Bearer'));
});
