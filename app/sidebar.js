// The properties sidebar: a selected node (op, attributes, inputs/outputs, weights
// with their values on request), a graph input/output, or the model as a whole.
// Built with DOM nodes and textContent only: strings come from untrusted files.

import { CATEGORIES, dtypeName, inputName, opCategory, opInfo, opTitle, opTypeCategory, outputName, typeText, dimText, typeTitle } from './graph-view.js';
import { operatorSection, opVersion } from './op-docs.js';   // the op's documentation (opdocs/), on demand
import { tensorView } from './tensor-view.js';   // tensor viewer: statistics, histogram, .npy
import { costSummary, notCountedText, sizesPanel } from './cost-view.js';    // cost summary, downloads, the Sizes panel

export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null && c !== false) e.append(c);
  return e;
}

export const formatCount = (n) => Number(n).toLocaleString('en-US');
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n, i = -1;
  do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}
function humanCount(n) {
  for (const [unit, k] of [['G', 1e9], ['M', 1e6], ['K', 1e3]]) if (n >= k) return `${(n / k).toPrecision(3)}${unit}`;
  return String(n);
}
// Cost figures (py/wetron/cost.py): null means "not known" (a dim or op it can't count,
// or a symbolic size not set: never taken at a default). symbols: {symbol: value | null}.
// A graph's totals: name (op type -> the name shown), run (what one run is, g.cost.run).
function costRows(sidebar, figures, symbols, { name, run } = {}) {
  // A graph's totals tell the nodes that sizes would count from the others: with sizes
  // needed a figure is its exact polynomial of them (figures.macs_exact, py/wetron/cost.py)
  // or "needs sizes", the part counted so far only as secondary text.
  const needs = figures.needs && figures.needs.length ? figures.needs : null;
  const others = figures.not_counted ? Object.keys(figures.not_counted).length : 0;
  const partial = figures.unknown > 0, nothingKnown = partial && !figures.flops && !figures.macs;
  const atLeast = partial && (!needs || figures.unknown > figures.unsized) ? '≥ ' : '';
  const fig = (key) => {
    const n = figures[key], exact = figures[`${key}_exact`];
    if (exact) return el('span', { class: 'sb-exact', title: `exact in ${needs.join(', ')}: ${polyText(exact, formatCount)}` }, `${atLeast}${polyText(exact)}`);
    if (needs) {
      return el('span', {}, el('span', { class: 'sb-needs', text: `needs sizes: ${needs.join(', ')}` }),
        el('span', { class: 'sb-muted sb-so-far', text: ` (counted so far ${humanCount(n || 0)})` }));
    }
    return n == null || nothingKnown ? 'unknown' : `${atLeast}${formatCount(n)} (${humanCount(n)})`;
  };
  const rows = [
    sidebar.row('MACs', fig('macs')),
    sidebar.row('FLOPs', fig('flops')),
    figures.params ? sidebar.row('parameters', `${formatCount(figures.params)} (${humanCount(figures.params)})`) : null,
    needs ? sidebar.row('sizes', figures.flops_exact
      ? `exact in ${needs.join(', ')}: set them in Sizes below for numbers`
      : `set ${needs.join(', ')} in Sizes below to count ${formatCount(figures.unsized)} more nodes`) : null,
    others ? sidebar.row('not counted', notCountedText(figures.not_counted, name)) : null,
    figures.not_run && Object.keys(figures.not_run).length
      ? sidebar.row('one inference', `runs ${run || 'part of the graph'}; not run, in no sum: ${notCountedText(figures.not_run, name)}`) : null,
    partial && !needs && !figures.not_counted ? sidebar.row('not counted', `${formatCount(figures.unknown)} nodes (op, shapes or sizes unknown)`) : null,
    figures.activation_bytes != null ? sidebar.row('output size', needs
      ? el('span', {}, el('span', { class: 'sb-needs', text: `needs sizes: ${needs.join(', ')}` }),
        el('span', { class: 'sb-muted sb-so-far', text: ` (counted so far ${formatBytes(figures.activation_bytes)})` }))
      : formatBytes(figures.activation_bytes)) : null,
  ];
  const bound = Object.keys(symbols || {}).filter((k) => symbols[k] != null);
  if (bound.length) rows.push(sidebar.row('at', bound.map((k) => `${k}=${symbols[k]}`).join(', ')));
  return rows;
}
// An exact polynomial of sizes ([[coefficient, [size, ...]], ...], cost.poly_json) as
// text: "4.09G·batch", "6.14K·batch·sequence² + 9.44M·batch·sequence".
const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';
function polyText(terms, number = humanCount) {
  if (!terms.length) return '0';
  return terms.map(([coef, names], i) => {
    const powers = new Map();
    for (const s of names) powers.set(s, (powers.get(s) || 0) + 1);
    const factors = [...powers].map(([s, k]) => s + (k > 1 ? [...String(k)].map((d) => SUPERSCRIPT[d]).join('') : ''));
    const mag = Math.abs(coef);
    const text = [...(mag !== 1 || !factors.length ? [number(mag)] : []), ...factors].join('·');
    return (coef < 0 ? '- ' : i ? '+ ' : '') + text;
  }).join(' ');
}
const dims = (shape) => (shape ? `[${shape.map(dimText).join(', ')}]` : '[?]');   // (dimText: long expressions as "?")

function formatAttribute(attr, doc) {
  if (attr.ref) return `→ ${attr.ref}`;
  const v = attr.value;
  const tensor = (i) => { const t = doc.tensors[i]; return t ? `${t.dtype} ${dims(t.shape)}${t.name ? ` “${t.name}”` : ''}` : `tensor ${i}`; };
  const graph = (i) => { const g = doc.graphs[i]; return g ? `graph “${g.name}” (${g.nodes.length} nodes)` : `graph ${i}`; };
  switch (attr.type) {
    case 'tensor': case 'sparse_tensor': return tensor(v);
    case 'tensors': case 'sparse_tensors': return v.map(tensor).join('; ');
    case 'graph': return graph(v);
    case 'graphs': return v.map(graph).join('; ');
    case 'type_proto': return typeText(doc.types, v);
    case 'type_protos': return v.map((t) => typeText(doc.types, t)).join('; ');
  }
  if (attr.name === 'to' && attr.type === 'int') return `${v} (${dtypeName(v)})`;
  if (Array.isArray(v)) {
    const shown = v.slice(0, 64).map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x)));
    return `[${shown.join(', ')}${v.length > 64 ? `, … ${v.length - 64} more` : ''}]`;
  }
  return typeof v === 'string' && attr.type === 'strings' ? JSON.stringify(v) : String(v);
}

export class Sidebar {
  constructor(root, { onTensor, onSelectValue, onOpenGraph, onSelectNode = () => {}, onSelectBox = () => {} }) {
    this.root = root;
    this.onSelectNode = onSelectNode;   // (node index) -> select that node (a tensor's producer, consumers)
    this.onSelectBox = onSelectBox;     // (graph input/output value name) -> select its box
    this.onOpenGraph = onOpenGraph;     // (graph index) -> show that (sub)graph
    this.onTensor = onTensor;           // (tensor index) -> Promise<JSON text>
    this.onSelectValue = onSelectValue; // (value index) -> select its producer
  }

  clear() { this.root.replaceChildren(); }

  section(title, ...rows) {
    return el('section', { class: 'sb-section' }, el('h3', { text: title }), ...rows);
  }

  row(key, value, extra) {
    return el('div', { class: 'sb-row' }, el('div', { class: 'sb-key', text: key }),
      el('div', { class: 'sb-value' }, value instanceof Node ? value : el('span', { text: value }), extra));
  }

  header(title, subtitle, category) {
    const chip = el('span', { class: `sb-chip cat-${CATEGORIES[category] || 'other'}` });
    return el('header', { class: 'sb-header' }, chip,
      el('div', {}, el('h2', { text: title }), subtitle ? el('div', { class: 'sb-subtitle', text: subtitle }) : null));
  }

  valueLink(doc, graph, v) {
    const [name] = graph.values[v];
    return el('a', { href: '#', class: 'sb-link', text: name || '(unnamed)', title: 'Select the node that produces it',
      onclick: (e) => { e.preventDefault(); this.onSelectValue(v); } });
  }

  graphLink(doc, i) {
    const g = doc.graphs[i];
    const text = g ? `${g.name || `graph ${i}`} (${g.nodes.length} nodes)` : `graph ${i}`;
    return el('div', {}, el('a', { href: '#', class: 'sb-link', text, title: 'Show this graph',
      onclick: (e) => { e.preventDefault(); this.onOpenGraph(i); } }));
  }

  weightCard(doc, tensorIndex) {
    const t = doc.tensors[tensorIndex];
    const box = el('div', { class: 'sb-weight' });
    if (!t) return box;
    box.append(
      el('div', { class: 'sb-mono', text: `${t.dtype} ${dims(t.shape)}` }),
      el('div', { class: 'sb-muted', text: `${formatBytes(t.size || 0)} · ${t.location}${t.file ? ` (${t.file})` : ''}` }));
    if (t.error) box.append(el('div', { class: 'sb-error', text: t.error }));
    const out = el('pre', { class: 'sb-values', hidden: '' });
    const button = el('button', { class: 'btn small', type: 'button', text: 'Show values',
      onclick: async () => {
        button.disabled = true; button.textContent = 'Reading…';
        out.hidden = false; out.textContent = '';
        try {
          const r = JSON.parse(await this.onTensor(tensorIndex));
          if (r.error) { out.textContent = r.error; out.classList.add('sb-error'); }
          else {
            const fmt = (x) => (Array.isArray(x) ? `${fmt(x[0])}${x[1] < 0 ? '' : '+'}${fmt(x[1])}j` : typeof x === 'number' && !Number.isInteger(x) ? +x.toPrecision(6) : typeof x === 'string' && r.dtype === 'string' ? JSON.stringify(x) : x);
            out.textContent = `${formatCount(r.count)} values${r.truncated ? `, first ${r.values.length}` : ''}:\n` + r.values.map(fmt).join(', ') + (r.truncated ? ', …' : '');
          }
        } catch (error) { out.textContent = error.message; out.classList.add('sb-error'); }
        button.remove();
      } });
    if (t.location !== 'none' && !t.error) box.append(button);
    // tensor viewer (app/tensor-view.js); tensorWorker: the ParseWorker, set by main.js
    if (t.location !== 'none' && !t.error && this.tensorWorker) box.append(tensorView(t, tensorIndex, this.tensorWorker));
    box.append(out);
    return box;
  }

  showNode(doc, graphIndex, nodeIndex, groupPath) {
    const g = doc.graphs[graphIndex], node = g.nodes[nodeIndex];
    // the op's domain and version as the file gives them (docs/graph-schema.md, "operators")
    const info = opInfo(doc, node), domain = (info && info.domain) || node.domain, version = opVersion(info, node);
    const parts = [this.header(opTitle(doc, node), domain || null, opCategory(doc, node))];
    const props = [this.row('name', node.name || '(unnamed)')];
    if (opTitle(doc, node) !== node.op) props.push(this.row('type', el('span', { class: 'sb-mono', text: node.op })));
    props.push(this.row('domain', domain || '(none given)'));
    if (version) props.push(this.row(version.key, version.text));
    if (groupPath) props.push(this.row('module', groupPath));
    parts.push(this.section('Node', ...props));
    if (node.attrs && node.attrs.length) {
      const value = (a) => {
        if (a.type !== 'graph' && a.type !== 'graphs') return el('span', { class: 'sb-mono', text: formatAttribute(a, doc) });
        const list = el('div', {});
        for (const i of Array.isArray(a.value) ? a.value : [a.value]) list.append(this.graphLink(doc, i));
        return list;
      };
      parts.push(this.section('Attributes', ...node.attrs.map((a) =>
        this.row(a.name, value(a), el('span', { class: 'sb-type', text: a.type })))));
    }
    const inferred = new Set(g.inferred || []);
    const quant = new Map(g.quantization || []);
    const quantText = (q) => {
      const list = (k) => (q[k] ? `${k.replace('_', ' ')} ${q[k].slice(0, 4).map((x) => (typeof x === 'number' ? +x.toPrecision(4) : x)).join(', ')}${(q[`${k}_count`] || q[k].length) > 4 ? ', …' : ''}` : null);
      return ['quantized:', list('scale'), list('zero_point')].filter(Boolean).join(' ');
    };
    const valueRow = (slotName, v, isInput) => {
      if (v < 0) return this.row(slotName, el('span', { class: 'sb-muted', text: '(omitted)' }));
      const [name, type, tensor] = g.values[v];
      const q = quant.has(v) ? el('div', { class: 'sb-mono sb-muted', text: quantText(quant.get(v)) }) : null;
      if (tensor != null) {
        return this.row(slotName, el('div', {}, el('div', { class: 'sb-mono sb-name', text: name }), this.weightCard(doc, tensor), q));
      }
      const label = isInput ? this.valueLink(doc, g, v) : el('span', { class: 'sb-mono sb-name', text: name });
      const typeLine = el('div', { class: 'sb-mono sb-muted', text: typeText(doc.types, type) });
      if (inferred.has(v)) typeLine.append(el('span', { class: 'sb-type', text: ' inferred', title: 'Shape derived by Wetron, not declared in the file' }));
      return this.row(slotName, el('div', {}, label, typeLine, q));
    };
    if (node.in.length) parts.push(this.section('Inputs', ...node.in.map((v, i) => valueRow(inputName(doc, node, i, v >= 0 ? g.values[v][0] : ''), v, true))));
    if (node.out.length) parts.push(this.section('Outputs', ...node.out.map((v, i) => valueRow(outputName(doc, node, i), v, false))));
    const cost = g.cost && g.cost.nodes;
    if (cost) {
      const figures = {};
      for (const key of Object.keys(cost)) figures[key] = cost[key][nodeIndex];
      if (figures.flops == null && g.cost.total && g.cost.total.needs && g.cost.total.needs.length) {
        for (const key of ['flops', 'macs']) {
          const hit = ((g.cost.exact || {})[key] || []).find(([i]) => i === nodeIndex);
          if (hit) figures[`${key}_exact`] = hit[1];
        }
        if (figures.flops_exact) Object.assign(figures, { needs: g.cost.total.needs, unknown: 1, unsized: 1 });
      }
      parts.push(this.section('Cost', ...costRows(this, figures, g.cost.symbols)));
    }
    if (node.doc) parts.push(this.section('Documentation', el('p', { class: 'sb-doc', text: node.doc })));
    const operator = operatorSection(info, node, this);
    if (operator) parts.push(operator);
    this.root.replaceChildren(...parts);
  }

  showGraphValue(doc, graphIndex, valueIndex, isInput) {
    const g = doc.graphs[graphIndex];
    const [name, type] = g.values[valueIndex];
    let consumers = 0;
    for (const n of g.nodes) for (const v of n.in) if (v === valueIndex) consumers++;
    this.root.replaceChildren(
      this.header(name || '(unnamed)', isInput ? 'Graph input' : 'Graph output', CATEGORIES.indexOf('io')),
      this.section(isInput ? 'Input' : 'Output',
        this.row('name', el('span', { class: 'sb-mono', text: name })),
        this.row('type', el('span', { class: 'sb-mono', text: typeText(doc.types, type) })),
        isInput ? this.row('consumers', String(consumers)) : null));
  }

  // --- a selected tensor (an edge clicked, a tensor search result; app/tensors.js) ---
  // list: tensorInfo() of each tensor (several: an aggregated edge of the module view;
  // list.more: how many more it has, not listed); ends: {from, to} box names of the edge
  // clicked, or null.
  showTensors(doc, graphIndex, list, ends) {
    const MAX = 64, total = list.length + (list.more || 0);
    const g = doc.graphs[graphIndex], quant = new Map(g.quantization || []);
    const one = total === 1, t0 = list[0];
    const kind = (t) => (t.weight != null ? 'Weight' : 'Tensor');
    const parts = [one
      ? this.header(t0.name || '(unnamed)', kind(t0), CATEGORIES.indexOf('io'))
      : this.header(`${formatCount(total)} tensors`, ends ? `${ends.from} → ${ends.to}` : 'Tensors', CATEGORIES.indexOf('io'))];
    const endLink = (end) => {
      if (end.kind === 'node') {
        return el('div', { class: 'sb-end' }, el('a', { href: '#', class: 'sb-link', 'data-node': String(end.index), text: end.name,
          title: 'Select this node', onclick: (e) => { e.preventDefault(); this.onSelectNode(end.index); } }),
        el('span', { class: 'sb-type', text: end.op }));
      }
      return el('div', { class: 'sb-end' }, el('a', { href: '#', class: 'sb-link', text: end.name || '(unnamed)',
        title: `Select the graph ${end.kind}`, onclick: (e) => { e.preventDefault(); this.onSelectBox(end.name); } }),
      el('span', { class: 'sb-type', text: `graph ${end.kind}` }));
    };
    list.slice(0, MAX).forEach((t) => {
      const typeLine = el('span', { class: 'sb-mono', text: t.shape == null ? '?' : dims(t.shape) });
      if (t.inferred) typeLine.append(el('span', { class: 'sb-type', text: ' inferred', title: 'Shape derived by Wetron, not declared in the file' }));
      const rows = [
        this.row('name', el('span', { class: 'sb-mono sb-name', 'data-field': 'name', text: t.name || '(unnamed)' })),
        this.row('dtype', el('span', { class: 'sb-mono', 'data-field': 'dtype', text: t.dtype || '?' })),
        this.row('shape', typeLine),
      ];
      typeLine.setAttribute('data-field', 'shape');
      if (t.dtype == null) rows.push(this.row('type', el('span', { class: 'sb-mono', text: t.type })));
      if (quant.has(t.value)) {
        const q = quant.get(t.value);
        rows.push(this.row('quantized', el('span', { class: 'sb-mono', text: ['scale', 'zero_point'].filter((k) => q[k]).map((k) => `${k} ${q[k].slice(0, 4).join(', ')}${q[k].length > 4 ? ', …' : ''}`).join('; ') })));
      }
      rows.push(this.row('producer', t.producer ? endLink(t.producer) : el('span', { class: 'sb-muted', text: t.weight != null ? '(weight: stored in the file)' : '(none)' })));
      const consumers = el('div', { class: 'sb-ends', 'data-field': 'consumers' }, ...t.consumers.slice(0, MAX).map(endLink));
      if (t.consumers.length > MAX) consumers.append(el('div', { class: 'sb-muted', text: `… ${formatCount(t.consumers.length - MAX)} more` }));
      if (!t.consumers.length) consumers.append(el('span', { class: 'sb-muted', text: '(none)' }));
      rows.push(this.row(t.consumers.length === 1 ? 'consumer' : `consumers (${t.consumers.length})`, consumers));
      if (t.weight != null) rows.push(this.row('values', this.weightCard(doc, t.weight)));
      const section = this.section(one ? kind(t) : t.name || '(unnamed)', ...rows);
      section.classList.add('sb-tensor');
      parts.push(section);
    });
    const hidden = total - Math.min(list.length, MAX);
    if (hidden > 0) parts.push(this.section('More', el('p', { class: 'sb-muted', text: `… ${formatCount(hidden)} more tensors` })));
    this.root.replaceChildren(...parts);
  }

  showModel(doc, graphIndex = 0) {
    const m = doc.model, g = doc.graphs[graphIndex];
    const weights = new Set(g.initializers || []);
    const ops = new Map();
    for (const n of g.nodes) ops.set(n.op, (ops.get(n.op) || 0) + 1);
    const io = (list) => list.filter((v) => !weights.has(v)).map((v) =>
      this.row(g.values[v][0] || '(unnamed)', el('span', { class: 'sb-mono', text: typeText(doc.types, g.values[v][1]), title: typeTitle(doc.types, g.values[v][1]) })));
    const parts = [
      this.header(m.file || 'Model', `${m.format} ${m.format_version || ''}`.trim(), CATEGORIES.indexOf('io')),
      this.section('Model',
        this.row('format', `${m.format}${m.format_version ? ` (${m.format_version})` : ''}`),
        this.row('producer', m.producer || 'unknown'),
        m.domain ? this.row('domain', m.domain) : null,
        m.model_version != null ? this.row('version', String(m.model_version)) : null,
        this.row('file size', formatBytes(m.size || 0)),
        this.row('parameters', `${formatCount(m.parameters || 0)} (${humanCount(m.parameters || 0)})`),
        this.row('weights', formatBytes(m.weight_bytes || 0)),
        this.row('graph', `${g.name || '(unnamed)'} · ${formatCount(g.nodes.length)} nodes`),
        doc.graphs.length > 1 ? this.row('subgraphs', String(doc.graphs.length - 1 - (doc.functions || []).length - (doc.whole_graphs || []).length)) : null,
        (doc.functions || []).length ? this.row('functions', String(doc.functions.length)) : null),
    ];
    if (g.cost && g.cost.total) {
      const names = new Map(g.nodes.map((node) => [node.op, opTitle(doc, node)]));
      parts.push(this.section('Cost', ...costRows(this, g.cost.total, g.cost.symbols,
        { name: (op) => names.get(op) ?? op, run: g.cost.run })));
    }
    // --- symbolic sizes (app/cost-view.js): set them, and shapes and cost follow ---
    const sizes = graphIndex === 0 && this.onSizes ? sizesPanel(doc, g, this.onSizes) : null;
    if (sizes) parts.push(this.section('Sizes', ...sizes));
    // --- cost summary (app/cost-view.js) ---
    const summary = costSummary(doc, g, this.tensorWorker, graphIndex === 0);
    if (summary) parts.push(this.section('Cost summary', ...summary));
    if (m.doc) parts.push(this.section('Description', el('p', { class: 'sb-doc', text: m.doc })));
    if (m.imports && m.imports.length) {
      parts.push(this.section('Imports', ...m.imports.map(([d, v]) => this.row(d || 'ai.onnx', String(v)))));
    }
    const inputs = io(g.inputs), outputs = io(g.outputs);
    if (inputs.length) parts.push(this.section('Inputs', ...inputs));
    if (outputs.length) parts.push(this.section('Outputs', ...outputs));
    if (m.metadata && m.metadata.length) {
      parts.push(this.section('Metadata', ...m.metadata.map(([k, v]) => this.row(k, el('span', { class: 'sb-mono sb-wrap', text: v })))));
    }
    if ((doc.whole_graphs || []).length) {
      parts.push(this.section('Graphs', this.graphLink(doc, 0), ...doc.whole_graphs.map((i) => this.graphLink(doc, i))));
    }
    if ((doc.functions || []).length) {
      parts.push(this.section('Functions', ...doc.functions.map((f) =>
        // (a TensorFlow function has no domain; an ONNX one always names its own)
        this.row(f.domain || 'function', this.graphLink(doc, f.graph)))));
    }
    if (ops.size) {
      const sorted = [...ops].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      parts.push(this.section('Operators', ...sorted.slice(0, 40).map(([op, n]) =>
        this.row(op, String(n), el('span', { class: `sb-chip small cat-${CATEGORIES[opTypeCategory(doc, op)]}` })))));
    }
    this.root.replaceChildren(...parts);
  }

  // --- module hierarchy (app/module-view.js): a module's properties ---
  // info: {path, nodes, ops: Map op -> count, expanded, onToggle}
  showModule(doc, graphIndex, group, info) {
    const g = doc.graphs[graphIndex], grp = g.groups[group];
    const r = grp.repeat;
    const parts = [
      this.header(String(grp.name), `module${info.expanded ? ' (expanded)' : ''}`, info.category),
      el('div', { class: 'sb-actions' }, el('button', { class: 'btn small', type: 'button', text: info.expanded ? 'Collapse' : 'Expand',
        title: info.expanded ? 'Draw this module as one box' : 'Draw what is inside this module', onclick: info.onToggle })),
      this.section('Module',
        this.row('path', el('span', { class: 'sb-mono sb-wrap', text: info.path.split('/').join(' › ') })),
        this.row('nodes', formatCount(info.nodes)),
        r && Number.isInteger(r.count) && Number.isInteger(r.index) ? this.row('repeat', `${r.index + 1} of ${r.count} alike siblings (${r.of})`) : null),
    ];
    const cost = g.cost && g.cost.groups;
    if (cost) {
      const figures = {};
      for (const key of Object.keys(cost)) figures[key] = Array.isArray(cost[key]) ? cost[key][group] : null;
      parts.push(this.section('Cost', ...costRows(this, figures, g.cost.symbols)));
    }
    const sorted = [...info.ops].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (sorted.length) {
      parts.push(this.section('Operators', ...sorted.slice(0, 40).map(([op, n]) =>
        this.row(op, String(n), el('span', { class: `sb-chip small cat-${CATEGORIES[opTypeCategory(doc, op)]}` })))));
    }
    this.root.replaceChildren(...parts);
  }
}

// cost summary (app/cost-view.js) formats its figures as the rest of the sidebar
export { humanCount, polyText };
