import { SsoError } from '../../server/errors.ts';

/** What a verification came to: `accepted`, or the SsoError's code and message (any other error as text). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof SsoError ? `${error.code}: ${error.message}` : String(error);
  }
}

/** A clock that stands still until the test moves it. */
export function movableClock() {
  let nowMs = Date.now();
  return {
    now: () => nowMs,
    advance: (seconds: number) => {
      nowMs += seconds * 1000;
    },
  };
}
