// Recent files on the start page: the names of the last models opened (at most
// MAX_RECENT, newest first), kept in localStorage. Only names: a file chosen from disk
// cannot be reopened by name (the browser gives a page no path), so choosing one opens
// the file chooser; a model opened by link (?url=, an example) is reopened by its link.
// Built with textContent only: names come from files.

import { el } from './sidebar.js';

export const MAX_RECENT = 10;
const KEY = 'wetron-recent';

function read() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(list) ? list.filter((r) => r && typeof r.name === 'string').slice(0, MAX_RECENT) : [];
  } catch { return []; }   // private mode, or a value that is not ours
}

function write(list) {
  try { localStorage.setItem(KEY, JSON.stringify(list)); } catch { /* not remembered */ }
}

export function recentFiles() { return read(); }

// A model opened: {name, url (null for a file), format}. Moves to the front if there.
export function addRecent({ name, url = null, format = '' }) {
  if (!name) return;
  const list = read().filter((r) => !(r.name === name && (r.url || null) === (url || null)));
  list.unshift({ name: String(name).slice(0, 500), url: url ? String(url).slice(0, 2000) : null, format: String(format || '').slice(0, 40) });
  write(list.slice(0, MAX_RECENT));
}

export function clearRecent() { write([]); }

// Fills the start page's list. onOpen(entry): a click on an entry.
export function showRecent(block, list, onOpen) {
  const entries = recentFiles();
  block.hidden = !entries.length;
  list.replaceChildren(...entries.map((r) => el('li', {},
    el('button', { class: 'recent-item', type: 'button',
      title: r.url ? `Open ${r.url} again` : 'Choose this file again (a file cannot be reopened by its name alone)',
      onclick: () => onOpen(r) },
    el('span', { class: 'recent-name', text: r.name }),
    el('small', { text: [r.format, r.url ? 'link' : 'file'].filter(Boolean).join(' · ') })))));
}
