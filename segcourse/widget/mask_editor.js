// MaskEditor front end (anywidget ESM, no build step). Python owns the mask; this file draws it,
// turns pointer strokes into paint messages, and shows the readout Python computes.
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "segcourse-editor";
  const bar = document.createElement("div");
  bar.className = "segcourse-toolbar";
  const paint = document.createElement("canvas");
  paint.className = "segcourse-paint";
  paint.tabIndex = 0;
  const readout = document.createElement("div");
  readout.className = "segcourse-readout";
  root.append(bar, paint, readout);
  el.appendChild(root);

  const button = (label, cls, onClick, title) => {
    const b = document.createElement("button");
    b.textContent = label; b.className = "segcourse-btn " + cls; b.title = title || label;
    b.addEventListener("click", onClick); bar.appendChild(b); return b;
  };
  const classButtons = [];
  const buildClasses = () => {
    const names = model.get("class_names"), colours = model.get("palette");
    names.forEach((name, k) => {
      const b = button(`${k} ${name}`, `segcourse-class segcourse-class-${k}`, () => { model.set("selected", k); model.save_changes(); },
                       `paint ${name} (key ${k})`);
      b.style.borderLeft = `14px solid ${colours[k]}`;
      classButtons.push(b);
    });
  };
  buildClasses();
  const brush = button("brush 1", "segcourse-brush", () => { model.set("brush", model.get("brush") === 1 ? 3 : 1); model.save_changes(); });
  button("undo", "segcourse-undo", () => model.send({ type: "undo" }));
  button("redo", "segcourse-redo", () => model.send({ type: "redo" }));
  button("reset", "segcourse-reset", () => model.send({ type: "reset" }));
  const toggle = button("show target", "segcourse-toggle", () => { model.set("show_target", !model.get("show_target")); model.save_changes(); });

  // optional image under the mask (image_url, a PNG data URL): painted classes are drawn see-through over it
  const picture = new Image();
  let pictureUrl = "";
  const loadPicture = () => {
    const url = model.get("image_url");
    if (url && url !== pictureUrl) { pictureUrl = url; picture.onload = () => draw(); picture.src = url; }
    if (!url) pictureUrl = "";
  };
  const cellPx = () => Math.max(12, Math.min(40, Math.floor(480 / Math.max(model.get("rows"), model.get("cols")))));
  const draw = () => {
    const rows = model.get("rows"), cols = model.get("cols"), cells = model.get("cells");
    const colours = model.get("palette"), px = cellPx();
    paint.width = cols * px; paint.height = rows * px;
    paint.style.width = `${cols * px}px`; paint.style.height = `${rows * px}px`;
    paint.dataset.rows = rows; paint.dataset.cols = cols;
    const ctx = paint.getContext("2d");
    const withImage = pictureUrl !== "" && picture.complete && picture.naturalWidth > 0;
    paint.dataset.image = withImage ? "1" : "0";
    if (withImage) { ctx.imageSmoothingEnabled = false; ctx.drawImage(picture, 0, 0, cols * px, rows * px); }
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      const k = cells[r * cols + c];
      if (withImage && k === 0) continue;            // background leaves the image visible
      ctx.fillStyle = colours[k] || "#000";
      ctx.globalAlpha = withImage ? 0.5 : 1;
      ctx.fillRect(c * px, r * px, px, px);
    }
    ctx.globalAlpha = 1;
    const errors = model.get("errors"), errorColours = model.get("error_colours");
    if (model.get("show_target") && errors.length) {
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
        const e = errors[r * cols + c];
        if (e > 0) { ctx.fillStyle = errorColours[e]; ctx.globalAlpha = 0.55; ctx.fillRect(c * px, r * px, px, px); ctx.globalAlpha = 1; }
      }
      const target = model.get("target");
      ctx.beginPath();
      const t = (r, c) => (r < 0 || c < 0 || r >= rows || c >= cols) ? -1 : target[r * cols + c];
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
        const v = t(r, c);
        if (v <= 0) continue;
        if (t(r - 1, c) !== v) { ctx.moveTo(c * px, r * px); ctx.lineTo((c + 1) * px, r * px); }
        if (t(r + 1, c) !== v) { ctx.moveTo(c * px, (r + 1) * px); ctx.lineTo((c + 1) * px, (r + 1) * px); }
        if (t(r, c - 1) !== v) { ctx.moveTo(c * px, r * px); ctx.lineTo(c * px, (r + 1) * px); }
        if (t(r, c + 1) !== v) { ctx.moveTo((c + 1) * px, r * px); ctx.lineTo((c + 1) * px, (r + 1) * px); }
      }
      ctx.strokeStyle = "#1a1a1a"; ctx.lineWidth = 5; ctx.stroke();   // a dark edge under the white line: seen on any image
      ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 3; ctx.stroke();
    }
    ctx.strokeStyle = "rgba(255,255,255,0.25)"; ctx.lineWidth = 1; ctx.beginPath();
    for (let r = 1; r < rows; r++) { ctx.moveTo(0, r * px); ctx.lineTo(cols * px, r * px); }
    for (let c = 1; c < cols; c++) { ctx.moveTo(c * px, 0); ctx.lineTo(c * px, rows * px); }
    ctx.stroke();
    readout.textContent = model.get("readout");
    classButtons.forEach((b, k) => b.classList.toggle("segcourse-active", k === model.get("selected")));
    brush.textContent = `brush ${model.get("brush")}`;
    toggle.classList.toggle("segcourse-active", model.get("show_target"));
    toggle.disabled = model.get("target").length === 0;
  };

  let stroke = 0, painting = false, last = null;
  const cellAt = (ev) => {
    const box = paint.getBoundingClientRect();
    const r = Math.floor((ev.clientY - box.top) / box.height * model.get("rows"));
    const c = Math.floor((ev.clientX - box.left) / box.width * model.get("cols"));
    return (r >= 0 && c >= 0 && r < model.get("rows") && c < model.get("cols")) ? [r, c] : null;
  };
  const send = (ev) => {
    const cell = cellAt(ev);
    if (!cell || (last && last[0] === cell[0] && last[1] === cell[1])) return;
    last = cell;
    model.send({ type: "paint", row: cell[0], col: cell[1], stroke });
  };
  paint.addEventListener("pointerdown", (ev) => { painting = true; stroke += 1; last = null; paint.setPointerCapture(ev.pointerId); send(ev); });
  paint.addEventListener("pointermove", (ev) => { if (painting) send(ev); });
  const stop = () => { painting = false; last = null; };
  paint.addEventListener("pointerup", stop);
  paint.addEventListener("pointercancel", stop);
  paint.addEventListener("keydown", (ev) => {
    const k = parseInt(ev.key, 10);
    if (!Number.isNaN(k) && k < model.get("class_names").length) { model.set("selected", k); model.save_changes(); }
    if (ev.key === "z" && (ev.ctrlKey || ev.metaKey)) model.send({ type: ev.shiftKey ? "redo" : "undo" });
    if (ev.key === "b") { model.set("brush", model.get("brush") === 1 ? 3 : 1); model.save_changes(); }
  });
  for (const name of ["cells", "readout", "selected", "brush", "show_target", "errors", "rows", "cols"]) model.on(`change:${name}`, draw);
  model.on("change:image_url", () => { loadPicture(); draw(); });
  loadPicture();
  draw();
}
export default { render };
