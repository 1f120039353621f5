// The player page's logic (see index.html). Pays one tick per second of playback, a few
// seconds ahead of the play head: tick i reveals w(i) of the lane's hash chain, w(i-1) =
// SHA-256(w(i)), w(length) = the seed — computed here with WebCrypto, checked against the
// commitment's top before anything is sent. The gateway hands ticks to its channel role, which
// stores them before it answers; a segment past what was paid (plus the gateway's credit) is
// answered 402, which the loader retries once more is paid.
'use strict';

(async function main() {
  const $ = (id) => document.getElementById(id);
  const show = (id, text) => { $(id).textContent = text; };
  const fail = (why) => { show('state', 'stopped'); $('error').textContent = String(why); window.poePlayer.error = String(why); };
  window.poePlayer = { paid: 0, ticksSent: 0, error: null, receipts: [] };

  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const unhex = (text) => {
    if (!/^([0-9a-f]{2})*$/i.test(text)) throw new Error('not hex: ' + text.slice(0, 16));
    return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
  };

  const p = new URLSearchParams(location.hash.slice(1));
  const token = p.get('token'), content = p.get('content'), commit = p.get('commit') || '', seed = p.get('seed') || '';
  const length = parseInt(p.get('length') || '0', 10);
  if (!token || !/^[0-9a-f]{64}$/.test(content || '')) return fail('this page needs a session link: #token=..&content=..[&commit=..&seed=..&length=..]');
  const base = `/t/${token}`;
  const paying = commit !== '';
  if (paying && !(crypto && crypto.subtle)) return fail('WebCrypto is unavailable: open the page over https or on localhost');
  if (typeof Hls === 'undefined' || !Hls.isSupported()) return fail('hls.js is not loaded or this browser has no Media Source Extensions');

  async function post(what, body, type) {
    const r = await fetch(`${base}/${what}`, { method: 'POST', body, headers: { 'Content-Type': type } });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`POST ${what}: HTTP ${r.status} ${j.detail || j.reason || ''}`);
    return j;
  }

  // The hash chain, checked against the commitment (channel 32 ‖ lane 4 ‖ content 32 ‖ top 32 ‖ ...).
  const w = new Array(length + 1);
  if (paying) {
    show('state', 'preparing the payment chain');
    const c = unhex(commit);
    if (length < 1 || c.length < 112) return fail('a bad commitment or chain length in the link');
    let price = 0n;
    for (const b of c.slice(104, 112)) price = (price << 8n) | BigInt(b);
    show('price', `${price} a second, ${length} s at most on this lane`);
    w[length] = unhex(seed);
    for (let i = length; i > 0; --i) w[i - 1] = new Uint8Array(await crypto.subtle.digest('SHA-256', w[i]));
    if (hex(w[0]) !== hex(c.slice(68, 100))) return fail('the seed does not match the commitment');
    try {
      await post('lane', commit, 'text/plain');
    } catch (e) {
      return fail(e);
    }
  }

  let busy = false;
  async function payTo(n) {
    n = Math.min(n, length);
    if (!paying || busy || n <= window.poePlayer.paid) return;
    busy = true;
    try {
      const ticks = [];
      for (let i = window.poePlayer.paid + 1; i <= n; ++i) ticks.push({ index: i, w: hex(w[i]) });
      const j = await post('ticks', JSON.stringify({ ticks }), 'application/json');
      if (!j.acks.every((a) => a.ok)) throw new Error('a tick was refused: ' + JSON.stringify(j.acks.find((a) => !a.ok)));
      window.poePlayer.paid = n;
      window.poePlayer.ticksSent += ticks.length;
      show('paid', `${n} s (${j.acks[j.acks.length - 1].owed} owed to the gateway)`);
    } catch (e) {
      fail(e);
    } finally {
      busy = false;
    }
  }
  await payTo(3);

  const video = $('video');
  const retry402 = {
    maxNumRetry: 60, retryDelayMs: 500, maxRetryDelayMs: 1000,
    // 402: paid too little so far; the next tick opens it.
    shouldRetry: (cfg, count, timeout, response, retry) => retry || (response && response.code === 402 && count < cfg.maxNumRetry),
  };
  const hls = new Hls({
    maxBufferLength: 6,
    maxMaxBufferLength: 10,
    fragLoadPolicy: { default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 30000, timeoutRetry: retry402, errorRetry: retry402 } },
  });
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) fail(`hls.js: ${d.type} ${d.details}`); });
  hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => {
    show('state', `playing (${d.levels.map((l) => l.height + 'p').join(', ')})`);
    video.play().catch((e) => fail(e));
  });
  hls.loadSource(`${base}/content/${content}/master.m3u8`);
  hls.attachMedia(video);

  setInterval(() => {
    show('played', `${video.currentTime.toFixed(1)} s`);
    payTo(Math.floor(video.currentTime) + 4);
  }, 250);
  setInterval(async () => {
    const r = await fetch(`${base}/session`).catch(() => null);
    if (!r || !r.ok) return;
    const s = await r.json();
    window.poePlayer.receipts = s.receipts;
    show('session', `${s.session.slice(0, 16)}… lane ${s.lane}: ${s.paid_seconds} s paid, ${s.segments} segments${s.ended ? ', ended' : ''}`);
    if (s.receipts.length)
      show('receipts', s.receipts.map((x) => `#${x.sequence} ${x.seconds} s ${x.id} (${x.status})`).join('; '));
  }, 2000);
})();
