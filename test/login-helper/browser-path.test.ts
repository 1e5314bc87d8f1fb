import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { findBrowser, systemBrowserSources, type BrowserPathSources, type FileKind } from '../../login-helper/browser-path.ts';
import { isLoginError } from '../../login-helper/errors.ts';
import { tempFolder } from './_fakes.ts';

const PUPPETEER_CHROME = '/home/dev/.cache/puppeteer/chrome/linux-1/chrome-linux64/chrome';

/** Sources where exactly the files in `existing` exist, as executables unless `others` says what they are. */
function machine(existing: string[], overrides: Partial<BrowserPathSources> = {}, others: Record<string, FileKind> = {}): BrowserPathSources {
  const kind = (file: string): FileKind => others[file] ?? (existing.includes(file) ? 'executable' : 'missing');
  return { puppeteerPath: () => PUPPETEER_CHROME, kind, platform: 'linux', ...overrides };
}

test('--browser wins over everything else', (t) => {
  const sources = machine(['/opt/chrome', '/env/chrome', PUPPETEER_CHROME, '/usr/bin/chromium'], { flag: '/opt/chrome', env: '/env/chrome' });
  t.is(findBrowser(sources), '/opt/chrome');
});

test('then PUPPETEER_EXECUTABLE_PATH', (t) => {
  t.is(findBrowser(machine(['/env/chrome', PUPPETEER_CHROME], { env: '/env/chrome' })), '/env/chrome');
});

test("then Puppeteer's own Chrome, when it was downloaded", (t) => {
  t.is(findBrowser(machine([PUPPETEER_CHROME, '/usr/bin/chromium'])), PUPPETEER_CHROME);
});

test('then an installed Chromium or Chrome, in the documented order', (t) => {
  t.is(findBrowser(machine(['/usr/bin/chromium', '/usr/bin/google-chrome'])), '/usr/bin/chromium');
  t.is(findBrowser(machine(['/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'])), '/usr/bin/google-chrome');
});

test("skips Puppeteer's Chrome when Puppeteer cannot even name it", (t) => {
  const sources = machine(['/usr/bin/chromium-browser'], {
    puppeteerPath: () => {
      throw new Error('Could not find Chrome');
    },
  });
  t.is(findBrowser(sources), '/usr/bin/chromium-browser');
});

test('looks in the macOS application folders on macOS', (t) => {
  const app = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
  t.is(findBrowser(machine([app, '/usr/bin/chromium'], { platform: 'darwin' })), app);
});

test('a --browser or PUPPETEER_EXECUTABLE_PATH that does not exist is an error naming it, not skipped', (t) => {
  const flag = t.throws(() => findBrowser(machine(['/usr/bin/chromium'], { flag: '/typo/chrome' })));
  t.true(isLoginError(flag, 'NO_BROWSER'));
  t.regex(flag!.message, /--browser names \/typo\/chrome/);
  const env = t.throws(() => findBrowser(machine(['/usr/bin/chromium'], { env: '/gone/chrome' })));
  t.regex(env!.message, /PUPPETEER_EXECUTABLE_PATH names \/gone\/chrome/);
});

test('no browser at all: NO_BROWSER, saying how to install one or set --browser', (t) => {
  const error = t.throws(() => findBrowser(machine([])));
  t.true(isLoginError(error, 'NO_BROWSER'));
  t.regex(error!.message, /apt install chromium/);
  t.regex(error!.message, /--browser/);
});

test('a --browser that is a directory or not executable is NO_BROWSER naming the problem, before Chromium is started', (t) => {
  const directory = t.throws(() => findBrowser(machine(['/usr/bin/chromium'], { flag: '/tmp' }, { '/tmp': 'directory' })));
  t.true(isLoginError(directory, 'NO_BROWSER'));
  t.is(directory!.message, '--browser names /tmp, which is a directory');
  const plain = t.throws(() => findBrowser(machine(['/usr/bin/chromium'], { env: '/etc/hostname' }, { '/etc/hostname': 'not-executable' })));
  t.true(isLoginError(plain, 'NO_BROWSER'));
  t.is(plain!.message, 'PUPPETEER_EXECUTABLE_PATH names /etc/hostname, which is not an executable file');
});

test('a bare --browser name is looked up on PATH, in order, skipping what is not executable', (t) => {
  const searchPath = '/home/dev/bin::/usr/local/bin:/usr/bin';
  // `chromium` in the working folder is not what a bare name means, and the empty entry does not bring it in.
  const others: Record<string, FileKind> = { '/home/dev/bin/chromium': 'not-executable', chromium: 'executable' };
  t.is(findBrowser(machine(['/usr/local/bin/chromium', '/usr/bin/chromium'], { flag: 'chromium', searchPath }, others)), '/usr/local/bin/chromium');

  const error = t.throws(() => findBrowser(machine(['/usr/bin/chromium'], { flag: 'chrome', searchPath })));
  t.true(isLoginError(error, 'NO_BROWSER'));
  t.is(error!.message, '--browser names chrome, which is not an executable file on PATH');
});

test("an installed browser that is not executable is skipped like a missing one", (t) => {
  t.is(findBrowser(machine(['/usr/bin/google-chrome'], {}, { [PUPPETEER_CHROME]: 'not-executable', '/usr/bin/chromium': 'directory' })), '/usr/bin/google-chrome');
});

test('on the real file system: a directory, a file without the x bit, and a name on PATH', async (t) => {
  const root = await tempFolder(t, 'browser-path-');
  const bin = path.join(root, 'bin');
  await mkdir(bin);
  const browser = path.join(bin, 'my-chromium');
  await writeFile(browser, '#!/bin/sh\n');
  await chmod(browser, 0o755);
  const text = path.join(root, 'notes.txt');
  await writeFile(text, 'not a browser');
  await chmod(text, 0o644);
  const real = (flag: string) => findBrowser(systemBrowserSources(flag, undefined, () => '', `${path.join(root, 'empty')}${path.delimiter}${bin}`));

  t.is(real(browser), browser);
  t.is(real('my-chromium'), browser);
  t.throws(() => real(root), { message: `--browser names ${root}, which is a directory` });
  t.throws(() => real(text), { message: `--browser names ${text}, which is not an executable file` });
  t.throws(() => real(path.join(root, 'gone')), { message: /which does not exist$/ });
  t.throws(() => real('notes.txt'), { message: '--browser names notes.txt, which is not an executable file on PATH' });
});
