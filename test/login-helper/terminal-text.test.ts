import test from 'ava';
import { errorDescription } from '../../login-helper/api.ts';
import { hasUnsafeCharacters, printable, printableJson } from '../../login-helper/terminal-text.ts';

/** C0, DEL, C1, the bidi controls and embeddings, and the Unicode line separator. */
const UNSAFE_SAMPLES = ['\u0000', '\u0007', '\u001b', '\r', '\u007f', '\u0085', '\u009b', '\u061c', '\u200e', '\u200f', '\u202a', '\u202c', '\u202e', '\u2066', '\u2069', '\u2028', '\ufeff'];

test('every control, bidi and invisible format character counts as unsafe; letters of any script do not', (t) => {
  for (const character of UNSAFE_SAMPLES) t.true(hasUnsafeCharacters(`a${character}b`), JSON.stringify(character));
  t.false(hasUnsafeCharacters('josé 用户 ٱلْعَرَبِيَّة 👩‍'.replace('\u200d', '')));
});

test('ZWNJ and ZWJ between letters or marks are spelling (Persian, Devanagari), so such an address stays as it is', (t) => {
  for (const address of ['\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645@example.com', '\u0915\u094d\u200d\u0937@example.com']) {
    t.false(hasUnsafeCharacters(address), address);
    t.is(printable(address), address);
    t.is(JSON.parse(printableJson(address)), address);
    t.false(printableJson(address).includes('\\u200'), 'written raw, not escaped');
  }
});

test('a leading, trailing or doubled joiner, or one beside a bidi control, is still unsafe', (t) => {
  const hostile = ['\u200cabc@example.com', 'abc\u200c@example.com', 'a\u200c\u200cb@example.com', 'a\u200d\u202eb@example.com', 'ab\u202e@example.com', 'a\u200c.b@example.com'];
  for (const address of hostile) {
    t.true(hasUnsafeCharacters(address), JSON.stringify(address));
    t.false(hasUnsafeCharacters(printable(address)), JSON.stringify(address));
    t.false(hasUnsafeCharacters(printableJson(address)), JSON.stringify(address));
  }
  t.is(printable('a\u200c\u200cb'), 'a b');
});

test('printable makes one line: unsafe characters and white space become single spaces, and it is cut to a length', (t) => {
  t.is(printable('access\u202e_denied\u202c\r\n\u001b[2Jnow'), 'access _denied [2Jnow');
  t.is(printable('  a\t\tb  '), 'a b');
  t.is(printable('x'.repeat(300)), `${'x'.repeat(199)}…`);
  t.is(printable('😀'.repeat(5), 3), '😀😀…'); // cut between characters, not inside one
});

test("the server's error description loses bidi characters too", (t) => {
  t.is(errorDescription(JSON.stringify({ error_description: 'token\u202e desserpxe\u202c' })), 'token desserpxe');
});

test('printableJson escapes C1, DEL and bidi characters as \\uXXXX: valid JSON, same value, nothing raw', (t) => {
  const claims = { email: 'ada\u202e@example.com', name: 'A\u009b2J\u007f\u2066', 'k\u200f': ['\u0085', 'plain'], nested: { emoji: '👩‍💻', tag: '\u{e0001}' } };
  const json = printableJson(claims);
  t.false(hasUnsafeCharacters(json.replaceAll('\n', '')));
  t.deepEqual(JSON.parse(json), claims);
  t.true(json.includes('"ada\\u202e@example.com"'));
  t.true(json.includes('"\\udb40\\udc01"'));
  t.is(printableJson({ a: 1 }), '{\n  "a": 1\n}');
});
