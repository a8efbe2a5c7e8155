// What the dashboard's browser scripts share: Debian's chromium, headless, through
// playwright-core (nothing downloaded at run time), in a fresh profile directory; and the
// check that stops a script with what went wrong.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The environment variables `names`, in order; exits 2 naming the first one not set.
export function env(...names) {
  return names.map((k) => {
    const v = process.env[k];
    if (!v) {
      console.error(`set ${k}`);
      process.exit(2);
    }
    return v;
  });
}

// Every script error and policy refusal `page` reports from now on (an inline script or
// style, a resource from elsewhere), collected in the array returned.
export function errorsOf(page) {
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

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
