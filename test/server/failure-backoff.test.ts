import test from 'ava';
import { createFailureBackoff } from '../../server/oidc/failure-backoff.ts';
import { movableClock } from '../helpers/verification.ts';

test('a failure stands 1 s, then 2, 4 … at most maxMs after each failure in a row; a success ends it', (t) => {
  const clock = movableClock();
  const backoff = createFailureBackoff({ maxMs: 5000, now: clock.now });
  const error = new Error('down');
  t.is(backoff.standing(), undefined);

  for (const seconds of [1, 2, 4, 5, 5]) {
    backoff.failed(error);
    clock.advance(seconds - 0.01);
    t.is(backoff.standing(), error, `${seconds} s`);
    clock.advance(0.01);
    t.is(backoff.standing(), undefined, `${seconds} s`);
  }

  backoff.failed(error);
  backoff.succeeded();
  t.is(backoff.standing(), undefined);
  backoff.failed(error);
  clock.advance(1);
  t.is(backoff.standing(), undefined, 'after a success the waits start over at 1 s');
});

test('a clock set back does not make a failure stand longer than maxMs', (t) => {
  const clock = movableClock();
  const backoff = createFailureBackoff({ maxMs: 30_000, now: clock.now });
  backoff.failed(new Error('down'));
  clock.advance(-3600); // NTP corrects a clock that ran an hour ahead
  t.is(backoff.standing(), undefined);
});
