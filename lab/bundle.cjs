// Bundles the JupyterLab front end (index.js) with rspack, as JupyterLab 4.6's own example app does.
// Run by lab/build.mjs from a copy of lab/ inside the cached install (so `require` finds its
// node_modules): node bundle.cjs --mode development|production --out DIR
// Writes DIR/bundle.js and its chunks, DIR/schemas (settings schemas), DIR/themes (theme CSS).
const path = require("node:path");
const { rspack } = require("@rspack/core");
const { Build } = require("@jupyter/builder/lib/build");
const miniSVGDataURI = require("mini-svg-data-uri");

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const mode = arg("--mode", "development");
const out = path.resolve(arg("--out", "build"));
if (!["development", "production"].includes(mode))
  throw new Error(`--mode must be development or production, not ${mode}`);

// Every dependency that is a JupyterLab extension contributes schemas, themes and CSS.
const deps = Object.keys(require("./package.json").dependencies);
const extensions = deps.filter((name) => require(`${name}/package.json`).jupyterlab);
const themes = Build.ensureAssets({ packageNames: extensions, output: out }); // also writes out/style.js

const app = {
  name: "app",
  mode,
  entry: "./index.js",
  output: {
    path: out,
    filename: "bundle.js",
    chunkFilename: mode === "production" ? "[name].[contenthash:8].js" : "[name].js",
  },
  bail: true,
  devtool: false, // source maps double the build folder and nobody debugs JupyterLab itself here
  // The generated style.js sits in the output folder, which may be outside this install: resolve
  // packages from here too.
  resolve: {
    alias: { "simvlm-lab-style$": path.join(out, "style.js") },
    modules: ["node_modules", ...module.paths],
  },
  module: {
    rules: [
      // Some JupyterLab dependencies (@jupyter/web-components) import './x' without an extension.
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      {
        test: /\.css$/,
        exclude: /\.raw\.css$/,
        use: ["style-loader", "css-loader"],
        type: "javascript/auto",
      },
      { test: /\.raw\.css$/, type: "asset/source" },
      { test: /\.(html|md)$/, type: "asset/source" },
      { test: /\.(jpg|png|gif|eot)$/, type: "asset/resource" },
      { test: /\.(woff2?|ttf)$/, type: "asset" },
      // In CSS an SVG becomes a data URI; imported from JS it is the SVG text (JupyterLab's icons).
      {
        test: /\.svg$/,
        issuer: /\.css$/,
        type: "asset/inline",
        generator: {
          dataUrl: { content: (c) => miniSVGDataURI(c.content), mimetype: "image/svg+xml" },
        },
      },
      { test: /\.svg$/, issuer: /\.m?js$/, type: "asset/source" },
    ],
  },
  plugins: [new rspack.DefinePlugin({ process: { cwd: () => "/", env: {} } })], // for the path polyfill
  performance: { hints: false }, // JupyterLab is big; rspack's size warnings say nothing new
  // MathJax's loader reads __dirname only under Node; in the browser it loads nothing by path.
  ignoreWarnings: [/Critical dependency/, { module: /mathjax-full/, message: /__dirname/ }],
};

const started = Date.now();
rspack([app, ...themes], (err, stats) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  for (const w of info.warnings ?? [])
    console.warn(`warning: ${w.moduleName ?? ""} ${w.message ?? w}`);
  if (stats.hasErrors()) {
    for (const e of info.errors ?? []) console.error(e.message ?? e);
    process.exit(1);
  }
  console.log(
    `bundled JupyterLab (${mode}) into ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});
