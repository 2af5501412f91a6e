/**
 * Headless Chromium for the browser tests (Debian's /usr/bin/chromium via playwright-core). The
 * browser and its helper processes carry a SIMVLM_TEST_TREE token (test/proc-guard.mjs), so
 * `close()` — and a failed launch — leave none of them running.
 */
import { chromium, type Browser } from "playwright-core";
import { envWithToken, killTree, newToken } from "../proc-guard.mjs";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  const token = newToken("c");
  const env = Object.fromEntries(
    Object.entries(envWithToken(token)).filter((e): e is [string, string] => e[1] !== undefined),
  );
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      env,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  } catch (e) {
    killTree(token);
    throw e;
  }
  const close = browser.close.bind(browser);
  browser.close = async (options) => {
    try {
      await close(options);
    } finally {
      killTree(token);
    }
  };
  return browser;
}

/**
 * In-page expression: how many Plotly figures are drawn — `.js-plotly-plot` containers holding
 * their SVG. Counting `svg.main-svg` elements instead overcounts (one figure draws two: plot and
 * hover layers), so a wait for "two figures" could end when only the first was drawn. A string, so
 * the page evaluates it as written (no transpiled helpers): `page.waitForFunction(`${PLOTS_DRAWN} >= 2`)`.
 */
export const PLOTS_DRAWN =
  'Array.from(document.querySelectorAll(".js-plotly-plot")).filter((p) => p.querySelector("svg.main-svg")).length';
