import ora from 'ora';

/** A spinner line on stderr that can be re-labelled and stopped. */
export interface Progress {
  update(text: string): void;
  /** Stops the spinner; with `text`, leaves a final ✔ line. */
  succeed(text?: string): void;
  stop(): void;
}

/**
 * Where the CLI writes. stdout carries only the result (the email, the token,
 * the claims) so it can be captured with `$(…)`; everything else goes to stderr.
 */
export interface Output {
  /** One line of result on stdout. */
  result(text: string): void;
  /** A message for the person at the terminal, on stderr. */
  info(text: string): void;
  /** Starts a spinner on stderr (plain lines when stderr is not a terminal). */
  progress(text: string): Progress;
}

type Stream = Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'>;

/** The real {@link Output}, over process.stdout and process.stderr unless told otherwise. */
export function createConsoleOutput({ stdout, stderr }: { stdout: Stream; stderr: Stream } = process): Output {
  return {
    result: (text) => void stdout.write(`${text}\n`),
    info: (text) => void stderr.write(`${text}\n`),
    progress(text) {
      // A terminal that reports no width (some CI runners, `stty cols 0`) makes ora's redraw loop
      // never end, and the helper would hang past its timeout and ignore signals.
      if (!stderr.isTTY || !(stderr.columns > 0)) return plainProgress(text, (line) => stderr.write(line));
      // discardStdin: false keeps Ctrl+C a plain SIGINT, so Puppeteer closes the browser on it.
      const spinner = ora({ text, stream: stderr as NodeJS.WriteStream, discardStdin: false }).start();
      return {
        update: (next) => void (spinner.text = next),
        succeed: (final) => void (final === undefined ? spinner.stop() : spinner.succeed(final)),
        stop: () => void spinner.stop(),
      };
    },
  };
}

/** Progress for logs and pipes: one line when it starts and one when it succeeds; no spinner, no colours. */
function plainProgress(text: string, write: (line: string) => void): Progress {
  write(`${text}\n`);
  return {
    update: () => {},
    succeed: (final) => void (final !== undefined && write(`${final}\n`)),
    stop: () => {},
  };
}
