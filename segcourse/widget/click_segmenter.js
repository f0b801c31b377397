// ClickSegmenter front end (anywidget ESM, no build step). Python owns the clicks and runs the
// model; this file draws the image, the mask and the clicks, and sends each click to the kernel.
// Left click = positive, right click (browser menu suppressed) or the toggle = negative.
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "segcourse-clicker";
  const bar = document.createElement("div");
  bar.className = "segcourse-toolbar";
  const canvas = document.createElement("canvas");
  canvas.className = "segcourse-click-canvas";
  canvas.tabIndex = 0;
  canvas.dataset.lmSuppressShortcuts = "true";  // keys on the canvas are ours, not JupyterLab's notebook shortcuts
  const readout = document.createElement("div");
  readout.className = "segcourse-click-readout";
  const error = document.createElement("div");
  error.className = "segcourse-click-error";
  const legend = document.createElement("div");
  legend.className = "segcourse-legend";
  const row = document.createElement("div");
  row.className = "segcourse-click-row";
  row.append(canvas, legend);
  root.append(bar, row, readout, error);
  el.appendChild(root);

  const button = (label, cls, onClick, title) => {
    const b = document.createElement("button");
    b.textContent = label; b.className = "segcourse-btn " + cls; b.title = title || label;
    b.addEventListener("click", onClick); bar.appendChild(b); return b;
  };
  const toggle = button("next left click: positive", "segcourse-negative-toggle",
                        () => { model.set("negative_mode", !model.get("negative_mode")); model.save_changes(); },
                        "switch what a left click means (a right click is always negative)");
  // until the kernel has answered (predict can take a moment) the canvas shows a busy cursor
  const send = (msg) => { root.classList.add("segcourse-busy"); model.send(msg); };
  model.on("change:handled", () => root.classList.remove("segcourse-busy"));
  button("undo", "segcourse-undo", () => send({ type: "undo" }), "remove the last click (Ctrl+Z)");
  button("clear", "segcourse-reset", () => send({ type: "reset" }), "remove every click");

  // the background image, decoded once
  const img = new Image();
  img.onload = () => draw();
  const loadImage = () => { img.src = model.get("image_url"); };

  const bits = (name) => {
    const s = model.get(name);
    if (!s) return null;
    const raw = atob(s), out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  };
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  // the edges between pixels inside and outside a mask, as one path (scaled); edges that continue
  // along the same line are joined into one segment, so a dashed outline stays dashed
  const outline = (ctx, m, rows, cols, px) => {
    const at = (r, c) => (r < 0 || c < 0 || r >= rows || c >= cols) ? 0 : m[r * cols + c];
    ctx.beginPath();
    for (let r = 0; r <= rows; r++) {          // horizontal edges on top of row r
      let start = -1;
      for (let c = 0; c <= cols; c++) {
        const edge = c < cols && at(r - 1, c) !== at(r, c);
        if (edge && start < 0) start = c;
        if (!edge && start >= 0) { ctx.moveTo(start * px, r * px); ctx.lineTo(c * px, r * px); start = -1; }
      }
    }
    for (let c = 0; c <= cols; c++) {          // vertical edges left of column c
      let start = -1;
      for (let r = 0; r <= rows; r++) {
        const edge = r < rows && at(r, c - 1) !== at(r, c);
        if (edge && start < 0) start = r;
        if (!edge && start >= 0) { ctx.moveTo(c * px, start * px); ctx.lineTo(c * px, r * px); start = -1; }
      }
    }
    ctx.stroke();
  };

  // a click's marker, as lesson 06's figures draw it (matplotlib's "P" and "X"): a filled plus
  // (positive) or a filled cross (negative) of half-size r, in the click's colour, with a black edge
  const PLUS = [[-1, -3], [1, -3], [1, -1], [3, -1], [3, 1], [1, 1], [1, 3], [-1, 3], [-1, 1], [-3, 1], [-3, -1], [-1, -1]];
  const marker = (ctx, x, y, r, positive, colour) => {
    const turn = positive ? 0 : Math.PI / 4, cos = Math.cos(turn), sin = Math.sin(turn);
    ctx.beginPath();
    PLUS.forEach(([u, v], i) => {
      const px = x + (u * cos - v * sin) * r / 3, py = y + (u * sin + v * cos) * r / 3;
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.closePath();
    ctx.fillStyle = colour; ctx.fill();
    ctx.strokeStyle = "#000000"; ctx.lineWidth = 1; ctx.stroke();
  };

  const swatch = (kind, shape) => {
    const item = document.createElement("div");
    item.className = `segcourse-legend-item segcourse-legend-${kind}`;
    const mark = document.createElement("span");
    mark.className = `segcourse-swatch segcourse-swatch-${shape}`;
    const colour = model.get("colours")[kind];
    if (shape === "fill") { mark.style.background = colour + "99"; mark.style.borderColor = colour; }
    else if (shape === "line") { mark.style.background = colour; }
    else {  // the click's own marker, drawn as on the canvas
      const c = document.createElement("canvas");
      c.width = 16; c.height = 16;
      marker(c.getContext("2d"), 8, 8, 7, kind === "positive", colour);
      mark.appendChild(c);
    }
    const text = document.createElement("span");
    text.textContent = model.get("labels")[kind];
    item.append(mark, text);
    legend.appendChild(item);
  };
  const buildLegend = () => {
    legend.replaceChildren();
    swatch("mask", "fill"); swatch("positive", "marker"); swatch("negative", "marker");
    if (model.get("target_bits")) swatch("target", "line");
  };

  const draw = () => {
    const rows = model.get("rows"), cols = model.get("cols"), px = model.get("scale");
    const colours = model.get("colours");
    canvas.width = cols * px; canvas.height = rows * px;
    canvas.style.width = `${cols * px}px`; canvas.style.height = `${rows * px}px`;
    canvas.dataset.rows = rows; canvas.dataset.cols = cols;
    const points = model.get("points");
    canvas.dataset.clicks = points.length;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = "#1e1e1e"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (img.complete && img.naturalWidth) ctx.drawImage(img, 0, 0, cols * px, rows * px);
    const m = bits("mask_bits");
    let area = 0;
    if (m) {
      const fill = new ImageData(cols, rows), [R, G, B] = rgb(colours.mask);
      for (let i = 0; i < m.length; i++) if (m[i]) {
        area += 1;
        fill.data[4 * i] = R; fill.data[4 * i + 1] = G; fill.data[4 * i + 2] = B; fill.data[4 * i + 3] = 115;
      }
      const off = document.createElement("canvas");
      off.width = cols; off.height = rows;
      off.getContext("2d").putImageData(fill, 0, 0);
      ctx.drawImage(off, 0, 0, cols * px, rows * px);
      ctx.strokeStyle = colours.mask; ctx.lineWidth = Math.max(1.5, Math.min(3, px / 2));
      outline(ctx, m, rows, cols, px);
    }
    canvas.dataset.maskPixels = area;
    const t = bits("target_bits");
    if (t) {  // a solid white line on a dark rim (as lesson 06's figures): visible on light and dark images
      ctx.strokeStyle = "#3c3c3c"; ctx.lineWidth = 3.5; outline(ctx, t, rows, cols, px);
      ctx.strokeStyle = colours.target; ctx.lineWidth = 1.5; outline(ctx, t, rows, cols, px);
    }
    const radius = Math.max(8, Math.min(14, px * 0.8));   // about the size of lesson 06's markers
    for (const [r, c, positive] of points) {
      marker(ctx, (c + 0.5) * px, (r + 0.5) * px, radius, positive, positive ? colours.positive : colours.negative);
    }
    readout.textContent = model.get("readout");
    error.textContent = model.get("error");
    const negative = model.get("negative_mode");
    toggle.textContent = `next left click: ${negative ? "negative" : "positive"}`;
    toggle.classList.toggle("segcourse-active", negative);
  };

  const pixelAt = (ev) => {
    const box = canvas.getBoundingClientRect();
    const r = Math.floor((ev.clientY - box.top) / box.height * model.get("rows"));
    const c = Math.floor((ev.clientX - box.left) / box.width * model.get("cols"));
    return (r >= 0 && c >= 0 && r < model.get("rows") && c < model.get("cols")) ? [r, c] : null;
  };
  canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 && ev.button !== 2) return;
    const p = pixelAt(ev);
    if (!p) return;
    ev.preventDefault();
    canvas.focus();
    const positive = ev.button === 0 && !model.get("negative_mode");
    send({ type: "click", row: p[0], col: p[1], positive });
  });
  // a right click is a negative click, not the browser's (or JupyterLab's) context menu
  canvas.addEventListener("contextmenu", (ev) => { ev.preventDefault(); ev.stopPropagation(); });
  canvas.addEventListener("keydown", (ev) => {
    if (ev.key === "z" && (ev.ctrlKey || ev.metaKey)) { send({ type: "undo" }); }
    else if (ev.key === "n") { model.set("negative_mode", !model.get("negative_mode")); model.save_changes(); }
    else return;
    ev.preventDefault(); ev.stopPropagation();
  });
  model.on("change:image_url", loadImage);
  model.on("change:target_bits", buildLegend);
  for (const name of ["mask_bits", "points", "readout", "error", "negative_mode", "rows", "cols", "scale", "target_bits"]) {
    model.on(`change:${name}`, draw);
  }
  buildLegend();
  loadImage();
  draw();
}
export default { render };
