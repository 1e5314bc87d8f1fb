import test from 'ava';
import { errorDescription } from '../../login-helper/api.ts';
import { hasUnsafeCharacters, printable, printableJson } from '../../login-helper/terminal-text.ts';

/** C0, DEL, C1, the bidi controls and embeddings, and the Unicode line separator. */
const UNSAFE_SAMPLES = ['\u0000', '\u0007', '\u001b', '\r', '\u007f', '\u0085', '\u009b', '\u061c', '\u200e', '\u200f', '\u202a', '\u202c', '\u202e', '\u2066', '\u2069', '\u2028', '\ufeff'];
/** Default-ignorable characters outside Cf: grapheme joiner, Hangul fillers, variation selectors, Khmer and Mongolian invisibles. */
const INVISIBLE_SAMPLES = ['\u034f', '\u115f', '\u1160', '\u3164', '\uffa0', '\ufe00', '\ufe0f', '\u180b', '\u180f', '\u17b4', '\u17b5', '\u{e0100}'];

test('every control, bidi, invisible format or other default-ignorable character counts as unsafe; letters of any script do not', (t) => {
  for (const character of [...UNSAFE_SAMPLES, ...INVISIBLE_SAMPLES]) t.true(hasUnsafeCharacters(`a${character}b`), JSON.stringify(character));
  t.false(hasUnsafeCharacters('josé 用户 ٱلْعَرَبِيَّة 👩‍'.replace('\u200d', '')));
});

test('ZWNJ and ZWJ inside a word of Indic or Arabic-script letters are spelling, so such an address stays as it is', (t) => {
  const addresses = [
    '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645@example.com', // Persian
    '\u0915\u094d\u200d\u0937@example.com', // Devanagari, ZWJ after the virama
    '\u0915\u094d\u200c\u0937@example.com', // Devanagari, ZWNJ after the virama
  ];
  for (const address of addresses) {
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

test('a joiner outside the scripts that use one, beside an invisible character, or at the end of a word is unsafe: printable replaces it, printableJson escapes it', (t) => {
  const spoofs: [address: string, shown: string, escaped: string][] = [
    ['ad\u200dmin@example.com', 'ad min@example.com', 'ad\\u200dmin@example.com'],
    ['admin@exa\u200dmple.com', 'admin@exa mple.com', 'admin@exa\\u200dmple.com'],
    ['ab\u200ccd@example.com', 'ab cd@example.com', 'ab\\u200ccd@example.com'],
    ['a\u200d\ufe00\u200d\ufe00\u200db@example.com', 'a b@example.com', 'a\\u200d\\ufe00\\u200d\\ufe00\\u200db@example.com'],
    ['a\u034fb@example.com', 'a b@example.com', 'a\\u034fb@example.com'],
    ['x\u3164y@example.com', 'x y@example.com', 'x\\u3164y@example.com'],
    ['\u200cabc', 'abc', '\\u200cabc'],
    ['a\u200c\u200cb', 'a b', 'a\\u200c\\u200cb'],
    ['\u0915\u094d\u200da@example.com', '\u0915\u094d a@example.com', '\u0915\u094d\\u200da@example.com'], // virama, then Latin
    ['\u0645\u200c\u180b@example.com', '\u0645 @example.com', '\u0645\\u200c\\u180b@example.com'], // then a Mongolian variation selector
    ['\u7ba1\u200d\u7406@example.com', '\u7ba1 \u7406@example.com', '\u7ba1\\u200d\u7406@example.com'], // Han: a joiner changes nothing visible
    ['\u13aa\u13a0\u200d\u13b7@example.com', '\u13aa\u13a0 \u13b7@example.com', '\u13aa\u13a0\\u200d\u13b7@example.com'], // Cherokee, which looks like Latin
  ];
  for (const [address, shown, escaped] of spoofs) {
    t.true(hasUnsafeCharacters(address), JSON.stringify(address));
    t.is(printable(address), shown);
    t.is(printableJson(address), `"${escaped}"`);
    t.is(JSON.parse(printableJson(address)), address);
  }
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
