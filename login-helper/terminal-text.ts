/**
 * Text the helper did not write (the server's answers, the pages it serves) made safe for a
 * terminal. Control characters can clear the screen, retitle the window or fake a prompt (ESC,
 * CSI, OSC … BEL, CR), and bidi or other invisible characters make the printed text read
 * differently from what it is (Trojan Source, CVE-2021-42574). Unicode's properties name them
 * all: Cc is C0, DEL and C1; Cf holds the bidi controls (U+061C, U+200E/F, U+202A-202E,
 * U+2066-2069) and the zero-width characters; Zl and Zp are the line and paragraph separators;
 * Default_Ignorable_Code_Point adds the invisible ones outside Cf (U+034F COMBINING GRAPHEME
 * JOINER, the variation selectors, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0 …).
 */
const INVISIBLE = '\\p{Default_Ignorable_Code_Point}';

/**
 * Two of them are spelling, not tricks: ZERO WIDTH NON-JOINER and JOINER (U+200C, U+200D) shape
 * words in the Arabic-script, Indic and a few other scripts, so internationalised email addresses
 * (RFC 6531) may hold them. They pass between two visible letters or marks of those scripts only:
 * never at the end of a word, beside another invisible character, or in any other script, where
 * one changes nothing visible ('ad\u200dmin' prints as 'admin', as '管\u200d理' as '管理').
 * IDNA's own rule (RFC 5892 A.1, A.2) also asks for a virama or a joining type, which a regular
 * expression cannot tell; within these scripts, this one is looser, and it refuses a joiner that
 * ends a word after a virama (an older spelling of Malayalam's chillu letters).
 * @see https://www.rfc-editor.org/rfc/rfc5892#appendix-A.1
 */
const JOINER_SCRIPTS = ['Arabic', 'Syriac', 'Nko', 'Mongolian', 'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Myanmar', 'Khmer', 'Tibetan'];
const JOINABLE = `[[[\\p{L}\\p{M}]&&[${JOINER_SCRIPTS.map((script) => `\\p{scx=${script}}`).join('')}]]--${INVISIBLE}]`;
const ALLOWED_JOINER = `(?<=${JOINABLE})[\\u200c\\u200d](?=${JOINABLE})`;

const UNSAFE = `(?!${ALLOWED_JOINER})[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}${INVISIBLE}]`;
// The 'v' flag, for the set operations (&&, --) in JOINABLE.
const UNSAFE_CHARACTER = new RegExp(UNSAFE, 'v');
const UNSAFE_OR_SPACE_RUN = new RegExp(`(?:${UNSAFE}|\\s)+`, 'gv');
/** What JSON.stringify leaves raw: it escapes C0 itself, and its own line breaks must stay. */
const UNSAFE_IN_JSON = new RegExp(`(?!${ALLOWED_JOINER})[\\u007f-\\u009f\\p{Cf}\\p{Zl}\\p{Zp}${INVISIBLE}]`, 'gv');

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
