// What the dashboard's browser scripts share: Debian's chromium, headless, through
// playwright-core (nothing downloaded at run time), in a fresh profile directory; and the
// check that stops a script with what went wrong.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function check(ok, what) {
  if (!ok) {
    throw new Error(what);
  }
}

// A browser context (`SEAM_CHROMIUM`, default /usr/bin/chromium) and a `close` that also
// removes its profile.
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), "seam-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.SEAM_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    ...options,
  });
  const close = async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { browser, close };
}
