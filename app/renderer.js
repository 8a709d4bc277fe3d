// WebGL2 renderer: draws a scene (app/scene.js) from static vertex buffers uploaded
// once per model, with three programs (edges, boxes, SDF text). Selection and
// highlighting change a small per-item state texture, never the buffers. Draws only
// when something changed. World units are CSS pixels at zoom 1.

import { CATEGORIES, KIND_GHOST, KIND_INPUT, KIND_OP, KIND_OUTPUT } from './graph-view.js';
import { EDGE_STRIDE, NODE_STRIDE, TEXT_STRIDE } from './scene.js';
import { SDF_EDGE } from './text.js';

export const STATE_NORMAL = 0, STATE_DIM = 1, STATE_PATH = 2, STATE_SELECTED = 3;
const STATE_WIDTH = 2048;

// Box header colours by op category (order of CATEGORIES), and the rest of the theme.
export const PALETTES = {
  light: {
    background: '#f6f7f9', body: '#ffffff', text: '#1f2328', onHeader: '#ffffff', label: '#6a717c',
    edge: '#99a0aa', accent: '#f08c00',
    categories: {
      other: '#6b7280', conv: '#3566a8', matmul: '#177e89', activation: '#c0392b',
      normalization: '#2f8a57', pooling: '#7b4fa3', shape: '#8d6a3a', elementwise: '#4f5d75',
      data: '#b2741a', control: '#a23b72', constant: '#8a9099', io: '#343b45',
    },
  },
  dark: {
    background: '#16181c', body: '#262a31', text: '#e3e6ea', onHeader: '#ffffff', label: '#9aa1ab',
    edge: '#646c78', accent: '#ffa94d',
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
uniform float u_px;        // world units per device pixel
out vec4 outColor;
float roundedBox(vec2 p, vec2 halfSize, float r) {
  vec2 q = abs(p) - halfSize + r;
  return length(max(q, 0.0)) + min(max(q.x, q.y), 0.0) - r;
}
void main() {
  vec2 halfSize = v_size * 0.5;
  float radius = v_kind == ${KIND_OP} ? 4.0 : min(halfSize.y, 12.0);
  float d = roundedBox(v_local - halfSize, halfSize, radius);
  float coverage = clamp(0.5 - d / u_px, 0.0, 1.0);
  if (coverage <= 0.0) discard;
  vec3 cat = u_cat[v_cat];
  bool ghost = v_kind == ${KIND_GHOST};
  vec3 fill = (!ghost && v_local.y < v_header) ? cat : u_body;
  vec3 border = ghost ? cat : mix(cat, vec3(0.0), 0.22);
  float bw = max(0.7, u_px);
  if (v_state > 2.5) { border = u_accent; bw = max(2.2, 2.5 * u_px); }
  else if (v_state > 1.5) { border = u_accent; bw = max(1.3, 1.5 * u_px); }
  vec3 c = mix(fill, border, smoothstep(-bw - 0.5 * u_px, -bw + 0.5 * u_px, d));
  if (v_state > 0.5 && v_state < 1.5) c = mix(c, u_bg, 0.75);
  outColor = vec4(c * coverage, coverage);
}`;

const EDGE_VS = `${COMMON}
in vec2 a_pos; in vec2 a_normal; in float a_id; in float a_side;
uniform float u_halfWidth;   // world units
out float v_across; flat out float v_hw; flat out float v_state; flat out float v_arrow;
void main() {
  v_state = stateOf(a_id);
  float scale = u_cam.z * u_dpr;                       // device px per world unit
  float hw = max(u_halfWidth * (v_state > 1.5 ? 1.9 : 1.0) * scale, 0.5 * u_dpr);
  v_hw = hw; v_arrow = a_side == 0.0 ? 1.0 : 0.0;
  v_across = a_side * (hw + 1.0);
  gl_Position = toClip(a_pos + a_normal * (hw + 1.0) / scale);
}`;

const EDGE_FS = `#version 300 es
precision highp float;
in float v_across; flat in float v_hw; flat in float v_state; flat in float v_arrow;
uniform vec3 u_edge; uniform vec3 u_bg; uniform vec3 u_accent;
out vec4 outColor;
void main() {
  float a = v_arrow > 0.5 ? 1.0 : clamp(v_hw + 0.5 - abs(v_across), 0.0, 1.0);
  vec3 c = v_state > 1.5 ? u_accent : u_edge;
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

export class Renderer {
  constructor(canvas, onView = () => {}) {
    this.canvas = canvas;
    this.onView = onView;
    const gl = canvas.getContext('webgl2', { antialias: true, alpha: false, premultipliedAlpha: true });
    if (!gl) throw new Error('WebGL2 is not available in this browser');
    this.gl = gl;
    this.programs = {
      node: program(gl, NODE_VS, NODE_FS), edge: program(gl, EDGE_VS, EDGE_FS), text: program(gl, TEXT_VS, TEXT_FS),
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
    this.colors = {
      bg: rgb(p.background), body: rgb(p.body), text: rgb(p.text), onHeader: rgb(p.onHeader),
      label: rgb(p.label), edge: rgb(p.edge), accent: rgb(p.accent),
      cat: CATEGORIES.flatMap((c) => rgb(p.categories[c])),
    };
    this.requestDraw();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, this.canvas.clientWidth), h = Math.max(1, this.canvas.clientHeight);
    this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(h * dpr);
    this.size = { w, h, dpr };
    if (this.fitted && this.scene) this.fit(false);   // still as fitted: keep it fitted
    this.requestDraw();
  }

  // Takes ownership of the scene's arrays; the previous scene is released.
  setScene(scene) {
    const gl = this.gl;
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
    // The UI thread keeps what picking and navigation need; vertex arrays are dropped.
    for (const mesh of Object.values(scene.meshes)) { mesh.vertices = null; mesh.indices = null; }
    scene.atlas.data = null;
    this.fit(false);
  }

  releaseScene() {
    if (!this.gpu) return;
    const gl = this.gl;
    for (const b of this.gpu.buffers) gl.deleteBuffer(b);
    for (const k of ['nodes', 'edges', 'text']) gl.deleteVertexArray(this.gpu[k].vao);
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
    this.onView();
  }

  fitCamera() {
    const [x0, y0, x1, y1] = this.scene ? this.scene.bounds : [0, 0, 1, 1];
    const { w, h } = this.size, margin = 32, bottom = 56;   // the legend sits at the bottom
    const z = Math.min(1.5, Math.max(1e-4, Math.min((w - 2 * margin) / Math.max(1, x1 - x0), (h - margin - bottom) / Math.max(1, y1 - y0))));
    return { x: (x0 + x1) / 2 - w / 2 / z, y: (y0 + y1) / 2 - (h - bottom + margin) / 2 / z, z };
  }

  fit(animate = true) { this.animateTo(this.fitCamera(), animate ? 220 : 0); this.fitted = true; }

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

  // Bring world point (x, y) to the centre, zooming in to at least minZoom.
  centerOn(x, y, animate = true, minZoom = 0) {
    this.fitted = false;
    const { w, h } = this.size, z = Math.max(this.cam.z, minZoom);
    this.animateTo({ x: x - w / 2 / z, y: y - h / 2 / z, z }, animate ? 260 : 0);
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

    common(edge);
    u3(edge, 'u_edge', c.edge); u3(edge, 'u_bg', c.bg); u3(edge, 'u_accent', c.accent);
    gl.uniform1f(loc(edge, 'u_halfWidth'), 0.55);
    this.drawElements(this.gpu.edges);

    common(node);
    u3(node, 'u_cat', c.cat); u3(node, 'u_body', c.body); u3(node, 'u_bg', c.bg); u3(node, 'u_accent', c.accent);
    gl.uniform1f(loc(node, 'u_px'), 1 / (this.cam.z * dpr));
    this.drawElements(this.gpu.nodes);

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
    if (!part.count) return;
    const gl = this.gl, { tiles, ranges } = part;
    const margin = 16 / this.cam.z;   // lines widen to a pixel or more when zoomed out
    const x0 = this.cam.x - margin, y0 = this.cam.y - margin;
    const x1 = this.cam.x + this.size.w / this.cam.z + margin, y1 = this.cam.y + this.size.h / this.cam.z + margin;
    gl.bindVertexArray(part.vao);
    let start = -1, end = -1;
    for (let t = 0; t < ranges.length / 2; t++) {
      if (tiles[4 * t] > x1 || tiles[4 * t + 2] < x0 || tiles[4 * t + 1] > y1 || tiles[4 * t + 3] < y0) continue;
      const a = ranges[2 * t], n = ranges[2 * t + 1];
      if (a === end) { end += n; continue; }
      if (end > start) gl.drawElements(gl.TRIANGLES, end - start, gl.UNSIGNED_INT, start * 4);
      start = a; end = a + n;
    }
    if (end > start) gl.drawElements(gl.TRIANGLES, end - start, gl.UNSIGNED_INT, start * 4);
  }
}

// What the vertex buffers actually hold: box quads by kind, and one arrowhead per edge.
function countDrawn(scene) {
  const out = { nodes: 0, inputs: 0, outputs: 0, ghosts: 0, edges: 0 };
  const nv = scene.meshes.nodes.vertices;
  for (let q = 0; q < nv.length; q += 4 * NODE_STRIDE) {
    const kind = nv[q + 9];
    if (kind === KIND_OP) out.nodes++;
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
