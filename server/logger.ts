import { writeSync } from 'node:fs';
import onExit from 'on-exit-leak-free';
import { pino, type DestinationStream, type Logger } from 'pino';

type SonicBoom = ReturnType<typeof pino.destination>;

export type { Logger };

/** A pino destination that can be flushed, as pino's logger.flush() expects. */
export interface BatchingDestination extends DestinationStream {
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

/**
 * Hands the lines logged during one turn of the event loop to `out` in one write. A busy server
 * logs a line per request: sonic-boom, pino's own destination, then makes a write call per line
 * (sync) or re-measures its whole pending buffer on every line (async), and either cost more
 * than the rest of the request's logging (`npm run bench`). Lines still pending at exit are written then.
 */
export function batchingDestination(
  out: Pick<SonicBoom, 'write' | 'flush' | 'flushSync'>,
  writeNow: (text: string) => void = (text) => writeSync(1, text),
): BatchingDestination {
  let pending: string[] = [];
  let scheduled = false;
  // Once the exit flush has run, lines that later exit handlers log are written at once.
  let exited = false;
  const takePending = () => {
    scheduled = false;
    const text = pending.join('');
    pending = [];
    return text;
  };
  const writePending = () => {
    const text = takePending();
    if (text) out.write(text);
  };
  const destination: BatchingDestination = {
    write(line: string) {
      if (exited) return writeNow(line);
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(writePending);
      }
    },
    flush(callback) {
      writePending();
      out.flush(callback);
    },
    // At exit: what `out` holds first, then this turn's lines, both without waiting on the event loop.
    flushSync() {
      const text = takePending();
      out.flushSync();
      if (text) writeNow(text);
    },
  };
  onExit.register(destination, (target) => {
    target.flushSync();
    exited = true;
  });
  return destination;
}

/** What loggableError() made: passed on as it is when it meets loggableError() again (pino's serializer). */
const MADE_LOGGABLE = new WeakSet<object>();

interface LoggedError {
  type: string;
  message: string;
  code?: string;
  status?: number;
  stack?: string;
  cause?: LoggedError | string;
}

/**
 * An error as it may be logged: its type, message, code, status, stack (unless `stack: false`)
 * and cause, and nothing else. Other properties can hold what must never reach a log: Node's
 * HTTP parser attaches the raw request bytes it could not parse (`rawPacket`, with the
 * Authorization and Cookie headers), and HTTP clients attach the request options (with credentials).
 */
export function loggableError(error: unknown, options: { stack?: boolean } = {}, depth = 0): LoggedError | string {
  if (typeof error === 'object' && error !== null && MADE_LOGGABLE.has(error)) return error as LoggedError;
  if (!(error instanceof Error)) return String(error);
  const { code, status } = error as { code?: unknown; status?: unknown };
  const logged: LoggedError = {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
    ...(error.stack && options.stack !== false ? { stack: error.stack } : {}),
    ...(error.cause !== undefined && depth < 3 ? { cause: loggableError(error.cause, options, depth + 1) } : {}),
  };
  MADE_LOGGABLE.add(logged);
  return logged;
}

/**
 * Pino's options for every logger of the server: no `pid`/`hostname`, errors through
 * {@link loggableError}. The server's own calls pass errors already made loggable (so that any
 * logger given to it is safe); those pass through again unchanged.
 */
export const LOGGER_OPTIONS = { base: undefined, serializers: { err: loggableError } };

/**
 * JSON lines on stdout. Nothing logged carries a token, a cookie or a header: requests are
 * logged by method, path and status only, and errors by our own messages, which never quote tokens.
 */
export function createLogger(level: string): Logger {
  // Asynchronous: a stdout nobody reads must not stall the server. pino's destination stops logging on EPIPE.
  return pino({ level, ...LOGGER_OPTIONS }, batchingDestination(pino.destination({ dest: 1, sync: false })));
}
