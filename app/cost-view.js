// Cost summary in the model's properties: FLOPs and parameters by op type and by module,
// and the CLI's reports (`python -m wetron cost --csv / --md`) as downloads.
//
// The tables are sums of the graph document's per-node cost (g.cost, computed by
// py/wetron/cost.py at parse time), added up the way cost.summary() does: no worker
// request, so showing the model view (which happens on every open) never keeps the parse
// worker busy (a busy worker is restarted when the next model opens). The downloads are
// asked of the worker only when clicked.

import { el, formatCount, humanCount, polyText } from './sidebar.js';
import { opTitle } from './graph-view.js';

const MODULE_DEPTH = 2;     // top-level modules and one level below, as `wetron cost`
const MAX_ROWS = 200;       // the rest is in the Markdown download

// cost.summary()'s by_op: per op, None counted as 0, `unknown` = nodes whose FLOPs are None
// (FLOPs and unknown over the nodes one run runs: g.cost.not_run are in no sum). name:
// the op's display name (the operators table: TFLite CONV_2D -> Conv2D).
// With sizes needed, `exact` is the op's FLOPs as an exact polynomial of them (its nodes'
// g.cost.exact plus the counted ones), null when one of them has none. Ranked as
// cost.ranked(): by FLOPs where that order holds at every size, else by op type; share:
// the fraction of the total where exact, else null (the % column is then blank).
export function costByOp(doc, g) {
  const c = g.cost.nodes, rows = new Map(), notRun = new Set(g.cost.not_run || []);
  const total = g.cost.total || {}, needs = (total.needs || []).length > 0;
  const exact = new Map(((g.cost.exact || {}).flops || []).map(([i, p]) => [i, p]));
  g.nodes.forEach((node, i) => {
    let r = rows.get(node.op);
    if (!r) rows.set(node.op, r = { op: node.op, name: opTitle(doc, node), nodes: 0, unknown: 0, unsized: 0, params: 0, flops: 0, exact: new Map() });
    r.nodes++;
    r.params += c.params[i] || 0;
    if (notRun.has(i)) return;
    if (c.flops[i] == null) {
      r.unknown++;
      const p = exact.get(i);
      if (p && r.exact) {
        r.unsized++;
        for (const [coef, names] of p) { const k = names.join('\u0000'); r.exact.set(k, (r.exact.get(k) || 0) + coef); }
      } else r.exact = null;
    } else r.flops += c.flops[i];
  });
  const list = [...rows.values()];
  for (const r of list) {   // as [[coef, names]]: counted part as the constant term
    if (!needs || !r.exact || !r.unsized || r.unknown > r.unsized) { r.exact = null; continue; }
    if (r.flops) r.exact.set('', (r.exact.get('') || 0) + r.flops);
    r.exact = [...r.exact].filter(([, v]) => v).map(([k, v]) => [v, k ? k.split('\u0000') : []])
      .sort((a, b) => b[1].length - a[1].length || (a[1].join() < b[1].join() ? -1 : 1));
  }
  const byName = (a, b) => (a.op < b.op ? -1 : a.op > b.op ? 1 : 0);
  if (!total.unknown) {   // complete: Python's sorted(key=(-flops, op))
    for (const r of list) r.share = total.flops ? r.flops / total.flops : null;
    return list.sort((a, b) => b.flops - a.flops || byName(a, b));
  }
  const whole = total.flops_exact;
  const lead = new Map();
  if (whole && whole.length === 1 && !Object.keys(total.not_counted || {}).length) {
    const term = whole[0][1].join('\u0000');
    const one = list.every((r) => {
      const f = r.exact || (r.unknown ? null : r.flops ? [[r.flops, []]] : []);
      if (!f || f.length > 1 || (f.length && f[0][1].join('\u0000') !== term)) return false;
      lead.set(r.op, f.length ? f[0][0] : 0);
      return true;
    });
    if (one) {
      for (const r of list) r.share = lead.get(r.op) / whole[0][0];
      return list.sort((a, b) => lead.get(b.op) - lead.get(a.op) || byName(a, b));
    }
  }
  for (const r of list) r.share = null;
  return list.sort(byName);
}

// cost.summary()'s by_module: groups less than MODULE_DEPTH levels deep, in group order.
export function costByModule(g) {
  const sums = g.cost.groups, groups = g.groups || [];
  if (!sums) return [];
  const level = [], rows = [];
  groups.forEach((grp, i) => {
    level.push(grp.parent < 0 ? 0 : level[grp.parent] + 1);
    if (level[i] < MODULE_DEPTH) {
      rows.push({ module: grp.path, nodes: grp.nodes, params: sums.params[i] || 0, flops: sums.flops[i] || 0, unknown: sums.unknown[i] || 0 });
    }
  });
  return rows;
}

// A sum over nodes some of which could not be counted: "≥ n", or "not counted" if none was.
// span: columns the "not counted" cell may take (the op table's % has nothing to show then).
function sumCell(n, unknown, nodes, span = 1, { exact = null, needsSizes = false } = {}) {
  if (exact) {
    return el('td', { class: 'cs-num cs-exact', 'data-value': String(n), text: polyText(exact).replace(/·/g, '·\u200b'),   // (breaks between factors)
      title: `exact: ${polyText(exact, formatCount)}` });
  }
  if (unknown && needsSizes) {
    return el('td', { class: 'cs-num cs-muted cs-needs-sizes', 'data-value': String(n), text: 'needs sizes',
      title: `counted so far ${formatCount(n)} (${formatCount(unknown)} nodes need sizes)` });
  }
  if (unknown >= nodes) {
    return el('td', { class: 'cs-num cs-muted', text: 'not counted', title: 'op, shapes or sizes unknown', colspan: String(span), 'data-value': String(n) });
  }
  return el('td', { class: 'cs-num', 'data-value': String(n), text: `${unknown ? '≥ ' : ''}${humanCount(n)}`,
    title: `${formatCount(n)}${unknown ? ` (${formatCount(unknown)} nodes not counted)` : ''}` });
}

function table(head, rows, cells) {
  const body = rows.slice(0, MAX_ROWS).map((r) => el('tr', {}, ...cells(r)));
  const more = rows.length > MAX_ROWS
    ? el('tr', {}, el('td', { class: 'cs-muted', colspan: String(head.length), text: `… ${formatCount(rows.length - MAX_ROWS)} more (in the Markdown download)` }))
    : null;
  return el('table', { class: 'cs-table' },
    el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', { class: i ? 'cs-num' : '', text: h })))),
    el('tbody', {}, ...body, more));
}

function download(text, name, mime) {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = el('a', { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// {op: nodes} -> "3 ops of 2 types (NonMaxSuppression x2, TopK)", as wetron.cost.not_counted_text;
// name: op type -> the name to show (default the type itself).
export function notCountedText(notCounted, name = (op) => op) {
  const entries = Object.entries(notCounted || {});
  const n = entries.reduce((a, [, k]) => a + k, 0);
  const kinds = entries.map(([op, k]) => (k === 1 ? name(op) : `${name(op)} x${k}`)).join(', ');
  return `${formatCount(n)} op${n !== 1 ? 's' : ''} of ${entries.length} type${entries.length !== 1 ? 's' : ''} (${kinds})`;
}

// --- the Sizes panel: the model's symbolic sizes, set by the user ---
// Listed: the sizes a user may set (doc.model.sizes.symbols: the main graph inputs'
// symbols and those the model states). An input holds the value the figures are at:
// the one the user set, or the one the model states (marked so); empty: not set (no
// default: what needs it is not counted). Apply hands {symbol: int} to onApply (the
// viewer's setSizes: the parse worker computes shapes and cost again); its error, e.g.
// a size the model does not have, is shown under the button.
const SIZE_PATTERN = /^[1-9][0-9]{0,9}$/;
const MAX_SIZE = 2 ** 31 - 1;   // wetron.sizes.MAX_SIZE

export function sizesPanel(doc, g, onApply) {
  const info = doc.model.sizes || {}, stated = info.stated || {}, user = doc.userSizes || {};
  const at = (g.cost && g.cost.symbols) || {}, needs = (g.cost && g.cost.total && g.cost.total.needs) || [];
  const names = [...new Set([...(info.symbols || []), ...Object.keys(user)])];
  if (!names.length) return null;
  const fields = new Map();
  const rows = names.map((name) => {
    const value = user[name] ?? at[name] ?? stated[name];
    const field = el('input', { class: 'sz-input', type: 'text', inputmode: 'numeric', 'data-size': name,
      'aria-label': `size ${name}`, placeholder: 'not set', value: value != null ? String(value) : '' });
    field.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
    fields.set(name, field);
    const fromModel = user[name] == null && stated[name] != null;
    return el('div', { class: 'sb-row' }, el('div', { class: 'sb-key sb-mono', text: name, title: name }),
      el('div', { class: 'sb-value' }, field,
        fromModel ? el('span', { class: 'sb-type sz-stated', text: 'from the model', title: 'The model file states this size' }) : null));
  });
  const status = el('div', { class: 'sb-muted sz-status' });
  const button = el('button', { class: 'btn small', type: 'button', text: 'Apply', title: 'Compute shapes and cost at these sizes' });
  async function apply() {
    const sizes = {};
    for (const [name, field] of fields) {
      const text = field.value.trim();
      if (!text) continue;
      if (!SIZE_PATTERN.test(text) || Number(text) > MAX_SIZE) {
        status.textContent = `${name}: wants an integer from 1 to ${formatCount(MAX_SIZE)}`;
        status.classList.add('sb-error');
        field.focus();
        return;
      }
      if (stated[name] != null && Number(text) === stated[name] && user[name] == null) continue;   // the model's own
      sizes[name] = Number(text);
    }
    button.disabled = true; status.textContent = 'Computing…'; status.classList.remove('sb-error');
    try {
      await onApply(sizes);   // the sidebar is redrawn with the new figures
    } catch (error) {
      button.disabled = false;
      status.textContent = error.message; status.classList.add('sb-error');
    }
  }
  button.addEventListener('click', apply);
  const note = needs.length
    ? el('p', { class: 'sb-muted sz-note', text: `Set ${needs.join(', ')} to count ${formatCount(g.cost.total.unsized)} more nodes: figures are never counted at a guessed size.` })
    : null;
  return [note, ...rows, el('div', { class: 'sb-actions sz-actions' }, button), status];
}

// The "Cost summary" section's children, or null when the graph has no cost.
// worker: the ParseWorker (downloads; null hides them); main: is g the main graph.
export function costSummary(doc, g, worker, main) {
  if (!g.cost || !g.cost.nodes || !g.nodes.length) return null;
  const total = g.cost.total || {};
  const byOp = costByOp(doc, g);
  const names = new Map(byOp.map((r) => [r.op, r.name]));
  const name = (op) => names.get(op) ?? op;
  const parts = [];
  // What is not in the sums: nodes that sizes would count, and the others by op type.
  if (total.unsized) {
    parts.push(el('p', { class: 'sb-muted cs-needs', text: total.flops_exact
      ? `exact in ${(total.needs || []).join(', ')}: set them in Sizes for numbers`
      : `needs sizes: set ${(total.needs || []).join(', ')} to count ${formatCount(total.unsized)} more nodes (until then, no shares)` }));
  }
  if (total.not_counted && Object.keys(total.not_counted).length) {
    parts.push(el('p', { class: 'sb-muted cs-not-counted', text: `not counted: ${notCountedText(total.not_counted, name)}` }));
  }
  if (total.not_run && Object.keys(total.not_run).length) {
    parts.push(el('p', { class: 'sb-muted cs-not-run', text: `one inference runs ${g.cost.run || 'part of the graph'}: not run, in no sum: ${notCountedText(total.not_run, name)}` }));
  }
  const needsSizes = (total.needs || []).length > 0;
  const otherwise = total.not_counted || {};
  // Exact multiples of one term (4.09G·batch): the term in the header, the cells its factor.
  const term = total.flops_exact && total.flops_exact.length === 1 && total.flops_exact[0][1].length
    && byOp.every((r) => r.share != null) ? polyText([[1, total.flops_exact[0][1]]]) : null;
  parts.push(table(['op', 'nodes', 'params', term ? `FLOPs/${term}` : 'FLOPs', '%'], byOp, (r) => {
    const flops = term
      ? el('td', { class: 'cs-num cs-exact', 'data-value': String(r.share), text: humanCount(Math.round(r.share * total.flops_exact[0][0])),
        title: r.exact ? `exact: ${polyText(r.exact, formatCount)}` : formatCount(r.flops) })
      : sumCell(r.flops, r.unknown, r.nodes, 2, { exact: r.exact, needsSizes: needsSizes && !otherwise[r.op] });
    if (!term && r.exact) flops.setAttribute('colspan', '2');   // (no share: the text wraps over %)
    return [
      el('td', { class: 'cs-op', text: r.name, title: r.name === r.op ? r.op : `${r.name} (${r.op})`, 'data-op': r.op }),
      el('td', { class: 'cs-num', text: formatCount(r.nodes), 'data-value': String(r.nodes) }),
      el('td', { class: 'cs-num', text: humanCount(r.params), title: formatCount(r.params), 'data-value': String(r.params) }),
      flops,
      flops.getAttribute('colspan') === '2' ? null : el('td', { class: 'cs-num cs-share', text: r.share != null ? `${(100 * r.share).toFixed(1)}%` : '',
        title: r.share != null ? '' : 'partial: no share until every figure is known' }),
    ];
  }));
  parts[parts.length - 1].classList.add('cs-by-op');
  const byModule = costByModule(g);
  if (byModule.length) {
    const t = table(['module', 'nodes', 'params', 'FLOPs'], byModule, (r) => [
      el('td', { class: 'cs-op', text: r.module, title: r.module.split('/').join(' › ') }),
      el('td', { class: 'cs-num', text: formatCount(r.nodes), 'data-value': String(r.nodes) }),
      el('td', { class: 'cs-num', text: humanCount(r.params), title: formatCount(r.params), 'data-value': String(r.params) }),
      sumCell(r.flops, r.unknown, r.nodes, 1, { needsSizes: (total.needs || []).length > 0 }),
    ]);
    t.classList.add('cs-by-module');
    parts.push(t);
  }
  // The reports cover the main graph (cost.to_csv / to_markdown), as the CLI does.
  if (worker && main) {
    const base = ((doc.model && doc.model.file) || 'model').replace(/\.[^.]*$/, '') || 'model';
    const status = el('div', { class: 'cs-status sb-muted' });
    const button = (text, format, ext, mime) => {
      const b = el('button', { class: 'btn small', type: 'button', text, 'data-format': format,
        title: format === 'csv' ? 'One row per node of the main graph (as `wetron cost --csv`)' : 'The summary (as `wetron cost --md`)',
        onclick: async () => {
          b.disabled = true; status.textContent = 'Writing…'; status.classList.remove('sb-error');
          try {
            const r = JSON.parse(await worker.costExport(format, doc.userSizes || null));
            download(r.text, `${base}-cost.${ext}`, mime);
            status.textContent = `Saved ${base}-cost.${ext}`;
          } catch (error) {
            status.textContent = error.message; status.classList.add('sb-error');
          }
          b.disabled = false;
        } });
      return b;
    };
    parts.push(el('div', { class: 'sb-actions cs-downloads' },
      button('Download CSV', 'csv', 'csv', 'text/csv'),
      button('Download Markdown', 'markdown', 'md', 'text/markdown')), status);
  }
  return parts;
}
