import test from 'ava';
import { createConsoleOutput } from '../../login-helper/output.ts';

function fakeTerminal(columns: number) {
  const written: string[] = [];
  const stream = {
    isTTY: true as const,
    columns,
    write: (chunk: string | Uint8Array) => written.push(String(chunk)) > 0,
  };
  return { stream, written };
}

test('a terminal that reports no width gets plain progress lines instead of a spinner that never stops redrawing', (t) => {
  const { stream, written } = fakeTerminal(0);
  const output = createConsoleOutput({ stdout: stream, stderr: stream });
  const progress = output.progress('Waiting for sign-in');
  progress.update('Still waiting');
  progress.succeed('Signed in');
  t.deepEqual(written, ['Waiting for sign-in\n', 'Signed in\n']);
});

test('results go to stdout and messages to stderr', (t) => {
  const out = fakeTerminal(80);
  const err = fakeTerminal(80);
  const output = createConsoleOutput({ stdout: out.stream, stderr: err.stream });
  output.result('user@example.com');
  output.info('hint');
  t.deepEqual(out.written, ['user@example.com\n']);
  t.deepEqual(err.written, ['hint\n']);
});
