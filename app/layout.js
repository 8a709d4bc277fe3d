// Layered (Sugiyama-style) graph layout, top to bottom. Pure computation on typed
// arrays, no DOM, no recursion anywhere (graphs may have 50k ranks), near-linear:
//   1. rank: topological order (Kahn, cycles broken by forcing a node), longest-path
//      ranks, then nodes pulled down next to their consumers (constants, shape chains);
//   2. ghosts: a small copy of a value's source right above a consumer instead of a
//      long edge, for far consumers of high fan-out values and very long edges;
//   3. remaining long edges get one dummy node per rank crossed;
//   4. crossing reduction: barycenter sweeps down and up, the best order kept
//      (crossings counted with a Fenwick tree, O(E log V) per sweep);
//   5. x: per rank, weighted mean of the neighbours' x with minimum separations solved
//      exactly by isotonic regression (pool adjacent violators), alternating down and up
//      passes; edges through dummies weigh most so long edges and chains stay straight;
//   6. edge polylines: source bottom → through each dummy → target top, with exit and
//      entry points spread along the boxes' edges.
// Boxes with no edges at all (weight-only formats) are set out in a grid below.
// A long chain stays one column, read top to bottom (it is scrolled, never wrapped
// into side-by-side columns: that broke a CNN's reading order).

const DEFAULTS = {
  rankSep: 34,        // vertical gap between ranks
  nodeSep: 22,        // horizontal gap between boxes
  edgeSep: 10,        // horizontal gap next to an edge passing through a rank
  fanout: 8,          // a value with more consumers than this gets ghosts for far ones
  farSpan: 3,         // ... for consumers at least this many ranks below
  maxSpan: 400,       // any edge longer than this gets a ghost
  orderSweeps: 4,     // down+up barycenter sweep pairs
  placePasses: 6,     // down+up coordinate passes
};

const GHOST = 1, DUMMY = 2;   // kinds of layout node (0: a box)

/**
 * input: {n, width, height (Float32Array n), ghostWidth (Float32Array n), ghostHeight,
 *         src, dst, value (Int32Array m: edges between boxes, value = edge's value id)}
 * returns {x, y, w, h (Float32Array n+G, box centres and sizes; ghosts after the n boxes),
 *          ghostSource (Int32Array G), edgeGhost (Int32Array m: ghost box or -1),
 *          points (Float32Array x,y pairs), pointStart (Uint32Array m+1; an edge with no
 *          points is not drawn: self-loops), ranks, dummies, bounds [x0,y0,x1,y1], ms}
 */
export function layoutGraph(input, options = {}) {
  const t0 = now();
  const o = { ...DEFAULTS, ...options };
  const { n, width, height, ghostWidth, src, dst, value } = input;
  const ghostHeight = input.ghostHeight || 18;
  const m = src.length;

  // --- 1. topological order and ranks -----------------------------------------------
  const degree = new Int32Array(n);
  const indeg = new Int32Array(n);
  for (let e = 0; e < m; e++) {
    if (src[e] === dst[e]) continue;
    degree[src[e]]++; degree[dst[e]]++; indeg[dst[e]]++;
  }
  const outEdges = csr(n, m, (e) => (src[e] === dst[e] ? -1 : src[e]));
  const pos = new Int32Array(n).fill(-1);    // position in topological order
  const queued = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0, tail = 0, placed = 0, scan = 0;
  for (let v = 0; v < n; v++) if (indeg[v] === 0 && degree[v] > 0) { queue[tail++] = v; queued[v] = 1; }
  let connected = 0;
  for (let v = 0; v < n; v++) if (degree[v] > 0) connected++;
  while (placed < connected) {
    if (head === tail) {   // a cycle: force the next unplaced node in document order
      while (degree[scan] === 0 || queued[scan]) scan++;
      queue[tail++] = scan; queued[scan] = 1;
    }
    const v = queue[head++];
    pos[v] = placed++;
    for (let k = outEdges.start[v]; k < outEdges.start[v + 1]; k++) {
      const w = dst[outEdges.items[k]];
      if (!queued[w] && --indeg[w] === 0) { queue[tail++] = w; queued[w] = 1; }
    }
  }
  const topo = queue;   // queue[0..connected) is the topological order

  // Layout direction: every edge points down the topological order (cycle edges reversed).
  const ls = new Int32Array(m), ld = new Int32Array(m);
  const skip = new Uint8Array(m), reversed = new Uint8Array(m);
  for (let e = 0; e < m; e++) {
    if (src[e] === dst[e]) { skip[e] = 1; continue; }
    if (pos[src[e]] < pos[dst[e]]) { ls[e] = src[e]; ld[e] = dst[e]; }
    else { ls[e] = dst[e]; ld[e] = src[e]; reversed[e] = 1; }
  }
  const lout = csr(n, m, (e) => (skip[e] ? -1 : ls[e]));
  const lin = csr(n, m, (e) => (skip[e] ? -1 : ld[e]));

  const rank = new Int32Array(n);
  for (let i = 0; i < connected; i++) {
    const v = topo[i];
    for (let k = lout.start[v]; k < lout.start[v + 1]; k++) {
      const w = ld[lout.items[k]];
      if (rank[w] < rank[v] + 1) rank[w] = rank[v] + 1;
    }
  }
  // Pull nodes down next to their consumers (sources, and chains hanging off them),
  // where that does not lengthen more edges than it shortens. A predecessor feeding
  // only this node will follow it down (reverse topological order), so it is free.
  const outdeg = (v) => lout.start[v + 1] - lout.start[v];
  for (let i = connected - 1; i >= 0; i--) {
    const v = topo[i];
    const outs = outdeg(v);
    let ins = 0;
    for (let k = lin.start[v]; k < lin.start[v + 1]; k++) if (outdeg(ls[lin.items[k]]) > 1) ins++;
    if (outs === 0 || ins > outs) continue;
    let lowest = Infinity;
    for (let k = lout.start[v]; k < lout.start[v + 1]; k++) lowest = Math.min(lowest, rank[ld[lout.items[k]]]);
    if (lowest - 1 > rank[v]) rank[v] = lowest - 1;
  }
  // Drop empty ranks.
  let maxRank = 0;
  for (let v = 0; v < n; v++) if (degree[v] > 0 && rank[v] > maxRank) maxRank = rank[v];
  const used = new Int32Array(maxRank + 2).fill(-1);
  for (let v = 0; v < n; v++) if (degree[v] > 0) used[rank[v]] = 1;
  let R = 0;
  for (let r = 0; r <= maxRank; r++) if (used[r] === 1) used[r] = R++;
  for (let v = 0; v < n; v++) if (degree[v] > 0) rank[v] = used[rank[v]];

  // --- 2. ghosts: one per edge for far consumers of high fan-out values and for very
  // long edges -------------------------------------------------------------------------
  let maxValue = 0;
  for (let e = 0; e < m; e++) if (value[e] > maxValue) maxValue = value[e];
  const fan = new Int32Array(maxValue + 1);
  for (let e = 0; e < m; e++) if (!skip[e]) fan[value[e]]++;
  const edgeGhost = new Int32Array(m).fill(-1);
  const ghostSourceList = [], ghostRankList = [], ghostKeyList = [];
  const addGhost = (source, r, k) => { ghostSourceList.push(source); ghostRankList.push(r); ghostKeyList.push(k); return n + ghostSourceList.length - 1; };
  for (let e = 0; e < m; e++) {
    if (skip[e] || reversed[e]) continue;
    const span = rank[ld[e]] - rank[ls[e]];
    if ((fan[value[e]] > o.fanout && span >= o.farSpan) || span > o.maxSpan) {
      edgeGhost[e] = addGhost(src[e], rank[ld[e]] - 1, pos[ld[e]] - 0.5);
    }
  }
  const G = ghostSourceList.length;

  // --- 3. dummies -------------------------------------------------------------------
  const from = new Int32Array(m);    // layout source (ghost if any)
  let D = 0;
  for (let e = 0; e < m; e++) {
    if (skip[e]) continue;
    from[e] = edgeGhost[e] >= 0 ? edgeGhost[e] : ls[e];
    const rFrom = edgeGhost[e] >= 0 ? ghostRankList[edgeGhost[e] - n] : rank[ls[e]];
    D += rank[ld[e]] - rFrom - 1;
  }
  const L = n + G + D;
  const kind = new Uint8Array(L);
  const lrank = new Int32Array(L);
  const lw = new Float32Array(L), lh = new Float32Array(L);
  const key = new Float64Array(L);   // initial order within a rank
  for (let v = 0; v < n; v++) { lrank[v] = rank[v]; lw[v] = width[v]; lh[v] = height[v]; key[v] = pos[v]; }
  for (let g = 0; g < G; g++) {
    const s = ghostSourceList[g];
    kind[n + g] = GHOST; lw[n + g] = ghostWidth[s]; lh[n + g] = ghostHeight;
    lrank[n + g] = ghostRankList[g]; key[n + g] = ghostKeyList[g];
  }
  const dummyStart = new Int32Array(m);
  let S = 0;   // segments between adjacent ranks
  {
    let d = n + G;
    for (let e = 0; e < m; e++) {
      if (skip[e]) continue;
      const rTo = rank[ld[e]], rFrom = lrank[from[e]];
      dummyStart[e] = d;
      for (let r = rFrom + 1; r < rTo; r++, d++) {
        kind[d] = DUMMY; lrank[d] = r; key[d] = pos[ls[e]] + 0.5;
      }
      S += rTo - rFrom;
    }
  }
  const segU = new Int32Array(S), segV = new Int32Array(S), segW = new Float32Array(S), segEdge = new Int32Array(S);
  const lastSeg = new Int32Array(m).fill(-1);
  {
    let s = 0;
    for (let e = 0; e < m; e++) {
      if (skip[e]) continue;
      const count = rank[ld[e]] - lrank[from[e]] - 1;
      let u = from[e];
      for (let i = 0; i <= count; i++) {
        const v = i < count ? dummyStart[e] + i : ld[e];
        segU[s] = u; segV[s] = v; segEdge[s] = e;
        // A ghost stands beside its consumer and follows it: it must not pull it aside
        // (a mask's ghosts beside each of 12 blocks made a staircase of them).
        segW[s] = kind[u] === GHOST ? 1e-4 : kind[u] === DUMMY && kind[v] === DUMMY ? 8 : (kind[u] === DUMMY || kind[v] === DUMMY ? 2 : 1);
        u = v; s++;
      }
      lastSeg[e] = s - 1;
    }
  }
  const preds = csr(L, S, (s) => segV[s]);
  const succs = csr(L, S, (s) => segU[s]);

  // --- 4. order within ranks -----------------------------------------------------------
  const rankStart = new Int32Array(R + 1);
  for (let v = 0; v < L; v++) if (v >= n || degree[v] > 0) rankStart[lrank[v] + 1]++;
  for (let r = 0; r < R; r++) rankStart[r + 1] += rankStart[r];
  const layer = new Int32Array(rankStart[R]);
  {
    const fill = rankStart.slice(0, R);
    for (let v = 0; v < L; v++) if (v >= n || degree[v] > 0) layer[fill[lrank[v]]++] = v;
  }
  const order = new Float64Array(L);   // index within its rank
  const bary = new Float64Array(L);
  const byKey = (a, b) => bary[a] - bary[b] || order[a] - order[b];
  for (let r = 0; r < R; r++) {
    const slice = layer.subarray(rankStart[r], rankStart[r + 1]);
    for (const v of slice) { bary[v] = key[v]; order[v] = v; }
    sortTyped(slice, byKey);
    for (let i = 0; i < slice.length; i++) order[slice[i]] = i;
  }
  const sweep = (down) => {
    const nb = down ? preds : succs;
    const other = down ? segU : segV;
    for (let step = 1; step < R; step++) {
      const r = down ? step : R - 1 - step;
      const slice = layer.subarray(rankStart[r], rankStart[r + 1]);
      if (slice.length < 2) continue;
      for (const v of slice) {
        const a = nb.start[v], b = nb.start[v + 1];
        if (a === b) { bary[v] = order[v]; continue; }
        let sum = 0;
        for (let k = a; k < b; k++) sum += order[other[nb.items[k]]];
        bary[v] = sum / (b - a);
      }
      sortTyped(slice, byKey);
      for (let i = 0; i < slice.length; i++) order[slice[i]] = i;
    }
  };
  const segsByRank = csr(R, S, (s) => lrank[segU[s]]);
  const crossings = () => countCrossings(R, rankStart, segsByRank, segU, segV, order);
  let best = crossings();
  let bestLayer = layer.slice();
  for (let i = 0; i < o.orderSweeps && best > 0; i++) {
    sweep(true); sweep(false);
    const c = crossings();
    if (c < best) { best = c; bestLayer = layer.slice(); }
  }
  layer.set(bestLayer);
  for (let r = 0; r < R; r++) for (let i = rankStart[r]; i < rankStart[r + 1]; i++) order[layer[i]] = i - rankStart[r];

  // --- 5. x coordinates ---------------------------------------------------------------
  const x = new Float64Array(L);
  const offset = new Float64Array(layer.length);   // cumulative minimum separation
  for (let r = 0; r < R; r++) {
    const a = rankStart[r], b = rankStart[r + 1];
    offset[a] = 0;
    for (let i = a + 1; i < b; i++) {
      const p = layer[i - 1], q = layer[i];
      const gap = kind[p] === DUMMY || kind[q] === DUMMY ? o.edgeSep : o.nodeSep;
      offset[i] = offset[i - 1] + (lw[p] + lw[q]) / 2 + gap;
    }
    const mid = (offset[b - 1] || 0) / 2;
    for (let i = a; i < b; i++) x[layer[i]] = offset[i] - mid;
  }
  const target = new Float64Array(layer.length), weight = new Float64Array(layer.length);
  const pav = new PoolAdjacentViolators(layer.length);
  const place = (r, usePreds, useSuccs) => {
    const a = rankStart[r], b = rankStart[r + 1];
    for (let i = a; i < b; i++) {
      const v = layer[i];
      let sw = 0, sx = 0;
      if (usePreds) for (let k = preds.start[v]; k < preds.start[v + 1]; k++) {
        const s = preds.items[k]; sw += segW[s]; sx += segW[s] * x[segU[s]];
      }
      if (useSuccs) for (let k = succs.start[v]; k < succs.start[v + 1]; k++) {
        const s = succs.items[k]; sw += segW[s]; sx += segW[s] * x[segV[s]];
      }
      if (sw === 0) { target[i] = x[v] - offset[i]; weight[i] = 1e-3; }
      else { target[i] = sx / sw - offset[i]; weight[i] = sw; }
    }
    pav.solve(target, weight, a, b);
    for (let i = a; i < b; i++) x[layer[i]] = pav.out[i] + offset[i];
  };
  for (let pass = 0; pass < o.placePasses; pass++) {
    for (let r = 1; r < R; r++) place(r, true, false);
    for (let r = R - 2; r >= 0; r--) place(r, false, true);
  }
  for (let r = 0; r < R; r++) place(r, true, true);
  // Straighten each long edge: all its dummies at one x, where the neighbours leave room.
  const fits = (d, t) => {
    const r = lrank[d], i = rankStart[r] + order[d];
    if (i > rankStart[r]) { const p = layer[i - 1]; if (t < x[p] + lw[p] / 2 + o.edgeSep) return false; }
    if (i + 1 < rankStart[r + 1]) { const q = layer[i + 1]; if (t > x[q] - lw[q] / 2 - o.edgeSep) return false; }
    return true;
  };
  for (let e = 0; e < m; e++) {
    if (skip[e]) continue;
    const count = rank[ld[e]] - lrank[from[e]] - 1, first = dummyStart[e];
    if (count < 2) continue;
    for (const t of [x[first], x[first + count - 1]]) {
      let ok = true;
      for (let k = 0; k < count && ok; k++) ok = fits(first + k, t);
      if (ok) { for (let k = 0; k < count; k++) x[first + k] = t; break; }
    }
  }

  // --- y coordinates ------------------------------------------------------------------
  const rankTop = new Float64Array(R), rankH = new Float64Array(R);
  for (let v = 0; v < L; v++) if ((v >= n || degree[v] > 0) && kind[v] !== DUMMY && lh[v] > rankH[lrank[v]]) rankH[lrank[v]] = lh[v];
  for (let r = 1; r < R; r++) rankTop[r] = rankTop[r - 1] + rankH[r - 1] + o.rankSep;
  const N = n + G;
  const outX = new Float32Array(N), outY = new Float32Array(N), outW = new Float32Array(N), outH = new Float32Array(N);
  let x0 = Infinity, x1 = -Infinity, y1 = 0;
  for (let r = 0; r < R; r++) y1 = Math.max(y1, rankTop[r] + rankH[r]);
  for (let v = 0; v < N; v++) {
    outW[v] = lw[v]; outH[v] = lh[v];
    if (v < n && degree[v] === 0) continue;
    outX[v] = x[v]; outY[v] = rankTop[lrank[v]] + rankH[lrank[v]] / 2;
    x0 = Math.min(x0, x[v] - lw[v] / 2); x1 = Math.max(x1, x[v] + lw[v] / 2);
  }
  for (let d = N; d < L; d++) { x0 = Math.min(x0, x[d]); x1 = Math.max(x1, x[d]); }
  if (connected === 0) { x0 = 0; x1 = 0; }

  // --- 6. edge polylines ---------------------------------------------------------------
  // Entry points spread along the target's top edge, ordered by where edges come from.
  const entry = new Float32Array(S);
  for (let v = 0; v < L; v++) {
    const a = preds.start[v], b = preds.start[v + 1];
    if (b - a < 2 || kind[v] === DUMMY) continue;
    const segs = Array.from(preds.items.subarray(a, b));
    segs.sort((p, q) => x[segU[p]] - x[segU[q]] || p - q);
    const spacing = Math.min(12, Math.max(2, lw[v] - 16) / (segs.length - 1));
    segs.forEach((s, i) => { entry[s] = (i - (segs.length - 1) / 2) * spacing; });
  }
  // Exit points: a box with several output values spreads them along its bottom edge.
  const exit = new Float32Array(m);
  for (let v = 0; v < L; v++) {
    const a = succs.start[v], b = succs.start[v + 1];
    if (b - a < 2 || kind[v] === DUMMY) continue;
    const groups = new Map();   // value -> [sum of x below, count, segments]
    for (let k = a; k < b; k++) {
      const s = succs.items[k], val = value[segEdge[s]];
      const g = groups.get(val) || [0, 0, []];
      g[0] += x[segV[s]]; g[1]++; g[2].push(s);
      groups.set(val, g);
    }
    if (groups.size < 2) continue;
    const list = [...groups.values()].sort((p, q) => p[0] / p[1] - q[0] / q[1]);
    const spacing = Math.min(12, Math.max(2, lw[v] - 16) / (list.length - 1));
    list.forEach((g, i) => { for (const s of g[2]) exit[segEdge[s]] = (i - (list.length - 1) / 2) * spacing; });
  }
  const pointStart = new Uint32Array(m + 1);
  for (let e = 0; e < m; e++) {
    const count = skip[e] ? 0 : 2 + 2 * (rank[ld[e]] - lrank[from[e]] - 1);
    pointStart[e + 1] = pointStart[e] + count;
  }
  const points = new Float32Array(pointStart[m] * 2);
  for (let e = 0; e < m; e++) {
    if (skip[e]) continue;
    let p = pointStart[e] * 2;
    const u = from[e], v = ld[e];
    const yOf = (w) => rankTop[lrank[w]] + rankH[lrank[w]] / 2;
    points[p++] = x[u] + exit[e]; points[p++] = yOf(u) + lh[u] / 2;
    const count = rank[v] - lrank[u] - 1;
    for (let i = 0; i < count; i++) {
      const d = dummyStart[e] + i, r = lrank[d];
      points[p++] = x[d]; points[p++] = rankTop[r];
      points[p++] = x[d]; points[p++] = rankTop[r] + rankH[r];
    }
    points[p++] = x[v] + entry[lastSeg[e]]; points[p++] = yOf(v) - lh[v] / 2;
    if (reversed[e]) reversePairs(points, pointStart[e] * 2, p);
  }

  // --- boxes with no edges: a grid below ------------------------------------------------
  const lonely = [];
  for (let v = 0; v < n; v++) if (degree[v] === 0) lonely.push(v);
  if (lonely.length) {
    let cell = 0;
    for (const v of lonely) cell = Math.max(cell, width[v]);
    cell += o.nodeSep;
    const cols = Math.max(1, Math.round(Math.sqrt(lonely.length * 2.5)));
    const top = connected ? y1 + o.rankSep * 2 : 0;
    const left = connected ? x0 : -cols * cell / 2;
    let rowTop = top, rowH = 0;
    lonely.forEach((v, i) => {
      const c = i % cols;
      if (c === 0 && i > 0) { rowTop += rowH + o.rankSep; rowH = 0; }
      rowH = Math.max(rowH, height[v]);
      outX[v] = left + c * cell + cell / 2; outY[v] = rowTop + height[v] / 2;
      x0 = Math.min(x0, outX[v] - width[v] / 2); x1 = Math.max(x1, outX[v] + width[v] / 2);
    });
    y1 = rowTop + rowH;
  }
  if (!isFinite(x0)) { x0 = 0; x1 = 0; }

  return {
    x: outX, y: outY, w: outW, h: outH, ghostSource: Int32Array.from(ghostSourceList), edgeGhost,
    points, pointStart, ranks: R, dummies: D, crossings: best, bounds: [x0, 0, x1, y1], ms: now() - t0,
  };
}

function now() { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }

// Compressed adjacency: items of key k are items[start[k] .. start[k+1]).
function csr(count, m, keyOf) {
  const start = new Int32Array(count + 1);
  for (let e = 0; e < m; e++) { const k = keyOf(e); if (k >= 0) start[k + 1]++; }
  for (let k = 0; k < count; k++) start[k + 1] += start[k];
  const fill = start.slice(0, count);
  const items = new Int32Array(start[count]);
  for (let e = 0; e < m; e++) { const k = keyOf(e); if (k >= 0) items[fill[k]++] = e; }
  return { start, items };
}

// Typed arrays' sort() with a comparator is slow on big arrays and not stable
// everywhere; go through a plain array. Most ranks are small: insertion sort in place
// (stable too) spares the copy.
function sortTyped(slice, compare) {
  if (slice.length < 2) return;
  if (slice.length <= 16) {
    for (let i = 1; i < slice.length; i++) {
      const v = slice[i];
      let j = i - 1;
      for (; j >= 0 && compare(slice[j], v) > 0; j--) slice[j + 1] = slice[j];
      slice[j + 1] = v;
    }
    return;
  }
  const tmp = Array.from(slice);
  tmp.sort(compare);
  slice.set(tmp);
}

function reversePairs(a, from, to) {
  for (let i = from, j = to - 2; i < j; i += 2, j -= 2) {
    const x = a[i], y = a[i + 1];
    a[i] = a[j]; a[i + 1] = a[j + 1]; a[j] = x; a[j + 1] = y;
  }
}

// Crossings between adjacent ranks (Barth, Jünger, Mutzel): sort each rank's segments
// by (upper position, lower position) and count inversions of the lower positions.
function countCrossings(R, rankStart, segsByRank, segU, segV, order) {
  let total = 0;
  const scratch = new Int32Array(segsByRank.items.length);
  const byEnds = (p, q) => order[segU[p]] - order[segU[q]] || order[segV[p]] - order[segV[q]];
  const tree = new Float64Array(Math.max(2, rankStart.length ? maxRankSize(R, rankStart) + 1 : 2));
  for (let r = 0; r + 1 < R; r++) {
    const a = segsByRank.start[r], b = segsByRank.start[r + 1];
    if (b - a < 2) continue;
    const segs = scratch.subarray(0, b - a);
    segs.set(segsByRank.items.subarray(a, b));
    sortTyped(segs, byEnds);
    const size = rankStart[r + 2] - rankStart[r + 1];
    tree.fill(0, 0, size + 1);
    let seen = 0;
    for (const s of segs) {
      const k = order[segV[s]] + 1;
      let below = 0;   // segments so far ending at or left of k
      for (let i = k; i > 0; i -= i & -i) below += tree[i];
      total += seen - below;
      for (let i = k; i <= size; i += i & -i) tree[i]++;
      seen++;
    }
  }
  return total;
}

function maxRankSize(R, rankStart) {
  let best = 0;
  for (let r = 0; r < R; r++) best = Math.max(best, rankStart[r + 1] - rankStart[r]);
  return best;
}

// Isotonic regression with weights: minimise Σ w_i (y_i - t_i)² subject to
// y_a ≤ y_a+1 ≤ … (the separations are folded into t by the caller). Linear time.
class PoolAdjacentViolators {
  constructor(size) {
    this.out = new Float64Array(size);
    this.sw = new Float64Array(size); this.swt = new Float64Array(size); this.first = new Int32Array(size);
  }
  solve(t, w, a, b) {
    const { sw, swt, first, out } = this;
    let top = -1;
    for (let i = a; i < b; i++) {
      top++; sw[top] = w[i]; swt[top] = w[i] * t[i]; first[top] = i;
      while (top > 0 && swt[top - 1] / sw[top - 1] > swt[top] / sw[top]) {
        sw[top - 1] += sw[top]; swt[top - 1] += swt[top]; top--;
      }
    }
    for (let k = top; k >= 0; k--) {
      const mean = swt[k] / sw[k], end = k === top ? b : first[k + 1];
      for (let i = first[k]; i < end; i++) out[i] = mean;
    }
  }
}
