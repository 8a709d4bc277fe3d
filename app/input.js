// Pointer, wheel and keyboard navigation of the canvas: drag to pan, wheel or pinch
// to zoom around the pointer, click to pick; arrows pan, + and - zoom, 0 fits.

const CLICK_SLOP = 4;   // px a press may move and still count as a click

export function attachNavigation(canvas, renderer, { onClick, onEscape }) {
  const pointers = new Map();   // pointerId -> {x, y}
  let press = null;             // the press that may become a click
  let pinch = null;             // {distance, x, y}

  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    canvas.setPointerCapture(e.pointerId);
    const p = local(e);
    pointers.set(e.pointerId, p);
    press = pointers.size === 1 ? { ...p, moved: false } : null;
    pinch = pointers.size === 2 ? pinchOf(pointers) : null;
    canvas.classList.add('grabbing');
  });

  canvas.addEventListener('pointermove', (e) => {
    const last = pointers.get(e.pointerId);
    if (!last) return;
    const p = local(e);
    pointers.set(e.pointerId, p);
    if (pointers.size === 2 && pinch) {
      const now = pinchOf(pointers);
      renderer.zoomAt(now.distance / pinch.distance, now.x, now.y);
      renderer.panBy(now.x - pinch.x, now.y - pinch.y);
      pinch = now;
      return;
    }
    if (press && Math.hypot(p.x - press.x, p.y - press.y) > CLICK_SLOP) press.moved = true;
    if (!press || press.moved) renderer.panBy(p.x - last.x, p.y - last.y);
  });

  const release = (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    if (e.type === 'pointerup' && press && !press.moved && pointers.size === 0) onClick(press.x, press.y);
    press = null;
    pinch = pointers.size === 2 ? pinchOf(pointers) : null;
    if (!pointers.size) canvas.classList.remove('grabbing');
  };
  canvas.addEventListener('pointerup', release);
  canvas.addEventListener('pointercancel', release);

  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const p = local(e);
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const dx = e.deltaX * unit, dy = e.deltaY * unit;
    // Trackpad pinch arrives as ctrl+wheel; a plain wheel zooms too (it is a graph).
    // Mouse wheel notches (large steps) are animated, trackpad streams applied as they come.
    if (e.ctrlKey || !e.shiftKey) renderer.zoomAt(Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.0015)), p.x, p.y, Math.abs(dy) >= 50);
    else renderer.panBy(-dy, -dx);
  }, { passive: false });

  window.addEventListener('keydown', (e) => {
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const step = 80, cx = renderer.size.w / 2, cy = renderer.size.h / 2;
    const actions = {
      ArrowLeft: () => renderer.panBy(step, 0, true), ArrowRight: () => renderer.panBy(-step, 0, true),
      ArrowUp: () => renderer.panBy(0, step, true), ArrowDown: () => renderer.panBy(0, -step, true),
      '+': () => renderer.zoomAt(1.25, cx, cy, true), '=': () => renderer.zoomAt(1.25, cx, cy, true),
      '-': () => renderer.zoomAt(0.8, cx, cy, true), _: () => renderer.zoomAt(0.8, cx, cy, true),
      0: () => renderer.fit(true), Escape: onEscape,
    };
    const action = actions[e.key];
    if (action) { e.preventDefault(); action(); }
  });
}

function pinchOf(pointers) {
  const [a, b] = [...pointers.values()];
  return { distance: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}
