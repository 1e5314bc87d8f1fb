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

/** The real {@link Output} over process.stdout and process.stderr. */
export function createConsoleOutput(): Output {
  const { stdout, stderr } = process;
  return {
    result: (text) => void stdout.write(`${text}\n`),
    info: (text) => void stderr.write(`${text}\n`),
    progress(text) {
      if (!stderr.isTTY) return plainProgress(text, (line) => stderr.write(line));
      // discardStdin: false keeps Ctrl+C a plain SIGINT, so Puppeteer closes the browser on it.
      const spinner = ora({ text, stream: stderr, discardStdin: false }).start();
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
