// Tensor viewer, inside a weight's card in the sidebar: statistics (min, max, mean,
// std, zeros, NaN/Inf), a histogram, a preview of the first values, and "Save .npy".
// Everything is computed in the parse worker (py/wetron/tensor_stats.py) on request, so
// the page stays responsive; big tensors are sampled there, and the view says so.
// Strings from the file go through textContent only.

import { el, formatBytes, formatCount } from './sidebar.js';

const HIST_HEIGHT = 72;   // CSS pixels; the width is the card's

// A number of the statistics JSON as shown: non-finite values arrive as strings.
function formatNumber(x, integer) {
  if (x === null || x === undefined) return '–';
  if (typeof x === 'string') return x === 'Infinity' ? '+Inf' : x === '-Infinity' ? '-Inf' : x;
  if (integer && Number.isInteger(x)) return String(x);
  return String(+x.toPrecision(6));
}

// One preview value, by dtype: complex as [re, im], strings quoted.
function formatValue(x, dtype) {
  if (Array.isArray(x)) {
    const im = formatNumber(x[1]);
    return `${formatNumber(x[0])}${im.startsWith('-') ? '' : '+'}${im}j`;
  }
  if (dtype === 'string') return JSON.stringify(x);
  if (typeof x === 'boolean') return String(x);
  return formatNumber(x, true);
}

const percent = (n, of) => (of ? ` (${(100 * n / of).toPrecision(3)}%)` : '');

function row(key, value, stat, exact) {
  const v = el('span', { class: 'tv-value sb-mono', text: value });
  if (stat) { v.dataset.stat = stat; if (exact !== undefined) v.dataset.exact = JSON.stringify(exact); }
  return el('div', { class: 'tv-row' }, el('span', { class: 'tv-key', text: key }), v);
}

// Drawn once the canvas is in the page (its width is the card's).
function drawHistogram(canvas, hist) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round((canvas.clientWidth || 240) * ratio);
  canvas.height = Math.round(HIST_HEIGHT * ratio);
  const ctx = canvas.getContext('2d');
  const counts = hist.counts, top = Math.max(1, ...counts);
  const w = canvas.width / counts.length;
  ctx.fillStyle = getComputedStyle(canvas).color || '#4a7bd0';
  counts.forEach((c, i) => {
    if (!c) return;
    const h = Math.max(1, Math.round((c / top) * canvas.height));   // a non-empty bin shows
    ctx.fillRect(Math.floor(i * w), canvas.height - h, Math.max(1, Math.ceil(w) - 1), h);
  });
  // hovering tells the bin's range and count
  canvas.onmousemove = (e) => {
    const r = canvas.getBoundingClientRect();
    const i = Math.min(counts.length - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * counts.length)));
    const last = i === counts.length - 1;
    canvas.title = `[${formatNumber(hist.edges[i])}, ${formatNumber(hist.edges[i + 1])}${last ? ']' : ')'}: ${formatCount(counts[i])}`;
  };
}

function statsView(s) {
  const box = el('div', { class: 'tv-stats' });
  const integer = !/^(float|bfloat|complex|q\d|iq|tq|mxfp|nvfp)/.test(s.dtype);
  if (s.sampled) {
    const of = `${formatCount(s.read)} of ${formatCount(s.count)} elements`;
    const how = s.method === 'first' ? `the first ${of}` : `${of}, in ${s.windows.length} evenly spaced windows`;
    box.append(el('div', { class: 'tv-note', text: `sampled: ${how} (read cap ${formatCount(s.cap)})` }));
  }
  const rows = [];
  if (s.min !== undefined) {
    rows.push(row('min', formatNumber(s.min, integer), 'min', s.min), row('max', formatNumber(s.max, integer), 'max', s.max),
      row('mean', formatNumber(s.mean), 'mean', s.mean), row('std', formatNumber(s.std), 'std', s.std));
  }
  if (s.zeros !== undefined) rows.push(row(s.dtype === 'bool' ? 'false' : 'zeros', `${formatCount(s.zeros)}${percent(s.zeros, s.read)}`, 'zeros', s.zeros));
  if (s.ones !== undefined) rows.push(row('true', `${formatCount(s.ones)}${percent(s.ones, s.read)}`, 'ones', s.ones));
  if (s.nan !== undefined) rows.push(row('NaN', formatCount(s.nan), 'nan', s.nan));
  if (s.posinf !== undefined) rows.push(row('+Inf', formatCount(s.posinf), 'posinf', s.posinf), row('-Inf', formatCount(s.neginf), 'neginf', s.neginf));
  if (s.inf !== undefined) rows.push(row('Inf', formatCount(s.inf), 'inf', s.inf));
  box.append(el('div', { class: 'tv-grid' }, ...rows));
  if (s.histogram) {
    const h = s.histogram;
    const canvas = el('canvas', { class: 'tv-histogram', 'aria-label': `histogram: ${h.counts.length} bins` });
    canvas.style.height = `${HIST_HEIGHT}px`;
    box.append(canvas, el('div', { class: 'tv-axis sb-mono' },
      el('span', { text: formatNumber(h.edges[0]) }), el('span', { text: formatNumber(h.edges[h.edges.length - 1]) })));
    if (h.read < s.read) box.append(el('div', { class: 'tv-note', text: `histogram of ${formatCount(h.read)} of the elements read` }));
  }
  if (s.preview && s.preview.length) {
    const more = s.count > s.preview.length;
    box.append(el('pre', { class: 'tv-preview',
      text: `first ${s.preview.length}: ${s.preview.map((x) => formatValue(x, s.dtype)).join(', ')}${more ? ', …' : ''}` }));
  }
  return box;
}

// A safe file name from a tensor name ('conv1/weight:0' -> 'conv1_weight_0.npy').
function npyName(name) {
  return `${(name || 'tensor').replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '').slice(0, 120) || 'tensor'}.npy`;
}

// The tensor viewer of tensor `index` (t: its entry of doc.tensors); worker: app/workers.js ParseWorker.
export function tensorView(t, index, worker) {
  const root = el('div', { class: 'tv' });
  const out = el('div', { class: 'tv-out' });
  const status = el('div', { class: 'tv-note', role: 'status' });
  const statsButton = el('button', { class: 'btn small tv-stats-button', type: 'button', text: 'Statistics',
    title: 'Min, max, mean, std, zeros, NaN/Inf and a histogram of the values',
    onclick: async () => {
      statsButton.disabled = true; statsButton.textContent = 'Reading…';
      out.classList.remove('sb-error');
      try {
        const json = await worker.tensorStats(index, (message, msg) => {
          if (msg && msg.fraction != null) statsButton.textContent = `Reading… ${Math.round(msg.fraction * 100)}%`;
        });
        const stats = JSON.parse(json);
        out.replaceChildren(statsView(stats));
        const canvas = out.querySelector('canvas');
        if (canvas) drawHistogram(canvas, stats.histogram);
        statsButton.remove();
      } catch (error) {
        out.textContent = error.message; out.classList.add('sb-error');
        statsButton.disabled = false; statsButton.textContent = 'Statistics';
      }
    } });
  const npyButton = el('button', { class: 'btn small tv-npy-button', type: 'button', text: 'Save .npy',
    title: 'Download the values as a numpy .npy file (up to 512 MiB: it is built in this tab\'s memory)',
    onclick: async () => {
      npyButton.disabled = true; status.textContent = 'Writing .npy…'; status.classList.remove('sb-error');
      try {
        const { json, blob } = await worker.tensorNpy(index);
        const info = JSON.parse(json);
        const url = URL.createObjectURL(blob);
        const a = el('a', { href: url, download: npyName(t.name) });
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        status.textContent = `Saved ${npyName(t.name)} (${formatBytes(info.bytes)})${info.note ? `: ${info.note}` : ''}`;
      } catch (error) {
        status.textContent = error.message; status.classList.add('sb-error');
      }
      npyButton.disabled = false;
    } });
  root.append(el('div', { class: 'tv-buttons' }, statsButton, npyButton), status, out);
  return root;
}
