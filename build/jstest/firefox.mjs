// firefox.mjs: drives Debian's firefox-esr for internal/firefoxtest over
// WebDriver BiDi (puppeteer-core; no browser is downloaded). One JSON
// request a line on stdin, one JSON reply a line on stdout:
//
//   {"id":1,"op":"open","url":"http://..."}      -> {"id":1,"page":0}
//   {"id":2,"op":"eval","page":0,"expr":"1+1"}    -> {"id":2,"value":2}
//   {"id":3,"op":"close","page":0}                -> {"id":3}
//   any error                                      -> {"id":N,"error":"..."}
//
// Usage: node firefox.mjs FIREFOX PROFILE_DIR. It exits when stdin closes.
import puppeteer from 'puppeteer-core';
import { createInterface } from 'node:readline';

const [firefox, profile] = process.argv.slice(2);

// The prefs the tests need, and why (internal/firefoxtest says it too):
const prefs = {
  // A fake camera and microphone, and no permission prompt for them.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // ICE on loopback: Firefox skips loopback candidates and hides host
  // addresses behind mDNS names by default; the door (pion, mDNS off)
  // could not reach either.
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // The call's audio may play without a click.
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // No H.264: the Cisco OpenH264 plugin is never fetched (the test is
  // offline anyway), so this Firefox is the one of the issue: VP8, VP9 and
  // AV1 only.
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  'media.gmp-manager.url': 'http://127.0.0.1:9/',
  'media.gmp-provider.enabled': false,
};

const browser = await puppeteer.launch({
  browser: 'firefox',
  protocol: 'webDriverBiDi',
  executablePath: firefox,
  userDataDir: profile,
  headless: true,
  extraPrefsFirefox: prefs,
  args: ['--width=390', '--height=844'],
});

const pages = [];
const reply = (m) => process.stdout.write(JSON.stringify(m) + '\n');

async function handle(req) {
  switch (req.op) {
    case 'open': {
      const page = await browser.newPage();
      page.on('console', (m) => process.stderr.write(`firefox console: ${m.text()}\n`));
      await page.goto(req.url);
      pages.push(page);
      return { page: pages.length - 1 };
    }
    case 'eval': {
      const value = await pages[req.page].evaluate(req.expr);
      return { value: value === undefined ? null : value };
    }
    case 'close':
      await pages[req.page].close();
      return {};
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const req = JSON.parse(line);
  try {
    reply({ id: req.id, ...(await handle(req)) });
  } catch (err) {
    reply({ id: req.id, error: String(err && err.message || err) });
  }
}
await browser.close();
