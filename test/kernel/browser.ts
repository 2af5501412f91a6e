/** Headless Chromium for the kernel's browser tests (Debian's /usr/bin/chromium via playwright-core). */
import { chromium, type Browser } from "playwright-core";

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}
