// node web/test/play.js URL SCREENSHOT.png [SECONDS] — plays the gateway's player page in
// Debian's headless Chromium (puppeteer-core drives /usr/bin/chromium; CHROMIUM overrides) until
// the video's currentTime passes SECONDS (default 10), then screenshots the video element and
// prints one JSON line: currentTime, what the page paid, the mean brightness of the current
// frame (drawn to a canvas) and the page's error, if any. Exit 0 when it played that far, 1 if
// not (within 120 s), 2 on usage.
'use strict';
const puppeteer = require('puppeteer-core');

async function main() {
  const [url, shot, seconds = '10'] = process.argv.slice(2);
  if (!url || !shot) {
    console.error('usage: node play.js URL SCREENSHOT.png [SECONDS]');
    process.exit(2);
  }
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--window-size=1280,900'],
  });
  let out = { error: null };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    const target = Number(seconds);
    await page
      .waitForFunction((t) => (document.getElementById('video').currentTime > t) || (window.poePlayer && window.poePlayer.error),
        { timeout: 120000, polling: 250 }, target)
      .catch((e) => { out.error = 'timed out: ' + e.message; });
    const video = await page.$('video');
    await video.screenshot({ path: shot });
    Object.assign(out, await page.evaluate(() => {
      const v = document.getElementById('video');
      const c = document.createElement('canvas');
      c.width = 160;
      c.height = 90;
      const g = c.getContext('2d');
      g.drawImage(v, 0, 0, c.width, c.height);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
      const p = window.poePlayer || {};
      return {
        currentTime: v.currentTime, width: v.videoWidth, height: v.videoHeight, brightness: sum / (d.length / 4),
        paid: p.paid, ticksSent: p.ticksSent, receipts: p.receipts, pageError: p.error,
        state: document.getElementById('state').textContent,
      };
    }));
    out.logs = logs.slice(-20);
    console.log(JSON.stringify(out));
    process.exit(out.currentTime > target && !out.pageError ? 0 : 1);
  } finally {
    await browser.close().catch(() => {});
  }
}

main().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
