// WebGL2 renderer: draws a scene (app/scene.js) from static vertex buffers uploaded
// once per model, with three programs (edges, boxes, SDF text). Selection and
// highlighting change a small per-item state texture, never the buffers. Draws only
// when something changed. World units are CSS pixels at zoom 1. Zoomed far out, a
// level of detail (lines, points, then aggregated grids; see FAR_EDGE_ZOOM) keeps a
// frame's cost near what the screen can show; every buffer is in spatial tiles and
// only tiles in view are drawn. Listeners (the minimap) hear of scene/view/theme changes.

import { CATEGORIES, KIND_FRAME, KIND_GHOST, KIND_INPUT, KIND_MODULE, KIND_OP, KIND_OUTPUT } from './graph-view.js';
import { EDGE_STRIDE, NODE_STRIDE, TEXT_STRIDE } from './scene.js';
import { SDF_EDGE } from './text.js';
import { nearestEdge } from './edge-pick.js';

export const STATE_NORMAL = 0, STATE_DIM = 1, STATE_PATH = 2, STATE_SELECTED = 3;
const STATE_WIDTH = 2048;
const ARROW_LEN = 6.5;   // world units, as app/scene.js draws arrowheads

// Box header colours by op category (order of CATEGORIES), and the rest of the theme.
export const PALETTES = {
  light: {
    background: '#f6f7f9', body: '#ffffff', text: '#1f2328', onHeader: '#ffffff', label: '#6a717c',
    edge: '#99a0aa', accent: '#f08c00', select: '#1765d8', selectFill: '#e3eeff',
    categories: {
      other: '#6b7280', conv: '#3566a8', matmul: '#177e89', activation: '#c0392b',
      normalization: '#2f8a57', pooling: '#7b4fa3', shape: '#8d6a3a', elementwise: '#4f5d75',
      data: '#b2741a', control: '#a23b72', constant: '#8a9099', io: '#343b45',
    },
  },
  dark: {
    background: '#16181c', body: '#262a31', text: '#e3e6ea', onHeader: '#ffffff', label: '#9aa1ab',
    edge: '#646c78', accent: '#ffa94d', select: '#5aa8ff', selectFill: '#1d3452',
    categories: {
      other: '#5f6673', conv: '#3f6fb0', matmul: '#1d8590', activation: '#b94a3e',
      normalization: '#37875a', pooling: '#7d58a6', shape: '#8a6c42', elementwise: '#56647d',
      data: '#a8742a', control: '#9c4577', constant: '#6e747d', io: '#4b5563',
    },
  },
};

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);

const COMMON = `#version 300 es
precision highp float;
precision highp int;
uniform vec3 u_cam;        // world x, y at the canvas' top left; CSS px per world unit
uniform vec2 u_size;       // canvas size, CSS px
uniform float u_dpr;
uniform highp sampler2D u_state;
vec4 toClip(vec2 world) {
  vec2 s = (world - u_cam.xy) * u_cam.z;
  return vec4(s.x / u_size.x * 2.0 - 1.0, 1.0 - s.y / u_size.y * 2.0, 0.0, 1.0);
}
float stateOf(float id) {
  int i = int(id + 0.5);
  return floor(texelFetch(u_state, ivec2(i % ${STATE_WIDTH}, i / ${STATE_WIDTH}), 0).r * 255.0 + 0.5);
}
`;

const NODE_VS = `${COMMON}
in vec2 a_pos; in vec2 a_local; in vec2 a_size; in vec4 a_info;   // category, headerH, id, kind
out vec2 v_local;
flat out vec2 v_size; flat out float v_header; flat out int v_cat; flat out int v_kind; flat out float v_state;
void main() {
  v_local = a_local; v_size = a_size; v_header = a_info.y;
  v_cat = int(a_info.x + 0.5); v_kind = int(a_info.w + 0.5); v_state = stateOf(a_info.z);
  gl_Position = toClip(a_pos);
}`;

const NODE_FS = `#version 300 es
precision highp float;
in vec2 v_local;
flat in vec2 v_size; flat in float v_header; flat in int v_cat; flat in int v_kind; flat in float v_state;
uniform vec3 u_cat[${CATEGORIES.length}];
uniform vec3 u_body; uniform vec3 u_bg; uniform vec3 u_accent;
uniform vec3 u_select; uniform vec3 u_selectFill;   // the selected item: its own colour, not the trace's
uniform float u_px;        // world units per device pixel
out vec4 outColor;
float roundedBox(vec2 p, vec2 halfSize, float r) {
  vec2 q = abs(p) - halfSize + r;
  return length(max(q, 0.0)) + min(max(q.x, q.y), 0.0) - r;
}
void main() {
  vec2 halfSize = v_size * 0.5;
  float radius = v_kind == ${KIND_OP} || v_kind == ${KIND_MODULE} ? 4.0 : (v_kind == ${KIND_FRAME} ? 7.0 : min(halfSize.y, 12.0));
  float d = roundedBox(v_local - halfSize, halfSize, radius);
  float coverage = clamp(0.5 - d / u_px, 0.0, 1.0);
  if (coverage <= 0.0) discard;
  vec3 cat = u_cat[v_cat];
  bool ghost = v_kind == ${KIND_GHOST};
  vec3 fill = (!ghost && v_local.y < v_header) ? cat : u_body;
  vec3 border = ghost ? cat : mix(cat, vec3(0.0), 0.22);
  float bw = max(0.7, u_px);
  // Selected: the selection colour, a thick outline and a tinted body; on the trace
  // (upstream/downstream of it): the accent colour, a thinner outline.
  if (v_state > 2.5) { border = u_select; bw = max(3.2, 3.5 * u_px); if (fill == u_body) fill = u_selectFill; }
  else if (v_state > 1.5) { border = u_accent; bw = max(1.3, 1.5 * u_px); }
  // --- module hierarchy: a frame is a light header bar over a faintly tinted
  // region; a collapsed module's box has a double border ---
  if (v_kind == ${KIND_FRAME}) {
    fill = v_local.y < v_header ? mix(cat, u_body, 0.72) : mix(u_bg, cat, 0.07);
    if (v_state < 1.5) border = mix(cat, u_bg, 0.35);
  }
  vec3 c = mix(fill, border, smoothstep(-bw - 0.5 * u_px, -bw + 0.5 * u_px, d));
  if (v_kind == ${KIND_MODULE}) c = mix(c, border, smoothstep(0.5 * u_px, -0.5 * u_px, abs(d + bw + 2.6) - max(0.5, 0.5 * u_px)));
  if (v_state > 0.5 && v_state < 1.5) c = mix(c, u_bg, 0.75);
  outColor = vec4(c * coverage, coverage);
}`;

const EDGE_VS = `${COMMON}
in vec2 a_pos; in vec2 a_normal; in float a_id; in float a_side;
uniform float u_halfWidth;   // world units
out float v_across; flat out float v_hw; flat out float v_state; flat out float v_arrow; flat out float v_fade;
void main() {
  v_state = stateOf(a_id);
  float scale = u_cam.z * u_dpr;                       // device px per world unit
  float hw = max(u_halfWidth * (v_state > 2.5 ? 2.6 : v_state > 1.5 ? 1.9 : 1.0) * scale, 0.5 * u_dpr);
  v_hw = hw; v_arrow = a_side == 0.0 ? 1.0 : 0.0;
  v_across = a_side * (hw + 1.0);
  // Level of detail, zoomed far out: lines thin to a faint hairline (a mass of edges
  // reads as texture, not as ink), and arrowheads under ~1.5 CSS px are not drawn.
  v_fade = v_state > 1.5 ? 1.0 : clamp(u_cam.z * 4.0, 0.35, 1.0);
  bool tinyArrow = a_side == 0.0 && ${ARROW_LEN.toFixed(1)} * u_cam.z < 1.5;
  gl_Position = tinyArrow ? vec4(2.0, 2.0, 2.0, 1.0) : toClip(a_pos + a_normal * (hw + 1.0) / scale);
}`;

const EDGE_FS = `#version 300 es
precision highp float;
in float v_across; flat in float v_hw; flat in float v_state; flat in float v_arrow; flat in float v_fade;
uniform vec3 u_edge; uniform vec3 u_bg; uniform vec3 u_accent; uniform vec3 u_select;
out vec4 outColor;
void main() {
  float a = (v_arrow > 0.5 ? 1.0 : clamp(v_hw + 0.5 - abs(v_across), 0.0, 1.0)) * v_fade;
  vec3 c = v_state > 2.5 ? u_select : v_state > 1.5 ? u_accent : u_edge;   // a selected tensor's edges
  if (v_state > 0.5 && v_state < 1.5) c = mix(c, u_bg, 0.7);
  outColor = vec4(c * a, a);
}`;

const TEXT_VS = `${COMMON}
in vec2 a_pos; in vec2 a_uv; in float a_size; in float a_id; in float a_style;
uniform vec2 u_atlasSize;
out vec2 v_uv; flat out float v_alpha; flat out int v_style;
void main() {
  float state = stateOf(a_id);
  float screen = a_size * u_cam.z;   // CSS px: labels give way when small
  float lo = a_style > 1.5 ? 5.0 : 3.5;
  v_alpha = smoothstep(lo, lo * 1.5, screen) * (state > 0.5 && state < 1.5 ? 0.3 : 1.0);
  v_style = int(a_style + 0.5);
  v_uv = a_uv / u_atlasSize;
  gl_Position = v_alpha > 0.0 ? toClip(a_pos) : vec4(2.0, 2.0, 2.0, 1.0);
}`;

const TEXT_FS = `#version 300 es
precision highp float;
in vec2 v_uv; flat in float v_alpha; flat in int v_style;
uniform sampler2D u_atlas;
uniform vec3 u_onHeader; uniform vec3 u_text; uniform vec3 u_label;
out vec4 outColor;
void main() {
  float d = texture(u_atlas, v_uv).r;
  float w = max(fwidth(d) * 0.6, 0.01);
  float a = smoothstep(${SDF_EDGE.toFixed(4)} - w, ${SDF_EDGE.toFixed(4)} + w, d) * v_alpha;
  vec3 c = v_style == 0 ? u_onHeader : (v_style == 1 ? u_text : u_label);
  outColor = vec4(c * a, a);
}`;

// Far level of detail (zoomed out until boxes are specks): edges as 1-pixel GL lines
// along simplified polylines, boxes as points, each one or two vertices instead of
// quads with per-pixel shading. Same ids and state texture as the full meshes.
// The first view: fitted only when text is then legible (11 px titles drawn at >= 7.7 px).
export const LEGIBLE_ZOOM = 0.7;
const MARGIN = 32, LEGEND = 56;   // around a fitted graph; the legend sits at the bottom
const FAR_EDGE_ZOOM = 0.15;   // below: rank gaps < 5 CSS px, curves read as lines
const FAR_BOX_ZOOM = 0.05;    // below: a box is < 1.5 CSS px tall
const SIMPLIFY = 2;           // world units a simplified edge may stray from its curve
// Further out, boxes and edges are aggregated on grids of cells CELL0 * 4^k world units
// wide: a point per occupied cell, a line per pair of linked cells. The coarsest grid
// whose cells are at most a device pixel is drawn, so a frame costs about what the
// screen can show, not what the graph holds. Built on first use.
const CELL0 = 32;

const FAR_LINE_VS = `${COMMON}
in vec2 a_pos; in float a_id;
uniform vec3 u_edge; uniform vec3 u_bg; uniform vec3 u_accent; uniform vec3 u_select;
out vec4 v_color;
void main() {
  float state = stateOf(a_id);
  vec3 c = state > 2.5 ? u_select : state > 1.5 ? u_accent : (state > 0.5 ? mix(u_edge, u_bg, 0.7) : u_edge);
  float a = state > 1.5 ? 1.0 : clamp(u_cam.z * 4.0, 0.35, 1.0);   // as the full edges fade
  v_color = vec4(c * a, a);
  gl_Position = toClip(a_pos);
}`;

const FAR_POINT_VS = `${COMMON}
in vec2 a_pos; in float a_width; in float a_cat; in float a_id;
uniform vec3 u_cat[${CATEGORIES.length}]; uniform vec3 u_bg; uniform vec3 u_accent; uniform vec3 u_select;
out vec4 v_color;
void main() {
  float state = stateOf(a_id);
  vec3 c = state > 2.5 ? u_select : state > 1.5 ? u_accent : u_cat[int(a_cat + 0.5)];
  if (state > 0.5 && state < 1.5) c = mix(c, u_bg, 0.75);
  v_color = vec4(c, 1.0);
  gl_PointSize = clamp(a_width * u_cam.z * u_dpr, 1.0, 3.0 * u_dpr);
  gl_Position = toClip(a_pos);
}`;

const FAR_FS = `#version 300 es
precision highp float;
in vec4 v_color;
out vec4 outColor;
void main() { outColor = v_color; }`;

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.listeners = new Set();   // (what: 'scene' | 'view' | 'theme') => void, e.g. the minimap, the shared link
    const gl = canvas.getContext('webgl2', { antialias: true, alpha: false, premultipliedAlpha: true });
    if (!gl) throw new Error('WebGL2 is not available in this browser');
    this.gl = gl;
    this.programs = {
      node: program(gl, NODE_VS, NODE_FS), edge: program(gl, EDGE_VS, EDGE_FS), text: program(gl, TEXT_VS, TEXT_FS),
      farLine: program(gl, FAR_LINE_VS, FAR_FS), farPoint: program(gl, FAR_POINT_VS, FAR_FS),
    };
    this.cam = { x: 0, y: 0, z: 1 };
    this.scene = null;
    this.drawn = { nodes: 0, inputs: 0, outputs: 0, ghosts: 0, edges: 0 };
    this.setTheme('light');
    this.frame = 0;
    this.size = { w: 1, h: 1, dpr: 1 };
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  setTheme(name) {
    const p = PALETTES[name] || PALETTES.light;
    this.palette = p;
    this.notify('theme');
    this.colors = {
      bg: rgb(p.background), body: rgb(p.body), text: rgb(p.text), onHeader: rgb(p.onHeader),
      label: rgb(p.label), edge: rgb(p.edge), accent: rgb(p.accent), select: rgb(p.select), selectFill: rgb(p.selectFill),
      cat: CATEGORIES.flatMap((c) => rgb(p.categories[c])),
    };
    this.requestDraw();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, this.canvas.clientWidth), h = Math.max(1, this.canvas.clientHeight);
    const width = Math.round(w * dpr), height = Math.round(h * dpr);
    // (setting the size, even to the same, reallocates the drawing buffer)
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    this.size = { w, h, dpr };
    if (this.fitted && this.scene) this.fit(false);   // still as fitted: keep it fitted
    this.requestDraw();
    this.notify('view');
  }

  // Takes ownership of the scene's arrays; the previous scene is released.
  setScene(scene) {
    const gl = this.gl, t0 = performance.now();
    this.releaseScene();
    const buffers = [];
    const vao = (prog, mesh, stride, attrs) => {
      const v = gl.createVertexArray();
      gl.bindVertexArray(v);
      const vb = gl.createBuffer(); buffers.push(vb);
      gl.bindBuffer(gl.ARRAY_BUFFER, vb);
      gl.bufferData(gl.ARRAY_BUFFER, mesh.vertices, gl.STATIC_DRAW);
      let offset = 0;
      for (const [name, size] of attrs) {
        const loc = gl.getAttribLocation(prog, name);
        if (loc >= 0) {
          gl.enableVertexAttribArray(loc);
          gl.vertexAttribPointer(loc, size, gl.FLOAT, false, stride * 4, offset * 4);
        }
        offset += size;
      }
      const ib = gl.createBuffer(); buffers.push(ib);
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, mesh.indices, gl.STATIC_DRAW);
      gl.bindVertexArray(null);
      return { vao: v, count: mesh.indices.length, tiles: mesh.tiles, ranges: mesh.ranges };
    };
    const P = this.programs, M = scene.meshes;
    this.gpu = {
      buffers,
      nodes: vao(P.node, M.nodes, NODE_STRIDE, [['a_pos', 2], ['a_local', 2], ['a_size', 2], ['a_info', 4]]),
      edges: vao(P.edge, M.edges, EDGE_STRIDE, [['a_pos', 2], ['a_normal', 2], ['a_id', 1], ['a_side', 1]]),
      text: vao(P.text, M.text, TEXT_STRIDE, [['a_pos', 2], ['a_uv', 2], ['a_size', 1], ['a_id', 1], ['a_style', 1]]),
      // module frames (app/scene.js): drawn first, under edges and boxes
      frames: M.frames ? vao(P.node, M.frames, NODE_STRIDE, [['a_pos', 2], ['a_local', 2], ['a_size', 2], ['a_info', 4]]) : null,
    };
    this.drawn = countDrawn(scene);
    // Glyph atlas (single channel distance field). No mipmaps: averaging distances
    // erodes thin strokes; the field interpolates well enough when minified.
    const atlas = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, atlas);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, scene.atlas.width, scene.atlas.height, 0, gl.RED, gl.UNSIGNED_BYTE, scene.atlas.data);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.gpu.atlas = atlas;
    this.gpu.atlasSize = [scene.atlas.width, scene.atlas.height];
    // Per-item state: boxes, ghosts, edges.
    this.itemCount = scene.boxes + scene.ghosts + scene.edges;
    this.stateRows = Math.max(1, Math.ceil(this.itemCount / STATE_WIDTH));
    this.gpu.state = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.gpu.state);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    this.scene = scene;
    this.setStates(null);
    scene.boxCategory = boxCategories(scene);   // for the minimap, before the vertices go
    const t1 = performance.now();
    this.gpu.far = this.uploadFar(scene, buffers);
    // For profiles and bench/scale_bench.py (performance.getEntriesByType('measure')).
    performance.measure('renderer: upload meshes', { start: t0, end: t1 });
    performance.measure('renderer: far level of detail', { start: t1, end: performance.now() });
    // The UI thread keeps what picking and navigation need; vertex arrays are dropped.
    for (const mesh of Object.values(scene.meshes)) { mesh.vertices = null; mesh.indices = null; }
    scene.atlas.data = null;
    this.openView();
    this.notify('scene');
  }

  // The far level of detail's buffers (see FAR_EDGE_ZOOM): the edge quads' polylines
  // simplified into line segments, and a point per box.
  uploadFar(scene, buffers) {
    const gl = this.gl;
    const upload = (prog, flat, attrs, perPrimitive) => {
      const stride = attrs.reduce((sum, [, size]) => sum + size, 0);
      const { data, tiles, ranges } = tiled(flat, stride, perPrimitive);
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      const vb = gl.createBuffer(); buffers.push(vb);
      gl.bindBuffer(gl.ARRAY_BUFFER, vb);
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
      let offset = 0;
      for (const [name, size] of attrs) {
        const loc = gl.getAttribLocation(prog, name);
        if (loc >= 0) { gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, size, gl.FLOAT, false, stride * 4, offset * 4); }
        offset += size;
      }
      gl.bindVertexArray(null);
      return { vao, count: data.length / stride, tiles, ranges };
    };
    const n = scene.boxes + scene.ghosts, pts = new Float32Array(n * 5), cat = scene.boxCategory;
    for (let i = 0; i < n; i++) {
      pts[5 * i] = scene.x[i]; pts[5 * i + 1] = scene.y[i]; pts[5 * i + 2] = scene.w[i]; pts[5 * i + 3] = cat[i]; pts[5 * i + 4] = i;
    }
    const lines = simplifiedEdgeLines(scene.meshes.edges.vertices);
    const uploadLevel = (ptsData, lineData) => ({
      lines: upload(this.programs.farLine, lineData, [['a_pos', 2], ['a_id', 1]], 2),
      points: upload(this.programs.farPoint, ptsData, [['a_pos', 2], ['a_width', 1], ['a_cat', 1], ['a_id', 1]], 1),
    });
    const [gx0, gy0] = scene.bounds;
    const levels = [];
    return {
      ...uploadLevel(pts, lines),
      // The aggregated grid to draw at zoom z, or null when boxes are big enough to show.
      level: (z, dpr) => {
        let k = -1;
        while (CELL0 * 4 ** (k + 1) * z * dpr <= 1 && k < 12) k++;
        if (k < 0) return null;
        return (levels[k] ??= uploadLevel(...aggregate(pts, lines, CELL0 * 4 ** k, gx0, gy0)));
      },
      levels,
    };
  }

  addListener(listener) { this.listeners.add(listener); }
  notify(what) { if (this.listeners && !this.warming) for (const listener of this.listeners) listener(what); }

  // Draws `scene` once near and once far, unseen (no model is open: the canvas is
  // hidden), then lets it go and nobody is told: the GPU compiles every program and
  // draw state now instead of at the first model's first frame (SwiftShader: ~0.8 s).
  warmUp(scene) {
    if (this.scene) return;
    this.warming = true;
    try {
      this.setScene(scene);
      const [x0, y0] = scene.bounds;
      for (const z of [1, FAR_BOX_ZOOM / 2]) { this.cam = { x: x0, y: y0, z }; this.draw(); }
      // a readback waits for the GPU to run the draws: a software GPU (SwiftShader)
      // compiles its routines then, not at the first visible frame
      this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, new Uint8Array(4));
    } finally {
      this.releaseScene();
      this.cam = { x: 0, y: 0, z: 1 };
      this.fitted = false;
      this.warming = false;
    }
    this.requestDraw();
  }

  releaseScene() {
    if (!this.gpu) return;
    const gl = this.gl;
    for (const b of this.gpu.buffers) gl.deleteBuffer(b);
    for (const k of ['nodes', 'edges', 'text', 'frames']) if (this.gpu[k]) gl.deleteVertexArray(this.gpu[k].vao);
    for (const part of [this.gpu.far, ...this.gpu.far.levels]) {
      if (part) { gl.deleteVertexArray(part.lines.vao); gl.deleteVertexArray(part.points.vao); }
    }
    gl.deleteTexture(this.gpu.atlas); gl.deleteTexture(this.gpu.state);
    this.gpu = null; this.scene = null;
  }

  // states: Uint8Array over all items (boxes, ghosts, edges) or null for all normal.
  setStates(states) {
    const gl = this.gl;
    const data = new Uint8Array(STATE_WIDTH * this.stateRows);
    if (states) data.set(states.subarray(0, Math.min(states.length, data.length)));
    gl.bindTexture(gl.TEXTURE_2D, this.gpu.state);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, STATE_WIDTH, this.stateRows, 0, gl.RED, gl.UNSIGNED_BYTE, data);
    this.requestDraw();
  }

  // --- camera ---
  worldToScreen(x, y) { return { x: (x - this.cam.x) * this.cam.z, y: (y - this.cam.y) * this.cam.z }; }
  screenToWorld(x, y) { return { x: x / this.cam.z + this.cam.x, y: y / this.cam.z + this.cam.y }; }

  setCamera(cam) {
    this.cam = { x: cam.x, y: cam.y, z: Math.min(8, Math.max(1e-4, cam.z)) };
    this.requestDraw();
    this.notify('view');
  }

  fitCamera() {
    const [x0, y0, x1, y1] = this.scene ? this.scene.bounds : [0, 0, 1, 1];
    const { w, h } = this.size;
    const z = Math.min(1.5, Math.max(1e-4, Math.min((w - 2 * MARGIN) / Math.max(1, x1 - x0), (h - MARGIN - LEGEND) / Math.max(1, y1 - y0))));
    return { x: (x0 + x1) / 2 - w / 2 / z, y: (y0 + y1) / 2 - (h - LEGEND + MARGIN) / 2 / z, z };
  }

  fit(animate = true) { this.animateTo(this.fitCamera(), animate ? 220 : 0); this.fitted = true; }

  // The view a scene opens at: fitted when the whole graph is then legible; otherwise at
  // 100 %, its top (the graph's inputs) at the top of the canvas, centred across on the
  // first graph input, or without one on the median box (a long graph is scrolled from
  // where its data enters, as it is read).
  // Fit stays one key away ("0").
  openView() {
    const fit = this.fitCamera();
    if (fit.z >= LEGIBLE_ZOOM || !this.scene) { this.fit(false); return; }
    const s = this.scene, [x0, y0, x1] = s.bounds, { w } = this.size, z = 1;
    let anchor = -1;   // across: the topmost graph input, else the median box (the graph's body)
    for (let i = 0; i < s.boxes; i++) {
      if (s.kinds[i] === KIND_INPUT && (anchor < 0 || s.y[i] < s.y[anchor])) anchor = i;
    }
    const across = anchor >= 0 ? s.x[anchor] : s.x.slice(0, s.boxes).sort()[s.boxes >> 1];
    let x = (x0 + x1) / 2 - w / 2 / z;   // narrower than the canvas: centred
    if ((x1 - x0) * z + 2 * MARGIN > w) {
      x = Math.min(Math.max(across - w / 2 / z, x0 - MARGIN / z), x1 + MARGIN / z - w / z);
    }
    this.animateTo({ x, y: y0 - MARGIN / z, z }, 0);
    this.fitted = false;
  }

  // Zoom by `factor` keeping the world point under canvas pixel (sx, sy) in place.
  // Successive animated steps compound on where the previous one was heading.
  zoomAt(factor, sx, sy, animate = false) {
    this.fitted = false;
    const base = this.tweenTarget || this.cam;
    const z = Math.min(8, Math.max(1e-4, base.z * factor));
    const w = this.screenToWorld(sx, sy);
    this.animateTo({ x: w.x - sx / z, y: w.y - sy / z, z }, animate ? 160 : 0, { sx, sy, wx: w.x, wy: w.y });
  }

  panBy(dx, dy, animate = false) {
    this.fitted = false;
    this.animateTo({ x: this.cam.x - dx / this.cam.z, y: this.cam.y - dy / this.cam.z, z: this.cam.z }, animate ? 160 : 0);
  }

  // Bring world point (x, y) to the centre, zooming in to at least minZoom. at: the
  // canvas pixel {x, y} to bring it to instead of the centre (the middle of the part of
  // the canvas a panel leaves uncovered: app/main.js freeCenter).
  centerOn(x, y, animate = true, minZoom = 0, at = null) {
    this.fitted = false;
    const { w, h } = this.size, z = Math.max(this.cam.z, minZoom);
    const sx = at ? at.x : w / 2, sy = at ? at.y : h / 2;
    this.animateTo({ x: x - sx / z, y: y - sy / z, z }, animate ? 260 : 0);
  }

  // anchor {sx, sy, wx, wy}: keep world point (wx, wy) at canvas pixel (sx, sy) throughout.
  animateTo(target, ms, anchor = null) {
    cancelAnimationFrame(this.tween);
    this.tweenTarget = null;
    if (!ms) { this.setCamera(target); return; }
    const from = { ...this.cam }, t0 = performance.now();
    this.tweenTarget = target;
    // Interpolate zoom in log space so it feels even.
    const step = () => {
      const t = Math.min(1, (performance.now() - t0) / ms), e = 1 - (1 - t) ** 3;
      const z = Math.exp(Math.log(from.z) + (Math.log(target.z) - Math.log(from.z)) * e);
      if (anchor) {
        this.setCamera({ x: anchor.wx - anchor.sx / z, y: anchor.wy - anchor.sy / z, z });
      } else {   // the screen centre's world point moves linearly
        const { w, h } = this.size;
        const cx = from.x + w / 2 / from.z + ((target.x + w / 2 / target.z) - (from.x + w / 2 / from.z)) * e;
        const cy = from.y + h / 2 / from.z + ((target.y + h / 2 / target.z) - (from.y + h / 2 / from.z)) * e;
        this.setCamera({ x: cx - w / 2 / z, y: cy - h / 2 / z, z });
      }
      if (t < 1) this.tween = requestAnimationFrame(step);
      else this.tweenTarget = null;
    };
    step();
  }

  // Box (graph input, op, output, or ghost) under a CSS pixel of the canvas, or -1.
  pick(sx, sy) {
    const s = this.scene;
    if (!s) return -1;
    const p = this.screenToWorld(sx, sy);
    const slack = 2 / this.cam.z;
    for (let i = s.boxes + s.ghosts - 1; i >= 0; i--) {
      if (Math.abs(p.x - s.x[i]) <= s.w[i] / 2 + slack && Math.abs(p.y - s.y[i]) <= s.h[i] / 2 + slack) return i;
    }
    return -1;
  }

  // Edge whose drawn line passes within `tolerance` CSS px of a canvas pixel, or -1
  // (app/edge-pick.js: a grid of the edges' segments, built on the first pick).
  pickEdge(sx, sy, tolerance = 5) {
    if (!this.scene) return -1;
    const p = this.screenToWorld(sx, sy);
    const hit = nearestEdge(this.scene, p.x, p.y, tolerance / this.cam.z);
    return hit ? hit.edge : -1;
  }

  // --- drawing ---
  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  draw() {
    const gl = this.gl, c = this.colors;
    const { w, h, dpr } = this.size;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(c.bg[0], c.bg[1], c.bg[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.gpu) return;
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    const common = (prog) => {
      gl.useProgram(prog);
      gl.uniform3f(loc(prog, 'u_cam'), this.cam.x, this.cam.y, this.cam.z);
      gl.uniform2f(loc(prog, 'u_size'), w, h);
      gl.uniform1f(loc(prog, 'u_dpr'), dpr);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.gpu.state);
      gl.uniform1i(loc(prog, 'u_state'), 0);
    };
    const loc = (prog, name) => prog.locations[name] ??= gl.getUniformLocation(prog, name);
    const u3 = (prog, name, v) => gl.uniform3fv(loc(prog, name), v);
    const { node, edge, text } = this.programs;

    if (this.gpu.frames && this.gpu.frames.count) {   // module frames, under everything
      common(node);
      u3(node, 'u_cat', c.cat); u3(node, 'u_body', c.body); u3(node, 'u_bg', c.bg); u3(node, 'u_accent', c.accent); u3(node, 'u_select', c.select); u3(node, 'u_selectFill', c.selectFill);
      gl.uniform1f(loc(node, 'u_px'), 1 / (this.cam.z * dpr));
      this.drawElements(this.gpu.frames);
    }
    const { farLine, farPoint } = this.programs;
    const far = (this.cam.z < FAR_BOX_ZOOM && this.gpu.far.level(this.cam.z, dpr)) || this.gpu.far;
    if (this.cam.z < FAR_EDGE_ZOOM) {
      common(farLine);
      u3(farLine, 'u_edge', c.edge); u3(farLine, 'u_bg', c.bg); u3(farLine, 'u_accent', c.accent); u3(farLine, 'u_select', c.select);
      this.drawTiles(far.lines, (first, count) => gl.drawArrays(gl.LINES, first, count));
    } else {
      common(edge);
      u3(edge, 'u_edge', c.edge); u3(edge, 'u_bg', c.bg); u3(edge, 'u_accent', c.accent); u3(edge, 'u_select', c.select);
      gl.uniform1f(loc(edge, 'u_halfWidth'), 0.55);
      this.drawElements(this.gpu.edges);
    }

    if (this.cam.z < FAR_BOX_ZOOM) {
      common(farPoint);
      u3(farPoint, 'u_cat', c.cat); u3(farPoint, 'u_bg', c.bg); u3(farPoint, 'u_accent', c.accent); u3(farPoint, 'u_select', c.select);
      this.drawTiles(far.points, (first, count) => gl.drawArrays(gl.POINTS, first, count));
    } else {
      common(node);
      u3(node, 'u_cat', c.cat); u3(node, 'u_body', c.body); u3(node, 'u_bg', c.bg); u3(node, 'u_accent', c.accent); u3(node, 'u_select', c.select); u3(node, 'u_selectFill', c.selectFill);
      gl.uniform1f(loc(node, 'u_px'), 1 / (this.cam.z * dpr));
      this.drawElements(this.gpu.nodes);
    }

    if (11 * this.cam.z >= 3.5) {   // below that no label is legible: skip the pass
      common(text);
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D, this.gpu.atlas);
      gl.uniform1i(loc(text, 'u_atlas'), 1);
      gl.uniform2f(loc(text, 'u_atlasSize'), ...this.gpu.atlasSize);
      u3(text, 'u_onHeader', c.onHeader); u3(text, 'u_text', c.text); u3(text, 'u_label', c.label);
      this.drawElements(this.gpu.text);
    }
    gl.bindVertexArray(null);
  }

  // Milliseconds of `count` full redraws, each waited for (a 1-pixel readback).
  frameTimes(count = 10) {
    const gl = this.gl, pixel = new Uint8Array(4), times = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      this.draw();
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
      times.push(performance.now() - t0);
    }
    return times;
  }

  // Draws the tiles of `part` that overlap the view (adjacent ones in one call).
  drawElements(part) {
    const gl = this.gl;
    this.drawTiles(part, (first, count) => gl.drawElements(gl.TRIANGLES, count, gl.UNSIGNED_INT, first * 4));
  }

  // part: {vao, count, tiles (x0,y0,x1,y1 each), ranges (first, count each)};
  // draw(first, count) issues one call for a run of adjacent tiles in view.
  drawTiles(part, draw) {
    if (!part.count) return;
    const { tiles, ranges } = part;
    const margin = 16 / this.cam.z;   // lines widen to a pixel or more when zoomed out
    const x0 = this.cam.x - margin, y0 = this.cam.y - margin;
    const x1 = this.cam.x + this.size.w / this.cam.z + margin, y1 = this.cam.y + this.size.h / this.cam.z + margin;
    this.gl.bindVertexArray(part.vao);
    let start = -1, end = -1;
    for (let t = 0; t < ranges.length / 2; t++) {
      if (tiles[4 * t] > x1 || tiles[4 * t + 2] < x0 || tiles[4 * t + 1] > y1 || tiles[4 * t + 3] < y0) continue;
      const a = ranges[2 * t], n = ranges[2 * t + 1];
      if (a === end) { end += n; continue; }
      if (end > start) draw(start, end - start);
      start = a; end = a + n;
    }
    if (end > start) draw(start, end - start);
  }

}

// Primitives of `per` vertices of `stride` floats (position first), reordered by
// spatial tile so that drawTiles can skip those out of view: {data, tiles, ranges}
// (ranges in vertices).
function tiled(flat, stride, per) {
  const np = flat.length / (stride * per);
  let gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity;
  for (let o = 0; o < flat.length; o += stride) {
    gx0 = Math.min(gx0, flat[o]); gx1 = Math.max(gx1, flat[o]); gy0 = Math.min(gy0, flat[o + 1]); gy1 = Math.max(gy1, flat[o + 1]);
  }
  const size = Math.max(512, Math.sqrt(((gx1 - gx0) * (gy1 - gy0)) / 1024) || 0);
  const nx = Math.floor((gx1 - gx0) / size) + 1, ny = Math.floor((gy1 - gy0) / size) + 1;
  const key = new Int32Array(np), start = new Int32Array(np ? nx * ny + 1 : 1);
  const P = stride * per;
  for (let p = 0; p < np; p++) {
    key[p] = Math.floor((flat[p * P + 1] - gy0) / size) * nx + Math.floor((flat[p * P] - gx0) / size);
    start[key[p] + 1]++;
  }
  for (let k = 1; k < start.length; k++) start[k] += start[k - 1];
  const fill = start.slice(), data = new Float32Array(flat.length);
  const box = new Float32Array(start.length * 4).fill(Infinity);
  for (let t = 0; t < start.length; t++) { box[4 * t + 2] = -Infinity; box[4 * t + 3] = -Infinity; }
  for (let p = 0; p < np; p++) {
    const t = key[p], at = fill[t]++;
    for (let k = 0; k < P; k++) data[at * P + k] = flat[p * P + k];
    for (let v = 0; v < per; v++) {
      const x = flat[p * P + v * stride], y = flat[p * P + v * stride + 1];
      box[4 * t] = Math.min(box[4 * t], x); box[4 * t + 1] = Math.min(box[4 * t + 1], y);
      box[4 * t + 2] = Math.max(box[4 * t + 2], x); box[4 * t + 3] = Math.max(box[4 * t + 3], y);
    }
  }
  const tiles = [], ranges = [];
  for (let t = 0; t + 1 < start.length; t++) {
    if (start[t + 1] === start[t]) continue;
    tiles.push(box[4 * t], box[4 * t + 1], box[4 * t + 2], box[4 * t + 3]);
    ranges.push(start[t] * per, (start[t + 1] - start[t]) * per);
  }
  return { data, tiles: Float32Array.from(tiles), ranges: Uint32Array.from(ranges) };
}

// One grid of the far level of detail: [points, lines] in the layouts of the far
// buffers, a point per cell holding a box (its first box's category and id, at the
// cell's centre), a line per pair of cells joined by an edge segment.
function aggregate(pts, lines, cell, gx0, gy0) {
  const nx = 1 << 20;   // cells per row in keys (graphs are far narrower)
  const keyOf = (x, y) => Math.floor((y - gy0) / cell) * nx + Math.floor((x - gx0) / cell);
  const outPts = new Float32Array(pts.length), outLines = new Float32Array(lines.length);
  let np = 0, nl = 0;
  const cellOf = new Map();   // key -> dense index (for pair keys that fit a double)
  const dense = (key) => { let i = cellOf.get(key); if (i === undefined) cellOf.set(key, (i = cellOf.size)); return i; };
  const hasBox = new Set();
  for (let o = 0; o < pts.length; o += 5) {
    const key = keyOf(pts[o], pts[o + 1]);
    if (hasBox.has(key)) continue;
    hasBox.add(key);
    outPts[np++] = gx0 + ((key % nx) + 0.5) * cell; outPts[np++] = gy0 + (Math.floor(key / nx) + 0.5) * cell;
    outPts[np++] = cell; outPts[np++] = pts[o + 3]; outPts[np++] = pts[o + 4];
  }
  const pairs = new Set();
  for (let o = 0; o < lines.length; o += 6) {
    const a = keyOf(lines[o], lines[o + 1]), b = keyOf(lines[o + 3], lines[o + 4]);
    if (a === b) continue;
    const da = dense(a), db = dense(b);
    const pair = da < db ? da * 67108864 + db : db * 67108864 + da;
    if (pairs.has(pair)) continue;
    pairs.add(pair);
    for (const key of [a, b]) {
      outLines[nl++] = gx0 + ((key % nx) + 0.5) * cell; outLines[nl++] = gy0 + (Math.floor(key / nx) + 0.5) * cell;
      outLines[nl++] = lines[o + 2];
    }
  }
  return [outPts.slice(0, np), outLines.slice(0, nl)];
}

// Line segments (x, y, id per end) along every edge's drawn polyline, read back from
// the edge quads (app/scene.js: 4 vertices per segment, p0 ±normal then p1 ±normal;
// arrowheads are 3 vertices with side 0 and are left out), merged while every point
// merged away stays within SIMPLIFY of the merged segment.
function simplifiedEdgeLines(v) {
  const out = new Float32Array((v.length / (4 * EDGE_STRIDE)) * 6 + 6);
  let n = 0;
  const emit = (x0, y0, id, x1, y1) => { out[n++] = x0; out[n++] = y0; out[n++] = id; out[n++] = x1; out[n++] = y1; out[n++] = id; };
  const skipped = [];   // x, y of the points since the anchor (a, …, p)
  let id = -1, ax = 0, ay = 0, px = 0, py = 0, open = false;
  const flush = () => { if (open) emit(ax, ay, id, px, py); open = false; };
  const straight = (qx, qy) => {   // a -> q passes all skipped points
    const dx = qx - ax, dy = qy - ay, len = Math.hypot(dx, dy) || 1;
    for (let k = 0; k < skipped.length; k += 2) {
      if (Math.abs((skipped[k] - ax) * dy - (skipped[k + 1] - ay) * dx) / len > SIMPLIFY) return false;
    }
    return true;
  };
  for (let o = 0; o < v.length;) {
    if (v[o + 5] === 0) { o += 3 * EDGE_STRIDE; continue; }   // arrowhead
    const sid = v[o + 4], x0 = v[o], y0 = v[o + 1], x1 = v[o + 2 * EDGE_STRIDE], y1 = v[o + 2 * EDGE_STRIDE + 1];
    o += 4 * EDGE_STRIDE;
    if (!open || sid !== id || x0 !== px || y0 !== py) {   // a new polyline
      flush();
      id = sid; ax = x0; ay = y0; px = x1; py = y1; open = true; skipped.length = 0;
      continue;
    }
    skipped.push(px, py);
    if (!straight(x1, y1)) {   // p stays: the segment a -> p is drawn, p is the new anchor
      emit(ax, ay, id, px, py);
      ax = px; ay = py; skipped.length = 0;
    }
    px = x1; py = y1;
  }
  flush();
  return out.slice(0, n);
}

// Op category of each box and ghost (ids 0..boxes+ghosts-1), read from the box quads.
function boxCategories(scene) {
  const out = new Uint8Array(scene.boxes + scene.ghosts), nv = scene.meshes.nodes.vertices;
  for (let q = 0; q < nv.length; q += 4 * NODE_STRIDE) {
    const id = nv[q + 8];
    if (id < out.length) out[id] = nv[q + 6];
  }
  return out;
}

// What the vertex buffers actually hold: box quads by kind, and one arrowhead per edge.
function countDrawn(scene) {
  const out = { nodes: 0, inputs: 0, outputs: 0, ghosts: 0, edges: 0, modules: 0, frames: 0 };
  const nv = scene.meshes.nodes.vertices;
  if (scene.meshes.frames) out.frames = scene.meshes.frames.vertices.length / (4 * NODE_STRIDE);   // module frames
  for (let q = 0; q < nv.length; q += 4 * NODE_STRIDE) {
    const kind = nv[q + 9];
    if (kind === KIND_MODULE) out.modules++;   // collapsed module boxes
    else if (kind === KIND_OP) out.nodes++;
    else if (kind === KIND_INPUT) out.inputs++;
    else if (kind === KIND_OUTPUT) out.outputs++;
    else if (kind === KIND_GHOST) out.ghosts++;
  }
  const ev = scene.meshes.edges.vertices;
  let arrowVertices = 0;
  for (let v = 0; v < ev.length; v += EDGE_STRIDE) if (ev[v + 5] === 0) arrowVertices++;
  out.edges = arrowVertices / 3;
  return out;
}

function program(gl, vs, fs) {
  const compile = (type, source) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const p = gl.createProgram();
  gl.attachShader(p, compile(gl.VERTEX_SHADER, vs));
  gl.attachShader(p, compile(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(p)}`);
  p.locations = {};   // uniform locations, looked up once
  return p;
}
