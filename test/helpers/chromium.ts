import puppeteer from 'puppeteer';
import { findBrowser, systemBrowserSources } from '../../login-helper/browser-path.ts';

/** The Chromium the tests drive: found the way the login helper finds it ($PUPPETEER_EXECUTABLE_PATH first). */
export function systemChromium(): string {
  return findBrowser(systemBrowserSources(undefined, process.env.PUPPETEER_EXECUTABLE_PATH, () => puppeteer.executablePath()));
}
