// A Plotly figure's static picture: how it is drawn (plotly.js's Plotly.toImage, 1× PNG at the
// layout's size) and how it goes into the figure's notebook HTML (an <img> inside the figure's div,
// what viewers that run no scripts show: the untrusted classic Notebook, nbconvert's HTML without
// JavaScript, GitHub). One file for every place that does this, so a picture saved from a live
// front end is stored exactly as scripts/notebooks/static-figures.ts stores it after a run:
//   - lib/display/plotly.ts (the kernel's plotlyFigureHtml, and the text of this file inside each
//     figure's script, which stores the picture into the classic Notebook's output);
//   - lab/plotly-renderer.js (JupyterLab; lab/build.mjs copies this file into the bundle);
//   - scripts/notebooks/static-figures.ts (this file loaded into Chromium).
// Plain ES5-level JavaScript in CommonJS form: it runs unchanged in Node, in bundlers and, wrapped,
// inside a notebook's <script>.
"use strict";

/**
 * The picture's size in CSS px when the layout states none: about a notebook output's width, and
 * plotly.js's default height. Scale 1: a figure's PNG is 40–95 KB (measured on the committed
 * notebooks; 2× was 100–235 KB), and a saved figure holds it twice (bundle and HTML).
 */
var DEFAULT_WIDTH = 760;
var DEFAULT_HEIGHT = 450;
var SCALE = 1;

/** Plotly.toImage options for `fig`: PNG, the layout's width and height (else the defaults), 1×. */
function pictureOptions(fig) {
  var layout = (fig && fig.layout) || {};
  return {
    format: "png",
    width: typeof layout.width === "number" ? layout.width : DEFAULT_WIDTH,
    height: typeof layout.height === "number" ? layout.height : DEFAULT_HEIGHT,
    scale: SCALE,
  };
}

/** Draw `fig`'s picture with plotly.js (`Plotly`: window.Plotly or the module); resolves to base64 PNG data. */
function drawPicture(Plotly, fig) {
  var spec = { data: fig.data, layout: fig.layout || {}, config: { staticPlot: true } };
  return Plotly.toImage(spec, pictureOptions(fig)).then(function (url) {
    return String(url).replace(/^data:image\/png;base64,/, "");
  });
}

/** A short text description of a figure (its alt text and default text/plain). */
function figureText(fig) {
  var title = fig.layout && fig.layout.title;
  var t =
    typeof title === "string"
      ? title
      : typeof title === "object" && title && "text" in title
        ? String(title.text)
        : "";
  var kinds = [];
  fig.data.forEach(function (d) {
    var k = String(d.type == null ? "scatter" : d.type);
    if (kinds.indexOf(k) < 0) kinds.push(k);
  });
  var n = fig.data.length;
  return (
    "Plotly figure" +
    (t ? ' "' + t + '"' : "") +
    ": " +
    n +
    " trace" +
    (n === 1 ? "" : "s") +
    " (" +
    kinds.join(", ") +
    ")"
  );
}

// The same escaping as lib/display/html.ts (`'` as &#39;), so the HTML is byte-for-byte the kernel's.
var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return ENTITIES[c];
  });
}

/** `image` (a data: URI, or base64 PNG data) as a data: URI. */
function pictureSrc(image) {
  return image.indexOf("data:") === 0 ? image : "data:image/png;base64," + image;
}

/** The <img> a figure's div holds: `src` a data: URI; `alt` the figure's text. */
function pictureImg(src, alt) {
  return (
    '<img src="' +
    escapeHtml(src) +
    '" alt="' +
    escapeHtml(alt) +
    '" style="max-width:100%;height:auto">'
  );
}

// The figure div as plotlyFigureHtml writes it without a picture: empty, holding the figure's height.
var EMPTY_DIV =
  /(<div id="[^"]*" class="simvlm-plotly" style=")width:100%;min-height:[\d.]+px(">)(<\/div>)/;

/** Whether `html` is a figure fragment of ours (lib/display/plotly.ts) whose div has no picture yet. */
function needsPicture(html) {
  return typeof html === "string" && EMPTY_DIV.test(html);
}

/**
 * The figure fragment `html` with `image` as its static picture: the div takes the picture's height
 * (the script sets the figure's when it draws) and holds the <img>. `html` unchanged when it is not
 * a fragment of ours without a picture.
 */
function withPicture(html, image, alt) {
  if (!needsPicture(html)) return html;
  return html.replace(EMPTY_DIV, function (_, open, close, end) {
    return open + "width:100%" + close + pictureImg(pictureSrc(image), alt) + end;
  });
}

module.exports = {
  DEFAULT_WIDTH: DEFAULT_WIDTH,
  DEFAULT_HEIGHT: DEFAULT_HEIGHT,
  SCALE: SCALE,
  pictureOptions: pictureOptions,
  drawPicture: drawPicture,
  figureText: figureText,
  needsPicture: needsPicture,
  withPicture: withPicture,
};
