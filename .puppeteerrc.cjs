// Skip Puppeteer's Chrome download when a system browser is already installed,
// so `npm install` works offline or behind a firewall; the login helper finds
// the system browser itself (see login-helper/browser-path.ts).
const fs = require('node:fs');

const systemBrowsers = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

const hasSystemBrowser =
  Boolean(process.env.PUPPETEER_EXECUTABLE_PATH) || systemBrowsers.some((path) => fs.existsSync(path));

/** @type {import("puppeteer").Configuration} */
module.exports = {
  skipDownload: hasSystemBrowser || process.env.PUPPETEER_SKIP_DOWNLOAD === 'true',
};
