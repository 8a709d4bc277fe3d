// Find a node: the toolbar's search field lists boxes whose name or op type contains
// the text; choosing one selects it and brings it into view.

import { KIND_OP } from './graph-view.js';
import { el } from './sidebar.js';

const MAX_RESULTS = 50;

export function attachSearch(input, list, viewer) {
  let results = [], active = -1;

  const close = () => { list.hidden = true; active = -1; };
  const choose = (i) => {
    if (i < 0 || i >= results.length) return;
    viewer.selectBox(results[i], { center: true });
    close();
    input.blur();
  };
  const mark = (i) => {
    active = i;
    [...list.children].forEach((c, k) => c.classList.toggle('active', k === i));
    if (list.children[i]) list.children[i].scrollIntoView({ block: 'nearest' });
  };

  const update = () => {
    const s = viewer.scene, doc = viewer.doc;
    const query = input.value.trim().toLowerCase();
    results = [];
    if (!s || !query) { close(); return; }
    const g = doc.graphs[viewer.graph];
    let total = 0;
    for (let i = 0; i < s.boxes; i++) {
      const op = s.kinds[i] === KIND_OP ? g.nodes[s.refs[i]].op : '';
      const name = viewer.boxName(i) || '';
      if (name.toLowerCase().includes(query) || op.toLowerCase().includes(query)) {
        if (results.length < MAX_RESULTS) results.push(i);
        total++;
      }
    }
    const rows = results.map((i, k) => {
      const op = s.kinds[i] === KIND_OP ? g.nodes[s.refs[i]].op : (s.kinds[i] === 1 ? 'input' : 'output');
      return el('li', { role: 'option', onmousedown: (e) => { e.preventDefault(); choose(k); } },
        el('span', { class: 'search-op', text: op }), el('span', { class: 'search-name', text: viewer.boxName(i) || '(unnamed)' }));
    });
    if (total > results.length) rows.push(el('li', { class: 'search-more', text: `… ${total - results.length} more` }));
    if (!rows.length) rows.push(el('li', { class: 'search-more', text: 'no match' }));
    list.replaceChildren(...rows);
    list.hidden = false;
    mark(results.length ? 0 : -1);
  };

  input.addEventListener('input', update);
  input.addEventListener('focus', () => { if (input.value) update(); });
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); mark(Math.min(results.length - 1, active + 1)); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); mark(Math.max(0, active - 1)); }
    else if (e.key === 'Enter') { e.preventDefault(); choose(active); }
    else if (e.key === 'Escape') { input.value = ''; close(); input.blur(); }
  });
  window.addEventListener('keydown', (e) => {   // "/" or ctrl+F jumps to the field
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA')) return;
    if ((e.key === '/' || ((e.ctrlKey || e.metaKey) && e.key === 'f')) && viewer.scene) { e.preventDefault(); input.focus(); input.select(); }
  });
}
