// Edge picking: the edge nearest a point, within a tolerance. The renderer drops its
// vertex arrays once uploaded, so the edges' geometry comes from the scene's vector
// record (scene.vector: the layout's control points per edge, app/scene.js): its spans
// (cubic curves with vertical tangents across a rank gap, straight runs through
// dummies) in a uniform grid of cells by bounding box, built once per scene on the first
// pick; a pick samples the curves of the few spans near the point as app/scene.js draws
// them. Pure data, no DOM: runs in node too.

const indexes = new WeakMap();   // scene -> index

// The drawn polyline of edge e: [x0, y0, x1, y1, ...] in world units (the tip included;
// the renderer stops the line at the arrowhead's base and draws the head up to the tip).
export function edgePolyline(scene, e) {
  const out = [];
  sampleEdge(scene.vector.points, scene.vector.pointStart, e, (x, y) => out.push(x, y));
  return out;
}

// Calls point(x, y) along edge e, as app/scene.js samples it (straight vertical runs
// merged).
function sampleEdge(P, start, e, point) {
  const a = start[e], b = start[e + 1];
  if (b - a < 2) return;
  const xs = [], ys = [];
  const sample = (x, y) => {
    const k = xs.length;
    if (k >= 2 && xs[k - 1] === x && xs[k - 2] === x) { ys[k - 1] = y; return; }
    xs.push(x); ys.push(y);
  };
  sample(P[2 * a], P[2 * a + 1]);
  for (let i = a; i + 1 < b; i++) {
    const x0 = P[2 * i], y0 = P[2 * i + 1], x1 = P[2 * i + 2], y1 = P[2 * i + 3];
    if ((i - a) % 2 === 0 && Math.abs(x1 - x0) > 0.5) {
      const steps = Math.min(16, Math.max(2, Math.ceil(Math.sqrt(Math.abs(x1 - x0)) * 1.2)));
      const my = (y0 + y1) / 2;
      for (let s = 1; s <= steps; s++) {
        const t = s / steps, u = 1 - t;
        const c0 = u * u * u, c1 = 3 * u * u * t, c2 = 3 * u * t * t, c3 = t * t * t;
        sample(c0 * x0 + c1 * x0 + c2 * x1 + c3 * x1, c0 * y0 + c1 * my + c2 * my + c3 * y1);
      }
    } else sample(x1, y1);
  }
  for (let k = 0; k < xs.length; k++) point(xs[k], ys[k]);
}

// The spans of a scene's edges (one per pair of consecutive control points: a curve
// across a rank gap, or a straight run through a dummy) in a uniform grid by their
// bounding boxes (a cubic with vertical tangents stays inside its end points' box):
// {span: Int32Array (index of the span's first point), edge: Int32Array, cell, gx0, gy0,
// nx, ny, start (CSR over cells), items, spans, ms}. The curves are sampled only for the
// few spans near a pick.
export function edgeIndex(scene) {
  let index = indexes.get(scene);
  if (index) return index;
  const t0 = typeof performance !== 'undefined' ? performance.now() : 0;
  const { points: P, pointStart: start } = scene.vector;
  let n = 0;
  for (let e = 0; e < scene.edges; e++) if (start[e + 1] - start[e] >= 2) n += start[e + 1] - start[e] - 1;
  const span = new Int32Array(n), spanEdge = new Int32Array(n);
  let gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity;
  for (let e = 0, k = 0; e < scene.edges; e++) {
    const a = start[e], b = start[e + 1];
    if (b - a < 2) continue;
    for (let i = a; i < b; i++) {
      const x = P[2 * i], y = P[2 * i + 1];
      if (x < gx0) gx0 = x; if (x > gx1) gx1 = x; if (y < gy0) gy0 = y; if (y > gy1) gy1 = y;
      if (i + 1 < b) { span[k] = i; spanEdge[k++] = e; }
    }
  }
  if (!n) { gx0 = gy0 = 0; gx1 = gy1 = 1; }
  // About two spans per cell, cells at least 32 world units, at most ~4M cells.
  const area = Math.max(1, (gx1 - gx0) * (gy1 - gy0));
  const cell = Math.max(32, Math.sqrt((2 * area) / Math.max(1, n)), Math.sqrt(area / 4e6));
  const nx = Math.floor((gx1 - gx0) / cell) + 1, ny = Math.floor((gy1 - gy0) / cell) + 1;
  const cellStart = new Int32Array(nx * ny + 1);
  for (let pass = 0, items = null, fill = null; pass < 2; pass++) {
    for (let k = 0; k < n; k++) {
      const i = span[k], xa = P[2 * i], ya = P[2 * i + 1], xb = P[2 * i + 2], yb = P[2 * i + 3];
      const cx0 = Math.floor(((xa < xb ? xa : xb) - gx0) / cell), cx1 = Math.floor(((xa < xb ? xb : xa) - gx0) / cell);
      const cy0 = Math.floor(((ya < yb ? ya : yb) - gy0) / cell), cy1 = Math.floor(((ya < yb ? yb : ya) - gy0) / cell);
      for (let cy = cy0; cy <= cy1; cy++) {
        for (let c = cy * nx + cx0, end = cy * nx + cx1; c <= end; c++) {
          if (pass === 0) cellStart[c + 1]++; else items[fill[c]++] = k;
        }
      }
    }
    if (pass === 0) {
      for (let c = 0; c < nx * ny; c++) cellStart[c + 1] += cellStart[c];
      fill = cellStart.slice(0, nx * ny); items = new Int32Array(cellStart[nx * ny]);
      index = { span, edge: spanEdge, spans: n, cell, gx0, gy0, nx, ny, start: cellStart, items };
    }
  }
  index.ms = (typeof performance !== 'undefined' ? performance.now() : 0) - t0;
  indexes.set(scene, index);
  return index;
}

// Squared distance from (x, y) to segment (ax, ay)-(bx, by).
function segmentDistance2(x, y, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / len2)) : 0;
  const ex = ax + t * dx - x, ey = ay + t * dy - y;
  return ex * ex + ey * ey;
}

// Squared distance from (x, y) to span i of edge e as drawn: a cubic with vertical
// tangents sampled as app/scene.js samples it, or a straight line.
function spanDistance2(P, start, e, i, x, y) {
  const x0 = P[2 * i], y0 = P[2 * i + 1], x1 = P[2 * i + 2], y1 = P[2 * i + 3];
  if ((i - start[e]) % 2 !== 0 || Math.abs(x1 - x0) <= 0.5) return segmentDistance2(x, y, x0, y0, x1, y1);
  const steps = Math.min(16, Math.max(2, Math.ceil(Math.sqrt(Math.abs(x1 - x0)) * 1.2)));
  const my = (y0 + y1) / 2;
  let best = Infinity, px = x0, py = y0;
  for (let s = 1; s <= steps; s++) {
    const t = s / steps, u = 1 - t;
    const c0 = u * u * u, c1 = 3 * u * u * t, c2 = 3 * u * t * t, c3 = t * t * t;
    const qx = (c0 + c1) * x0 + (c2 + c3) * x1, qy = c0 * y0 + (c1 + c2) * my + c3 * y1;
    const d = segmentDistance2(x, y, px, py, qx, qy);
    if (d < best) best = d;
    px = qx; py = qy;
  }
  return best;
}

// The edge whose drawn line passes nearest world point (x, y), if within `radius` world
// units: {edge, distance} or null.
export function nearestEdge(scene, x, y, radius) {
  if (!scene || !scene.vector || !scene.edges) return null;
  const ix = edgeIndex(scene), P = scene.vector.points, pointStart = scene.vector.pointStart;
  const { cell, gx0, gy0, nx, ny, start, items } = ix;
  const cx0 = Math.max(0, Math.floor((x - radius - gx0) / cell)), cx1 = Math.min(nx - 1, Math.floor((x + radius - gx0) / cell));
  const cy0 = Math.max(0, Math.floor((y - radius - gy0) / cell)), cy1 = Math.min(ny - 1, Math.floor((y + radius - gy0) / cell));
  if (cx0 > cx1 || cy0 > cy1 || (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > 65536) return null;
  let best = -1, bestD = radius * radius;
  for (let cy = cy0; cy <= cy1; cy++) {
    for (let c = cy * nx + cx0, end = cy * nx + cx1; c <= end; c++) {
      for (let k = start[c]; k < start[c + 1]; k++) {
        const sp = items[k], i = ix.span[sp], e = ix.edge[sp];
        // the span's box, grown by the radius, must hold the point
        const xa = P[2 * i], ya = P[2 * i + 1], xb = P[2 * i + 2], yb = P[2 * i + 3];
        if (x < Math.min(xa, xb) - radius || x > Math.max(xa, xb) + radius || y < Math.min(ya, yb) - radius || y > Math.max(ya, yb) + radius) continue;
        const d = spanDistance2(P, pointStart, e, i, x, y);
        if (d <= bestD) { bestD = d; best = e; }
      }
    }
  }
  return best < 0 ? null : { edge: best, distance: Math.sqrt(bestD) };
}
