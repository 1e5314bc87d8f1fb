/**
 * Until a provider's document or key set has been fetched once, every request that needs it
 * would fetch it: while the provider fails, a flood of requests (tokens with random kids, or
 * /login) would become a flood of requests to it. A failed first fetch therefore stands for a
 * while, answered again without a request: 1 s, doubling with each failure in a row, at most
 * `maxMs`. Once something is cached, the caller serves that instead and never asks.
 */
export interface FailureBackoff {
  /** The last failure while it stands; undefined when a fetch may be tried. */
  standing(): Error | undefined;
  failed(error: Error): void;
  /** A fetch succeeded, or the provider is known to answer again: the next fetch goes ahead. */
  succeeded(): void;
}

const FIRST_BACKOFF_MS = 1000;

export function createFailureBackoff(options: { maxMs: number; now: () => number }): FailureBackoff {
  let failuresInARow = 0;
  let last: { error: Error; until: number } | undefined;
  return {
    // A clock set back (NTP at boot) must not make a failure stand for longer than maxMs.
    standing: () => (last && last.until > options.now() && last.until - options.now() <= options.maxMs ? last.error : undefined),
    failed(error) {
      const backoffMs = Math.min(FIRST_BACKOFF_MS * 2 ** failuresInARow, options.maxMs);
      failuresInARow++;
      last = { error, until: options.now() + backoffMs };
    },
    succeeded() {
      failuresInARow = 0;
      last = undefined;
    },
  };
}
