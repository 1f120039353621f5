// node web/test/panel.js URL SELECTOR SCREENSHOT.png — opens a page in Debian's headless
// Chromium (puppeteer-core; CHROMIUM overrides /usr/bin/chromium), waits until the element
// SELECTOR holds a drawn graph (an SVG path with at least 2 points: a Prometheus console
// PromConsole.Graph), screenshots that element and prints one JSON line: the number of points
// drawn, the y axis labels, the element's size and the page's errors. Exit 0 when a graph was
// drawn (within 60 s), 1 if not, 2 on usage.
'use strict';
const puppeteer = require('puppeteer-core');

async function main() {
  const [url, selector, shot] = process.argv.slice(2);
  if (!url || !selector || !shot) {
    console.error('usage: node panel.js URL SELECTOR SCREENSHOT.png');
    process.exit(2);
  }
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--window-size=1200,900'],
  });
  const out = { error: null, errors: [] };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    page.on('pageerror', (e) => out.errors.push(e.message));
    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    await page
      .waitForFunction((s) => {
        const p = document.querySelector(s + ' svg path');
        return p && (p.getAttribute('d') || '').split(/[LM]/).length > 2;
      }, { timeout: 60000, polling: 250 }, selector)
      .catch((e) => { out.error = 'no graph drawn: ' + e.message; });
    Object.assign(out, await page.evaluate((s) => {
      const el = document.querySelector(s);
      const path = el && el.querySelector('svg path');
      const r = el ? el.getBoundingClientRect() : { width: 0, height: 0 };
      return {
        points: path ? (path.getAttribute('d') || '').split(/[LM]/).length - 1 : 0,
        yLabels: el ? Array.from(el.querySelectorAll('.y_ticks text, .y_ticks .title, text')).map((t) => t.textContent).slice(0, 10) : [],
        width: r.width, height: r.height,
      };
    }, selector));
    const el = await page.$(selector);
    if (el) await el.screenshot({ path: shot });
  } catch (e) {
    out.error = e.message;
  }
  await browser.close();
  console.log(JSON.stringify(out));
  process.exit(!out.error && out.points >= 2 ? 0 : 1);
}

main();
