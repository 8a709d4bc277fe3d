// The minimap: a small overview canvas in a corner of the stage showing the whole graph
// (boxes as category-coloured specks) and the part in view as a rectangle. Clicking or
// dragging on it moves the view there (zoom unchanged). The overview is painted once
// per scene or theme into an offscreen canvas; a view change only repaints the
// rectangle over it, so it costs nothing per frame at any graph size. While the whole
// graph is in view (as when fitted) it has nothing to add and stays out of the way.

const MAX_W = 200, MAX_H = 180, MIN_SIDE = 36, PAD = 4;

export class Minimap {
  constructor(canvas, renderer) {
    this.canvas = canvas;
    this.renderer = renderer;
    this.base = document.createElement('canvas');   // the overview, without the view rectangle
    this.map = null;   // {x0, y0, scale}: world -> minimap CSS px
    renderer.addListener((what) => {
      if (what === 'view') this.drawView(); else this.rebuild();
    });
    const moveTo = (event) => {
      if (!this.map || !renderer.scene) return;
      const r = canvas.getBoundingClientRect(), { x0, y0, scale } = this.map;
      renderer.centerOn(x0 + (event.clientX - r.left - PAD) / scale, y0 + (event.clientY - r.top - PAD) / scale, false);
    };
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      this.dragging = true;
      moveTo(event);
    });
    canvas.addEventListener('pointermove', (event) => { if (this.dragging) moveTo(event); });
    const stop = () => { this.dragging = false; };
    canvas.addEventListener('pointerup', stop);
    canvas.addEventListener('pointercancel', stop);
  }

  // Sizes the minimap to the graph's aspect and paints every box once.
  rebuild() {
    const s = this.renderer.scene;
    if (!s) { this.canvas.hidden = true; this.map = null; return; }
    const [x0, y0, x1, y1] = s.bounds;
    const gw = Math.max(1, x1 - x0), gh = Math.max(1, y1 - y0);
    const scale = Math.min((MAX_W - 2 * PAD) / gw, (MAX_H - 2 * PAD) / gh);
    const w = Math.max(MIN_SIDE, Math.ceil(gw * scale + 2 * PAD)), h = Math.max(MIN_SIDE, Math.ceil(gh * scale + 2 * PAD));
    const dpr = window.devicePixelRatio || 1;
    // Centre the graph in the (possibly widened) canvas.
    this.map = { x0: x0 - (w - 2 * PAD - gw * scale) / 2 / scale, y0: y0 - (h - 2 * PAD - gh * scale) / 2 / scale, scale };
    for (const c of [this.canvas, this.base]) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    this.canvas.style.width = `${w}px`; this.canvas.style.height = `${h}px`;
    const g = this.base.getContext('2d');
    const colors = this.renderer.palette;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = colors.background;
    g.fillRect(0, 0, w, h);
    // One path per category; boxes at least half a pixel so a 100k-node graph still shows.
    const categories = Object.values(colors.categories);
    const paths = categories.map(() => new Path2D());
    const n = s.boxes + s.ghosts, cat = s.boxCategory;
    const { x0: mx, y0: my } = this.map;
    for (let i = 0; i < n; i++) {
      const bw = Math.max(0.5, s.w[i] * scale), bh = Math.max(0.5, s.h[i] * scale);
      const px = PAD + (s.x[i] - s.w[i] / 2 - mx) * scale, py = PAD + (s.y[i] - s.h[i] / 2 - my) * scale;
      paths[cat && cat[i] < paths.length ? cat[i] : 0].rect(px, py, bw, bh);
    }
    paths.forEach((p, k) => { g.fillStyle = categories[k]; g.fill(p); });
    this.drawView();
  }

  // The overview plus the rectangle of the part in view.
  drawView() {
    if (!this.map) return;
    const [bx0, by0, bx1, by1] = this.renderer.scene.bounds, v = this.renderer.cam, sz = this.renderer.size;
    this.canvas.hidden = bx0 >= v.x && by0 >= v.y && bx1 <= v.x + sz.w / v.z && by1 <= v.y + sz.h / v.z;
    if (this.canvas.hidden) return;
    const g = this.canvas.getContext('2d'), dpr = window.devicePixelRatio || 1;
    const { x0, y0, scale } = this.map, cam = this.renderer.cam, size = this.renderer.size;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.base, 0, 0);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const rx = PAD + (cam.x - x0) * scale, ry = PAD + (cam.y - y0) * scale;
    const rw = Math.max(3, (size.w / cam.z) * scale), rh = Math.max(3, (size.h / cam.z) * scale);
    g.fillStyle = hexAlpha(this.renderer.palette.accent, 0.12);
    g.fillRect(rx, ry, rw, rh);
    g.strokeStyle = this.renderer.palette.accent;
    g.lineWidth = 1.5;
    g.strokeRect(rx, ry, rw, rh);
  }

  // The view rectangle in minimap CSS px (for tests): {x, y, w, h}, or null.
  viewRect() {
    if (!this.map) return null;
    const { x0, y0, scale } = this.map, cam = this.renderer.cam, size = this.renderer.size;
    return { x: PAD + (cam.x - x0) * scale, y: PAD + (cam.y - y0) * scale,
      w: (size.w / cam.z) * scale, h: (size.h / cam.z) * scale };
  }
}

function hexAlpha(hex, alpha) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
