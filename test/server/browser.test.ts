import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import puppeteer from 'puppeteer';
import { chromiumArgs } from '../../login-helper/browser.ts';
import { TEST_IDS, testIdSelector } from '../../shared/constants.ts';
import { systemChromium } from '../helpers/chromium.ts';
import { startDevServer } from '../helpers/server.ts';

async function launchChromium(t: { teardown(fn: () => Promise<void> | void): void }) {
  const profile = mkdtempSync(path.join(tmpdir(), 'sso-browser-'));
  const browser = await puppeteer.launch({
    executablePath: systemChromium(),
    headless: true,
    userDataDir: profile,
    args: chromiumArgs({ isRoot: process.getuid?.() === 0, profileDir: profile }),
  });
  t.teardown(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

test('a person signs in through the development IdP form in Chromium, sees the success marker, and is asked before another site signs them out', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const browser = await launchChromium(t);
  const page = await browser.newPage();

  await page.goto(`${server.url}/login`);
  await page.waitForSelector('input[name="email"]');
  await page.type('input[name="email"]', 'chromium@example.com');
  await page.type('input[name="name"]', 'Chromium <User>');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);

  const marker = await page.waitForSelector(testIdSelector(TEST_IDS.loginSuccess));
  t.is(await marker?.evaluate((element) => element.textContent), 'Signed in as chromium@example.com.');
  t.true(page.url().startsWith(`${server.url}/callback`));

  // The browser's session now reaches protected routes and hands out the token.
  const me = await page.goto(`${server.url}/user/me`);
  t.is(me?.status(), 200);
  t.is(JSON.parse(await page.$eval('body', (body) => body.textContent ?? '')).name, 'Chromium <User>');
  const token = await page.goto(`${server.url}/user/token`);
  t.regex(await token!.text(), /^[\w-]+\.[\w-]+\.[\w-]+$/);

  // Another site (127.0.0.1 is not localhost's site) sends the browser to /logout: it asks first.
  await page.goto(`${server.address}/healthz`);
  await page.setContent(`<a id="away" href="${server.url}/logout">a link on another site</a>`);
  await Promise.all([page.waitForNavigation(), page.click('#away')]);
  const confirm = await page.waitForSelector(testIdSelector(TEST_IDS.logoutConfirm));
  const otherTab = await browser.newPage();
  t.is((await otherTab.goto(`${server.url}/user/token`))?.status(), 200, 'still signed in');
  await page.bringToFront();
  await Promise.all([page.waitForNavigation(), confirm!.click()]);
  t.is((await otherTab.goto(`${server.url}/user/token`))?.status(), 401, 'signed out once the user follows the link');
});

test('a forged callback shows the login-error marker in the browser', async (t) => {
  const server = await startDevServer();
  t.teardown(() => server.close());
  const browser = await launchChromium(t);
  const page = await browser.newPage();

  const response = await page.goto(`${server.url}/callback?code=stolen&state=forged`);
  t.is(response?.status(), 400);
  const marker = await page.waitForSelector(testIdSelector(TEST_IDS.loginError));
  t.regex((await marker?.evaluate((element) => element.textContent)) ?? '', /not started in this browser/);
});

test('a sign-in started at another address than PUBLIC_URL fails with a page that names the right one', async (t) => {
  const server = await startDevServer(); // PUBLIC_URL: http://localhost:<port>
  t.teardown(() => server.close());
  const browser = await launchChromium(t);
  const page = await browser.newPage();

  // The sign-in cookie is set for 127.0.0.1; the IdP sends the browser back to localhost.
  await page.goto(`${server.address}/login`);
  await page.locator('input[name="email"]').fill('elsewhere@example.com');
  await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').click()]);

  const marker = await page.waitForSelector(testIdSelector(TEST_IDS.loginError));
  t.true(page.url().startsWith(`${server.url}/callback`));
  t.regex((await marker?.evaluate((element) => element.textContent)) ?? '', new RegExp(`started at another address\\. Please start again at ${server.url}/login`));
});
