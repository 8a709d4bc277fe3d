// Glyph atlas: each glyph drawn once with canvas 2D at a large size, turned into a
// signed-distance field (Felzenszwalb & Huttenlocher's exact Euclidean distance
// transform), packed into one single-channel texture. Text then stays crisp at any
// zoom with one texture and plain quads. Runs in the layout worker (OffscreenCanvas).

// The site's own font first (app/fonts/, subset DejaVu Sans: see tools/subset_font.py),
// so the graph and its SVG/PNG export (app/export.js, which embeds the same files) look
// alike on every machine; characters outside the subset fall back to the system fonts.
export const WEB_FONT = 'Wetron DejaVu Sans';
export const FONT_FAMILY = `"${WEB_FONT}", system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif`;
// weight -> file; 'bold' (700) also serves the 600 titles are drawn at (CSS font matching)
export const FONT_FILES = {
  normal: new URL('./fonts/DejaVuSans-Regular.woff2', import.meta.url).href,
  bold: new URL('./fonts/DejaVuSans-Bold.woff2', import.meta.url).href,
};
let fontsLoaded = null;
// Load the font faces into this realm (window or worker: each has its own FontFaceSet)
// before any glyph is measured or rasterised, else the first scene would be drawn in a
// fallback font. Resolves either way: without the files the system fonts are used.
export function loadFonts() {
  fontsLoaded ||= Promise.all(Object.entries(FONT_FILES).map(async ([weight, url]) => {
    try {
      const face = new FontFace(WEB_FONT, `url(${JSON.stringify(url)})`, { weight });
      (self.document ? self.document.fonts : self.fonts).add(face);
      await face.load();
    } catch (error) {
      console.warn(`font ${url} not loaded; using system fonts`, error);
    }
  }));
  return fontsLoaded;
}
export const REGULAR = 0, BOLD = 1;
const RENDER_SIZE = 32;     // px glyphs are rasterised at
const BUFFER = 5;           // px of distance field around each glyph
const RADIUS = 8;           // px the distance field spans
const CUTOFF = 0.25;        // edge at 1 - CUTOFF of the range: the shader's threshold
export const SDF_EDGE = 1 - CUTOFF;
const ATLAS_WIDTH = 1024;
const MAX_GLYPHS = 4000;    // characters past this many distinct ones are drawn as '?'
const INF = 1e20;

// Glyphs measured and rasterised once per realm (the layout worker lives as long as the
// page): each scene's atlas only packs them, so a new scene rasterises just the glyphs
// never seen before (the first layout of a small model spent most of its time here).
// Per weight: character -> {advance, empty, x, y, w, h, sdf: Uint8Array of w*h or null}.
const GLYPHS = [new Map(), new Map()];
const MAX_CACHED = 20000;   // distinct glyphs kept; past it new ones are rasterised per scene
let measureCtx = null, rasterCtx = null, rasterSize = 0, distanceField = null;

function cachedGlyph(ch, weight, makeCanvas) {
  const cached = GLYPHS[weight].get(ch);
  if (cached) return cached;
  measureCtx ||= makeCanvas(RENDER_SIZE * 3, RENDER_SIZE * 3).getContext('2d', { willReadFrequently: true });
  measureCtx.font = glyphFont(weight);
  const m = measureCtx.measureText(ch);
  const left = Math.ceil(m.actualBoundingBoxLeft || 0), right = Math.ceil(m.actualBoundingBoxRight || 0);
  const ascent = Math.ceil(m.actualBoundingBoxAscent || 0), descent = Math.ceil(m.actualBoundingBoxDescent || 0);
  const g = {
    advance: m.width, empty: left + right <= 0 || ascent + descent <= 0,
    // quad relative to the pen on the baseline, in render px (y down)
    x: -left - BUFFER, y: -ascent - BUFFER, w: left + right + 2 * BUFFER, h: ascent + descent + 2 * BUFFER,
    sdf: null,
  };
  if (GLYPHS[0].size + GLYPHS[1].size < MAX_CACHED) GLYPHS[weight].set(ch, g);
  return g;
}

// The glyph's distance field (w*h bytes), rasterised on first use.
function glyphField(g, ch, weight, makeCanvas) {
  if (g.sdf) return g.sdf;
  const size = Math.max(g.w, g.h);
  if (size > rasterSize) {
    rasterSize = Math.max(size, RENDER_SIZE * 3);
    rasterCtx = makeCanvas(rasterSize, rasterSize).getContext('2d', { willReadFrequently: true });
    rasterCtx.textBaseline = 'alphabetic';
    distanceField = new DistanceField(rasterSize);
  }
  rasterCtx.clearRect(0, 0, g.w, g.h);
  rasterCtx.fillStyle = 'black';
  rasterCtx.font = glyphFont(weight);
  rasterCtx.fillText(ch, -g.x, -g.y);
  const sdf = new Uint8Array(g.w * g.h);
  distanceField.compute(rasterCtx.getImageData(0, 0, g.w, g.h).data, g.w, g.h, sdf, g.w, 0, 0);
  g.sdf = sdf;
  return sdf;
}

const glyphFont = (weight) => `${weight === BOLD ? '600 ' : ''}${RENDER_SIZE}px ${FONT_FAMILY}`;

// Measures and rasterises the printable ASCII characters in both weights ahead of the
// first scene (the layout worker's warm-up), so it only packs them.
export function prepareGlyphs(makeCanvas) {
  for (const weight of [REGULAR, BOLD]) {
    for (let c = 32; c < 127; c++) {
      const ch = String.fromCharCode(c), g = cachedGlyph(ch, weight, makeCanvas);
      if (!g.empty) glyphField(g, ch, weight, makeCanvas);
    }
  }
}

// One scene's glyphs, packed into one texture by build().
export class GlyphAtlas {
  constructor(makeCanvas) {
    this.makeCanvas = makeCanvas;   // (w, h) => OffscreenCanvas or HTMLCanvasElement
    this.glyphs = [new Map(), new Map()];   // per weight: code point -> this atlas's glyph
    this.count = 0;
  }

  // Width of `text` in world units at font `size`.
  measure(text, weight, size) {
    let w = 0;
    for (const ch of text) w += this.glyph(ch, weight).advance;
    return w * size / RENDER_SIZE;
  }

  glyph(ch, weight) {
    const map = this.glyphs[weight];
    let g = map.get(ch);
    if (g) return g;
    if (this.count >= MAX_GLYPHS) return this.glyph('?', weight);
    const shape = cachedGlyph(ch, weight, this.makeCanvas);
    g = { advance: shape.advance, empty: shape.empty, x: shape.x, y: shape.y, w: shape.w, h: shape.h, u: 0, v: 0, ch, weight, shape };
    map.set(ch, g);
    this.count++;
    return g;
  }

  // Pack every glyph asked for so far into the atlas; returns {width, height, data}.
  build() {
    const all = [];
    for (const map of this.glyphs) for (const g of map.values()) if (!g.empty) all.push(g);
    all.sort((a, b) => b.h - a.h);
    let x = 0, y = 0, rowH = 0;
    for (const g of all) {    // shelf packing
      if (x + g.w > ATLAS_WIDTH) { x = 0; y += rowH + 1; rowH = 0; }
      g.u = x; g.v = y;
      x += g.w + 1; rowH = Math.max(rowH, g.h);
    }
    const width = ATLAS_WIDTH, height = Math.max(1, y + rowH);
    const data = new Uint8Array(width * height);
    for (const g of all) {
      const sdf = glyphField(g.shape, g.ch, g.weight, this.makeCanvas);
      for (let row = 0; row < g.h; row++) data.set(sdf.subarray(row * g.w, (row + 1) * g.w), (g.v + row) * width + g.u);
    }
    this.width = width; this.height = height;
    return { width, height, data };
  }

  // Glyph quads of `text`, pen starting at (x, baseline) in world units, font `size`:
  // calls quad(x0, y0, x1, y1, u0, v0, u1, v1) with texture coordinates in atlas pixels.
  layout(text, weight, size, x, baseline, quad) {
    const k = size / RENDER_SIZE;
    for (const ch of text) {
      const g = this.glyph(ch, weight);
      if (!g.empty) {
        const x0 = x + g.x * k, y0 = baseline + g.y * k;
        quad(x0, y0, x0 + g.w * k, y0 + g.h * k, g.u, g.v, g.u + g.w, g.v + g.h);
      }
      x += g.advance * k;
    }
  }
}

// Distance field of one glyph's alpha, written into the atlas at (ox, oy).
class DistanceField {
  constructor(size) {
    const n = size * size;
    this.outer = new Float64Array(n); this.inner = new Float64Array(n);
    this.f = new Float64Array(size); this.z = new Float64Array(size + 1); this.v = new Uint16Array(size);
  }

  compute(rgba, w, h, atlas, atlasWidth, ox, oy) {
    const { outer, inner } = this;
    for (let i = 0; i < w * h; i++) {
      const a = rgba[i * 4 + 3] / 255;
      if (a === 0) { outer[i] = INF; inner[i] = 0; }
      else if (a === 1) { outer[i] = 0; inner[i] = INF; }
      else {   // anti-aliased edge pixel: the edge lies inside it
        const d = 0.5 - a;
        outer[i] = d > 0 ? d * d : 0; inner[i] = d < 0 ? d * d : 0;
      }
    }
    this.transform(outer, w, h);
    this.transform(inner, w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const d = Math.sqrt(outer[i]) - Math.sqrt(inner[i]);
        const value = Math.round(255 - 255 * (d / RADIUS + CUTOFF));
        atlas[(oy + y) * atlasWidth + ox + x] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }

  transform(grid, w, h) {
    for (let x = 0; x < w; x++) this.line(grid, x, w, h);
    for (let y = 0; y < h; y++) this.line(grid, y * w, 1, w);
  }

  // 1-D squared distance transform (lower envelope of parabolas), in place.
  line(grid, offset, stride, length) {
    const { f, z, v } = this;
    v[0] = 0; z[0] = -INF; z[1] = INF; f[0] = grid[offset];
    for (let q = 1, k = 0; q < length; q++) {
      f[q] = grid[offset + q * stride];
      const q2 = q * q;
      let s;
      do {
        const r = v[k];
        s = (f[q] - f[r] + q2 - r * r) / (q - r) / 2;
      } while (s <= z[k] && --k > -1);
      k++;
      v[k] = q; z[k] = s; z[k + 1] = INF;
    }
    for (let q = 0, k = 0; q < length; q++) {
      while (z[k + 1] < q) k++;
      const r = v[k], d = q - r;
      grid[offset + q * stride] = f[r] + d * d;
    }
  }
}
