/**
 * Text the helper did not write (the server's answers, the pages it serves) made safe for a
 * terminal. Control characters can clear the screen, retitle the window or fake a prompt (ESC,
 * CSI, OSC … BEL, CR), and bidi or other invisible format characters make the printed text read
 * differently from what it is (Trojan Source, CVE-2021-42574). Unicode's categories name them
 * all: Cc is C0, DEL and C1; Cf holds the bidi controls (U+061C, U+200E/F, U+202A-202E,
 * U+2066-2069) and the zero-width characters; Zl and Zp are the line and paragraph separators.
 *
 * Two of Cf are spelling, not tricks: ZERO WIDTH NON-JOINER and JOINER (U+200C, U+200D) shape
 * words in Persian, Indic and other scripts, so internationalised email addresses (RFC 6531) and
 * domain names (IDNA) may hold them. They pass where they stand between two letters or marks.
 * IDNA's own rule looks at viramas and joining types; this simpler one still keeps out a joiner
 * at either end of a word or next to another, and every other Cf character stays unsafe.
 * @see https://www.rfc-editor.org/rfc/rfc5892#appendix-A.1
 */
const JOINER_IN_WORD = '(?<=[\\p{L}\\p{M}])[\\u200c\\u200d](?=[\\p{L}\\p{M}])';
const UNSAFE = `(?!${JOINER_IN_WORD})[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]`;

const UNSAFE_CHARACTER = new RegExp(UNSAFE, 'u');
const UNSAFE_OR_SPACE_RUN = new RegExp(`(?:${UNSAFE}|\\s)+`, 'gu');
/** What JSON.stringify leaves raw: it escapes C0 itself, and its own line breaks must stay. */
const UNSAFE_IN_JSON = new RegExp(`(?!${JOINER_IN_WORD})[\\u007f-\\u009f\\p{Cf}\\p{Zl}\\p{Zp}]`, 'gu');

/** True when `text` holds a character that a terminal would act on or that hides or reorders text. */
export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE_CHARACTER.test(text);
}

/**
 * `text` as one printable line: each run of unsafe characters and white space becomes one
 * space, and the result is cut to `maxLength` characters (code points, so no emoji is halved).
 */
export function printable(text: string, maxLength = 200): string {
  const characters = Array.from(text.replace(UNSAFE_OR_SPACE_RUN, ' ').trim());
  return characters.length > maxLength ? `${characters.slice(0, maxLength - 1).join('')}…` : characters.join('');
}

/**
 * `value` as indented JSON in which every unsafe character is written as a \uXXXX escape: the
 * same JSON value, valid, and nothing in it a terminal would act on. Such characters can only
 * occur inside strings, where an escape means the same character.
 * @see https://www.rfc-editor.org/rfc/rfc8259#section-7
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (character) =>
    Array.from({ length: character.length }, (_, index) => `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`).join(''),
  );
}
