// The JupyterLab front end that `npm start` serves when JupyterLab itself is not installed: the
// application shell plus JupyterLab's own extension packages from npm, and our Plotly renderer.
// Bundled by lab/bundle.cjs; lab/server.py serves it through Debian's jupyterlab_server.
import { PageConfig } from "@jupyterlab/coreutils";

// Chunks, fonts and images load from the server's static URL for this app (set before any import()).
// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption("fullStaticUrl") + "/";

// Every plugin of these packages, except the ones this build cannot serve or does not want:
// language-server plugins ask for /lsp/status (not in jupyterlab_server) and the news announcements
// ask the internet. Users can disable more through page_config.json's "disabledExtensions".
const unwanted = [":language-server", "@jupyterlab/apputils-extension:announcements"];
const keep = (plugin) =>
  !unwanted.some((u) => plugin.id.includes(u)) && !PageConfig.Extension.isDisabled(plugin.id);
const plugins = (mod) => {
  const exported = mod.default ?? mod;
  return (Array.isArray(exported) ? exported : [exported]).filter(keep);
};

async function main() {
  await import("simvlm-lab-style"); // the packages' CSS, collected by the build (Build.ensureAssets)
  const { JupyterLab } = await import("@jupyterlab/application");
  const extensions = await Promise.all([
    import("@jupyterlab/application-extension"),
    import("@jupyterlab/apputils-extension"),
    import("@jupyterlab/celltags-extension"),
    import("@jupyterlab/codemirror-extension"),
    import("@jupyterlab/completer-extension"),
    import("@jupyterlab/console-extension"),
    import("@jupyterlab/csvviewer-extension"),
    import("@jupyterlab/docmanager-extension"),
    import("@jupyterlab/documentsearch-extension"),
    import("@jupyterlab/filebrowser-extension"),
    import("@jupyterlab/fileeditor-extension"),
    import("@jupyterlab/help-extension"),
    import("@jupyterlab/imageviewer-extension"),
    import("@jupyterlab/inspector-extension"),
    import("@jupyterlab/launcher-extension"),
    import("@jupyterlab/mainmenu-extension"),
    import("@jupyterlab/markdownviewer-extension"),
    import("@jupyterlab/markedparser-extension"),
    import("@jupyterlab/mathjax-extension"),
    import("@jupyterlab/metadataform-extension"),
    import("@jupyterlab/notebook-extension"),
    import("@jupyterlab/rendermime-extension"),
    import("@jupyterlab/running-extension"),
    import("@jupyterlab/settingeditor-extension"),
    import("@jupyterlab/shortcuts-extension"),
    import("@jupyterlab/statusbar-extension"),
    import("@jupyterlab/theme-dark-extension"),
    import("@jupyterlab/theme-dark-high-contrast-extension"),
    import("@jupyterlab/theme-light-extension"),
    import("@jupyterlab/toc-extension"),
    import("@jupyterlab/tooltip-extension"),
    import("@jupyterlab/translation-extension"),
    import("@jupyterlab/ui-components-extension"),
  ]);
  const mimeExtensions = await Promise.all([
    import("@jupyterlab/javascript-extension"),
    import("@jupyterlab/json-extension"),
    import("./plotly-renderer.js"),
  ]);
  const lab = new JupyterLab({ mimeExtensions: mimeExtensions.flatMap(plugins) });
  lab.registerPlugins(extensions.flatMap(plugins));
  await lab.start();
  await lab.restored;
  // Tests and scripts wait for this instead of guessing from the DOM.
  document.body.dataset.simvlmLab = "ready";
  window.simvlmLab = lab;
}

window.addEventListener("load", () => {
  main().catch((e) => {
    console.error("JupyterLab failed to start", e);
    document.body.textContent = `JupyterLab failed to start: ${e?.message ?? e}`;
  });
});
