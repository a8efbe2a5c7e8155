// The dashboard's screenshots for the docs (docs/screenshots/, shown in the README): signs in
// with SEAM_UI_TOKEN at SEAM_UI_URL (a `seam demo` serving, see scripts/screenshots) and saves
// the top of each main page, 1280x900, in SEAM_UI_SHOTS. Prints each file written.
import { join } from "node:path";
import { launch } from "./browser.mjs";

const base = process.env.SEAM_UI_URL;
const token = process.env.SEAM_UI_TOKEN;
const shots = process.env.SEAM_UI_SHOTS;
if (!base || !token || !shots) {
  console.error("set SEAM_UI_URL, SEAM_UI_TOKEN and SEAM_UI_SHOTS");
  process.exit(2);
}

const { browser, close } = await launch({ viewport: { width: 1280, height: 900 } });
try {
  const page = await browser.newPage();
  await page.goto(`${base}/ui/signin`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  if (new URL(page.url()).pathname !== "/ui/") throw new Error(`not signed in: ${page.url()}`);
  const pages = [
    ["home", "/ui/"],
    ["timeline", "/ui/timeline?since=24h"],
    ["calls", "/ui/calls"],
    ["reliability", "/ui/reliability?since=24h&bucket=1h"],
    ["streams", "/ui/streams"],
    ["usage", "/ui/usage"],
    ["prompts", "/ui/prompts"],
    ["evals", "/ui/evals"],
  ];
  for (const [name, path] of pages) {
    await page.goto(`${base}${path}`);
    const file = join(shots, `${name}.png`);
    await page.screenshot({ path: file });
    console.log(file);
  }
  // The first prompt's page, with its releases and forms.
  await page.goto(`${base}/ui/prompts`);
  const first = page.locator("main a[href^='/ui/prompts/']").first();
  if ((await first.count()) > 0) {
    await first.click();
    const file = join(shots, "prompt.png");
    await page.screenshot({ path: file });
    console.log(file);
  }
} finally {
  await close();
}
