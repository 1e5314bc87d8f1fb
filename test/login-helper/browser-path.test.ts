import test from 'ava';
import { findBrowser, type BrowserPathSources } from '../../login-helper/browser-path.ts';
import { isLoginError } from '../../login-helper/errors.ts';

const PUPPETEER_CHROME = '/home/dev/.cache/puppeteer/chrome/linux-1/chrome-linux64/chrome';

/** Sources where exactly the files in `existing` exist. */
function machine(existing: string[], overrides: Partial<BrowserPathSources> = {}): BrowserPathSources {
  return { puppeteerPath: () => PUPPETEER_CHROME, exists: (file) => existing.includes(file), platform: 'linux', ...overrides };
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
