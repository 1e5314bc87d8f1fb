import test from 'ava';
import { SsoError } from '../../server/errors.ts';
import { parseReturnTo } from '../../server/routes/return-to.ts';

const origin = 'https://sso.example.com';

test('same-origin relative paths are kept, normalised', (t) => {
  t.is(parseReturnTo('/user/me?view=full#top', origin), '/user/me?view=full#top');
  t.is(parseReturnTo('/a/../user/me', origin), '/user/me');
  t.is(parseReturnTo('/%2F%2Fevil.example.com', origin), '/%2F%2Fevil.example.com');
  t.is(parseReturnTo(undefined, origin), undefined);
});

const hostile = [
  '//evil.example.com',
  '/\\evil.example.com',
  'https://evil.example.com/',
  'evil.example.com',
  'javascript:alert(1)',
  '/..//evil.example.com',
  '/.//evil.example.com',
  '/%2e%2e//evil.example.com',
  '/.%2e//evil.example.com',
  '/a/../..//evil.example.com',
  '/./\\evil.example.com',
  '/\tevil',
  '/\r\nSet-Cookie: x=y',
  '/' + 'a'.repeat(600),
  // 301 characters, but 2,700 once percent-encoded: the limit holds for what is kept.
  '/' + '\u3000'.repeat(300),
];

for (const value of hostile) {
  test(`refuses return_to ${JSON.stringify(value.slice(0, 40))}`, (t) => {
    const error = t.throws(() => parseReturnTo(value, origin), { instanceOf: SsoError });
    t.is(error?.code, 'invalid_request');
  });
}

test('refuses the sign-in routes themselves: a sign-in that ends by signing out or starting over', (t) => {
  for (const value of ['/logout', '/login?return_to=/logout', '/callback?code=x', '/a/../logout']) {
    t.regex(t.throws(() => parseReturnTo(value, origin), { instanceOf: SsoError })?.message ?? '', /^return_to cannot be \/login, \/callback, \/logout$/, value);
  }
  t.is(parseReturnTo('/logout-help', origin), '/logout-help');
});

test('refuses a repeated return_to', (t) => {
  t.is(t.throws(() => parseReturnTo(['/a', '/b'], origin), { instanceOf: SsoError })?.code, 'invalid_request');
});
