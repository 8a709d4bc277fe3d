// window.wetron: a small automation API for tests, benchmarks and scripts
// (documented in docs/app.md).

export function installApi(viewer, { openFiles }) {
  const api = {
    version: 1,
    // File, Blob, URL string, or an array of Files (model + companions). Resolves when drawn.
    async open(source) {
      if (Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList)) {
        await openFiles([...source]);
      } else await viewer.open(source);
      return api.state();
    },
    // A graph document (JSON text or object) made elsewhere, e.g. by `python -m wetron graph`.
    async openDocument(doc) {
      await viewer.openDocument(typeof doc === 'string' ? doc : JSON.stringify(doc));
      return api.state();
    },
    ready: () => viewer.ready(),
    state: () => viewer.state(),
    // Select a node by name (or a graph input/output by value name); null clears.
    select(name) {
      if (name == null) { viewer.clearSelection(); return true; }
      const i = viewer.findBox(String(name));
      if (i < 0) return false;
      viewer.selectBox(i);
      return true;
    },
    highlighted: () => viewer.highlighted(),
    async openGraph(index) { await viewer.openGraph(index); return api.state(); },
    // Centre of a node in CSS pixels of the page (for clicking it), or null.
    nodeScreenPosition(name) {
      const i = viewer.findBox(String(name));
      if (i < 0) return null;
      const s = viewer.scene, r = viewer.renderer.canvas.getBoundingClientRect();
      const p = viewer.renderer.worldToScreen(s.x[i], s.y[i]);
      return { x: r.left + p.x, y: r.top + p.y };
    },
    nodeNames() {
      const s = viewer.scene;
      if (!s) return [];
      const names = [];
      for (let i = 0; i < s.boxes; i++) names.push(viewer.boxName(i));
      return names;
    },
    fit: () => viewer.renderer.fit(false),
    // Benchmarks: ms of `count` full redraws at the current view, each waited for.
    frameTimes: (count = 10) => viewer.renderer.frameTimes(count),
    cancel: () => viewer.cancel(),
  };
  window.wetron = api;
  return api;
}
