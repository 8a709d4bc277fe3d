// Cost summary in the model's properties: FLOPs and parameters by op type and by module,
// and the CLI's reports (`python -m wetron cost --csv / --md`) as downloads.
//
// The tables are sums of the graph document's per-node cost (g.cost, computed by
// py/wetron/cost.py at parse time), added up the way cost.summary() does: no worker
// request, so showing the model view (which happens on every open) never keeps the parse
// worker busy (a busy worker is restarted when the next model opens). The downloads are
// asked of the worker only when clicked.

import { el, formatCount, humanCount } from './sidebar.js';

const MODULE_DEPTH = 2;     // top-level modules and one level below, as `wetron cost`
const MAX_ROWS = 200;       // the rest is in the Markdown download

// cost.summary()'s by_op: per op, None counted as 0, `unknown` = nodes whose FLOPs are None.
export function costByOp(g) {
  const c = g.cost.nodes, rows = new Map();
  g.nodes.forEach((node, i) => {
    let r = rows.get(node.op);
    if (!r) rows.set(node.op, r = { op: node.op, nodes: 0, unknown: 0, params: 0, flops: 0 });
    r.nodes++;
    r.params += c.params[i] || 0;
    if (c.flops[i] == null) r.unknown++; else r.flops += c.flops[i];
  });
  // same order as Python's sorted(key=(-flops, op))
  return [...rows.values()].sort((a, b) => b.flops - a.flops || (a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
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
function sumCell(n, unknown, nodes, span = 1) {
  if (unknown >= nodes) {
    return el('td', { class: 'cs-num cs-muted', text: 'not counted', title: 'op or shapes unknown', colspan: String(span), 'data-value': String(n) });
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

// The "Cost summary" section's children, or null when the graph has no cost.
// worker: the ParseWorker (downloads; null hides them); main: is g the main graph.
export function costSummary(doc, g, worker, main) {
  if (!g.cost || !g.cost.nodes || !g.nodes.length) return null;
  const total = g.cost.total || {};
  const byOp = costByOp(g);
  const parts = [];
  parts.push(table(['op', 'nodes', 'params', 'FLOPs', '%'], byOp, (r) => [
    el('td', { class: 'cs-op', text: r.op, title: r.op }),
    el('td', { class: 'cs-num', text: formatCount(r.nodes), 'data-value': String(r.nodes) }),
    el('td', { class: 'cs-num', text: humanCount(r.params), title: formatCount(r.params), 'data-value': String(r.params) }),
    sumCell(r.flops, r.unknown, r.nodes, 2),
    r.unknown < r.nodes ? el('td', { class: 'cs-num', text: total.flops ? `${(100 * r.flops / total.flops).toFixed(1)}%` : '' }) : null,
  ]));
  parts[0].classList.add('cs-by-op');
  const byModule = costByModule(g);
  if (byModule.length) {
    const t = table(['module', 'nodes', 'params', 'FLOPs'], byModule, (r) => [
      el('td', { class: 'cs-op', text: r.module, title: r.module.split('/').join(' › ') }),
      el('td', { class: 'cs-num', text: formatCount(r.nodes), 'data-value': String(r.nodes) }),
      el('td', { class: 'cs-num', text: humanCount(r.params), title: formatCount(r.params), 'data-value': String(r.params) }),
      sumCell(r.flops, r.unknown, r.nodes),
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
            const r = JSON.parse(await worker.costExport(format));
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
