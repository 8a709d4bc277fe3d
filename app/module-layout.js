// Layout of a module view (app/module-view.js): each expanded module's children (its
// ops and child module boxes or frames) are laid out on their own with the layered
// layout (app/layout.js layoutGraph), bottom-up; a frame is a node of its laid-out
// size plus a header in its parent's layout. Pure computation, runs in node too.
//
// Edges: an edge is laid out in the layout of the innermost module holding both ends
// (the top level if none), between the children of that module that contain its ends
// (a child frame stands for everything inside it). An edge entering a frame continues
// inside it from an invisible port: one port per outside source (keyed by that
// source's child of the common module), laid out with the frame's children, so edges
// fan out inside the frame through the layered layout (with its ghosts for far
// consumers) rather than straight across it. An edge leaving a frame goes from its
// source with one curve to where its route leaves the frame's bottom.
//
// Each module's inner layout depends only on the module and the sizes of its expanded
// children (its ports follow from the graph), so it is cached under a key made of
// those: expanding one module lays out that module and its ancestors only.

import { layoutGraph } from './layout.js';
import { KIND_FRAME, KIND_INPUT, KIND_MODULE, KIND_OP } from './graph-view.js';

export const FRAME_PAD = 14, FRAME_HEADER = 22;
const PORT_W = 8, PORT_H = 2;
const CACHE_LIMIT = 4096;
const PAIR = 4294967296;   // local pair keys: src * PAIR + dst

/**
 * view: from buildModuleView. size: {width, height, ghostWidth (Float32Array per box;
 * a frame's width is the least width its header needs), ghostHeight}. options: for
 * layoutGraph (every layout, a module's too).
 * cache: a Map kept between calls for the same graph (or null).
 * Returns what layoutGraph returns, for all boxes at once (frames included: x, y, w, h
 * are their outer boxes; ghosts after the boxes), plus stats {laidOut, cached}.
 */
export function layoutModules(view, size, options = {}, cache = null) {
  const t0 = now();
  const { boxes, container } = view;
  const B = boxes.length, E = view.edgeSrc.length;
  // Containers: 0 is the top level, c >= 1 the frame frames[c - 1] (parents first).
  const frames = [];
  for (let b = 0; b < B; b++) if (boxes[b].kind === KIND_FRAME) frames.push(b);
  const C = frames.length + 1;
  const cOfGroup = new Map(frames.map((b, i) => [boxes[b].ref, i + 1]));
  const boxC = new Int32Array(B);   // the container a box is placed in
  for (let b = 0; b < B; b++) boxC[b] = container[b] < 0 ? 0 : cOfGroup.get(container[b]) ?? 0;
  const parentC = new Int32Array(C).fill(-1), depthC = new Int32Array(C), frameBoxOfC = new Int32Array(C).fill(-1);
  frames.forEach((b, i) => { parentC[i + 1] = boxC[b]; frameBoxOfC[i + 1] = b; depthC[i + 1] = depthC[boxC[b]] + 1; });
  // What a box stands for whatever else is expanded (a module is the same module as a
  // box or a frame): orders ports the same way every time.
  const G = view.moduleOf ? view.moduleOf.length : 0, N = view.nodeBox ? view.nodeBox.length : 0;
  const identity = (b) => {
    const { kind, ref } = boxes[b];
    if (kind === KIND_MODULE || kind === KIND_FRAME) return ref;
    return kind === KIND_OP ? G + ref : kind === KIND_INPUT ? G + N + ref : G + N + B + b;
  };

  // Children of each container, local indices.
  const members = Array.from({ length: C }, () => []);
  const local = new Int32Array(B);
  for (let b = 0; b < B; b++) { local[b] = members[boxC[b]].length; members[boxC[b]].push(b); }

  // Pass 1: each edge's common container and the children there; on the target side
  // every frame it enters, with the child of that frame it goes on to.
  const edgeC = new Int32Array(E), edgeA = new Int32Array(E), edgeB = new Int32Array(E);
  const enterStart = new Int32Array(E + 1), enterC = [], enterChild = [];
  const portsOf = Array.from({ length: C }, () => new Map());   // identity -> stands-for box
  for (let e = 0; e < E; e++) {
    let xa = view.edgeSrc[e], xb = view.edgeDst[e], ca = boxC[xa], cb = boxC[xb];
    const from = enterC.length;
    for (let guard = 0; ca !== cb && guard < 2 * C; guard++) {
      if (depthC[ca] >= depthC[cb]) { xa = frameBoxOfC[ca]; ca = parentC[ca]; } else {
        enterC.push(cb); enterChild.push(xb);
        xb = frameBoxOfC[cb]; cb = parentC[cb];
      }
    }
    reverse(enterC, from); reverse(enterChild, from);   // outermost frame first
    enterStart[e + 1] = enterC.length;
    edgeC[e] = ca; edgeA[e] = xa; edgeB[e] = xb;
    for (let k = from; k < enterC.length; k++) portsOf[enterC[k]].set(identity(xa), xa);
  }

  // Ports of each container, in a fixed order, after its members; then the local edges
  // of each container, deduplicated and sorted (a cached layout's edges line up).
  const portIndex = new Array(C), portBox = new Array(C), localPairs = new Array(C);
  for (let c = 0; c < C; c++) {
    const ids = [...portsOf[c].keys()].sort((a, b) => a - b);
    portIndex[c] = new Map(ids.map((id, k) => [id, members[c].length + k]));
    portBox[c] = ids.map((id) => portsOf[c].get(id));
    localPairs[c] = [];
  }
  const edgeKey = new Float64Array(E), enterKey = new Float64Array(enterC.length);
  for (let e = 0; e < E; e++) {
    edgeKey[e] = local[edgeA[e]] * PAIR + local[edgeB[e]];
    localPairs[edgeC[e]].push(edgeKey[e]);
    const id = identity(edgeA[e]);
    for (let k = enterStart[e]; k < enterStart[e + 1]; k++) {
      enterKey[k] = portIndex[enterC[k]].get(id) * PAIR + local[enterChild[k]];
      localPairs[enterC[k]].push(enterKey[k]);
    }
  }
  const pairIndex = new Array(C), localEdges = new Array(C);
  for (let c = 0; c < C; c++) {
    const sorted = [...new Set(localPairs[c])].sort((a, b) => a - b);
    pairIndex[c] = new Map(sorted.map((key, i) => [key, i]));
    const src = new Int32Array(sorted.length), dst = new Int32Array(sorted.length);
    sorted.forEach((key, i) => { src[i] = Math.floor(key / PAIR); dst[i] = key - src[i] * PAIR; });
    localEdges[c] = { src, dst, value: src };   // edges from one source share a value (fan-out)
  }

  // Bottom-up: inner layouts (children's frames first), cached by key.
  const lays = new Array(C), keys = new Array(C), outerW = new Float32Array(B), outerH = new Float32Array(B);
  let laidOut = 0, cached = 0, ranks = 0, dummies = 0, crossings = 0;
  for (let c = C - 1; c >= 0; c--) {
    const list = members[c], n = list.length, P = portBox[c].length, L = localEdges[c];
    const childKeys = [];
    for (const b of list) if (boxes[b].kind === KIND_FRAME) childKeys.push(keys[cOfGroup.get(boxes[b].ref)]);
    keys[c] = `${c === 0 ? '' : boxes[frameBoxOfC[c]].ref}(${childKeys.join(',')})`;
    let lay = cache ? cache.get(keys[c]) : undefined;
    if (lay && (lay.n !== n + P || lay.pointStart.length !== L.src.length + 1)) lay = undefined;   // not the same children
    if (lay) cached++;
    else {
      const width = new Float32Array(n + P), height = new Float32Array(n + P), ghostWidth = new Float32Array(n + P);
      list.forEach((b, i) => {
        width[i] = boxes[b].kind === KIND_FRAME ? outerW[b] : size.width[b];
        height[i] = boxes[b].kind === KIND_FRAME ? outerH[b] : size.height[b];
        ghostWidth[i] = size.ghostWidth[b];
      });
      portBox[c].forEach((b, k) => { width[n + k] = PORT_W; height[n + k] = PORT_H; ghostWidth[n + k] = size.ghostWidth[b]; });
      lay = layoutGraph({ n: n + P, width, height, ghostWidth, ghostHeight: size.ghostHeight, src: L.src, dst: L.dst, value: L.value },
        options);
      lay.n = n + P;
      laidOut++;
      if (cache) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(keys[c], lay);
      }
    }
    lays[c] = lay;
    ranks += lay.ranks || 0; dummies += lay.dummies || 0; crossings += lay.crossings || 0;
    if (c > 0) {
      const f = frameBoxOfC[c], [x0, y0, x1, y1] = lay.bounds;
      outerW[f] = Math.max(size.width[f], (n ? x1 - x0 : 0) + 2 * FRAME_PAD);
      outerH[f] = (n ? y1 - y0 : 0) + FRAME_HEADER + 2 * FRAME_PAD;
    }
  }

  // Top-down: offsets of each container's local coordinates, then global arrays.
  const offX = new Float64Array(C), offY = new Float64Array(C);
  const ghostBase = new Int32Array(C + 1);
  for (let c = 0; c < C; c++) ghostBase[c + 1] = ghostBase[c] + lays[c].ghostSource.length;
  const GH = ghostBase[C];
  const x = new Float32Array(B + GH), y = new Float32Array(B + GH), w = new Float32Array(B + GH), h = new Float32Array(B + GH);
  const ghostSource = new Int32Array(GH);
  for (let c = 0; c < C; c++) {
    const lay = lays[c], list = members[c], n = list.length;
    if (c > 0) {
      const f = frameBoxOfC[c], [x0, y0, x1] = lay.bounds;
      const slack = Math.max(0, (w[f] - 2 * FRAME_PAD - (x1 - x0)) / 2);   // a header wider than the content
      offX[c] = x[f] - w[f] / 2 + FRAME_PAD + slack - x0;
      offY[c] = y[f] - h[f] / 2 + FRAME_HEADER + FRAME_PAD - y0;
    }
    list.forEach((b, i) => {
      x[b] = lay.x[i] + offX[c]; y[b] = lay.y[i] + offY[c];
      w[b] = boxes[b].kind === KIND_FRAME ? outerW[b] : lay.w[i];
      h[b] = boxes[b].kind === KIND_FRAME ? outerH[b] : lay.h[i];
    });
    for (let k = 0; k < lay.ghostSource.length; k++) {
      const id = B + ghostBase[c] + k, li = lay.n + k, s = lay.ghostSource[k];
      x[id] = lay.x[li] + offX[c]; y[id] = lay.y[li] + offY[c]; w[id] = lay.w[li]; h[id] = lay.h[li];
      ghostSource[ghostBase[c] + k] = s < n ? list[s] : portBox[c][s - n];   // a port's ghost stands for its source
    }
  }

  // Edge polylines: the route in the common container, then the route from the port
  // of each frame entered; from the last ghost on if a route has one.
  const edgeGhost = new Int32Array(E).fill(-1);
  const pointStart = new Uint32Array(E + 1);
  const segC = [], segLocal = [];
  let points = new Float32Array(1024), p = 0;
  const put = (px, py) => {
    if (p + 2 > points.length) { const more = new Float32Array(points.length * 2); more.set(points); points = more; }
    points[p++] = px; points[p++] = py;
  };
  for (let e = 0; e < E; e++) {
    pointStart[e] = p / 2;
    segC.length = 0; segLocal.length = 0;
    segC.push(edgeC[e]); segLocal.push(pairIndex[edgeC[e]].get(edgeKey[e]));
    for (let k = enterStart[e]; k < enterStart[e + 1]; k++) { segC.push(enterC[k]); segLocal.push(pairIndex[enterC[k]].get(enterKey[k])); }
    let first = 0;
    for (let j = 0; j < segC.length; j++) {
      const g = lays[segC[j]].edgeGhost[segLocal[j]];
      if (g >= 0) { first = j; edgeGhost[e] = B + ghostBase[segC[j]] + (g - lays[segC[j]].n); }
    }
    const s = view.edgeSrc[e];
    for (let j = first; j < segC.length; j++) {
      const c = segC[j], lay = lays[c], le = segLocal[j];
      const a = lay.pointStart[le], z = lay.pointStart[le + 1];
      if (z === a) break;
      // Extra points come in pairs (a repeat of the last point, then the next start)
      // so the scene's alternation of curves (between ranks) and straight runs is kept.
      if (j > first) put(points[p - 2], points[p - 1]);
      else if (edgeGhost[e] < 0 && boxC[s] !== c) { put(x[s], y[s] + h[s] / 2); }   // from inside a frame
      if (j > first || (edgeGhost[e] < 0 && boxC[s] !== c)) put(lay.points[2 * a] + offX[c], lay.points[2 * a + 1] + offY[c]);
      for (let k = a; k < z; k++) put(lay.points[2 * k] + offX[c], lay.points[2 * k + 1] + offY[c]);
    }
  }
  pointStart[E] = p / 2;
  return {
    x, y, w, h, ghostSource, edgeGhost, points: points.slice(0, p), pointStart,
    bounds: lays[0].bounds.slice(), ranks, dummies, crossings,
    ms: now() - t0, laidOut, cached,
  };
}

function reverse(list, from) {
  for (let i = from, j = list.length - 1; i < j; i++, j--) { const t = list[i]; list[i] = list[j]; list[j] = t; }
}

function now() { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }
