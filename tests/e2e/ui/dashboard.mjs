// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core
// (nothing downloaded at run time). Signs in with SEAM_UI_TOKEN at SEAM_UI_URL, opens Home,
// the Timeline, the Calls search and the call SEAM_UI_CALL, checks what each shows, and saves a
// screenshot of each in SEAM_UI_SHOTS. Prints `dashboard: ok` when every step passed.
// Run by tests/e2e/test_dashboard.py.
import { join } from "node:path";
import { check, errorsOf, launch } from "./browser.mjs";

const base = process.env.SEAM_UI_URL;
const token = process.env.SEAM_UI_TOKEN;
const callId = process.env.SEAM_UI_CALL;
const shots = process.env.SEAM_UI_SHOTS;
if (!base || !token || !callId || !shots) {
  console.error("set SEAM_UI_URL, SEAM_UI_TOKEN, SEAM_UI_CALL and SEAM_UI_SHOTS");
  process.exit(2);
}


const { browser, close } = await launch();
try {
  const page = await browser.newPage();
  // Anything the page's policy refuses (an inline script or style, a resource from elsewhere)
  // and any script error shows here.
  const errors = errorsOf(page);
  // A page without a session goes to the sign-in form.
  await page.goto(`${base}/ui/calls`);
  check(new URL(page.url()).pathname === "/ui/signin", `not sent to sign in: ${page.url()}`);
  // A wrong token is refused, with the form again.
  await page.fill("#token", "not-a-token");
  await page.click("button[type=submit]");
  check((await page.textContent("main")).includes("Unknown token"), "a wrong token was not refused");
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  check(new URL(page.url()).pathname === "/ui/", `not signed in: ${page.url()}`);
  // The refused token's 401 above is reported as a failed load: count from here on.
  errors.length = 0;
  const home = await page.textContent("main");
  check(home.includes("Reliability, last 24 h") && home.includes("chat"), "Home lacks the reliability table");
  await page.screenshot({ path: join(shots, "home.png"), fullPage: true });
  // htmx (served by Seam) fetches Home again every 5 s while it is open.
  check((await page.evaluate(() => typeof window.htmx)) === "object", "htmx did not load");
  const again = await page.waitForRequest((r) => new URL(r.url()).pathname === "/ui/" && r.headers()["hx-request"] === "true", { timeout: 8000 });
  check(again !== null, "Home was not refreshed");

  await page.click("nav >> text=Timeline");
  check(new URL(page.url()).pathname === "/ui/timeline", `not on the timeline: ${page.url()}`);
  await page.fill("input[name=since]", "7d");
  await page.click("form.filters button");
  check(new URL(page.url()).searchParams.get("since") === "7d", "the filter is not in the URL");
  await page.screenshot({ path: join(shots, "timeline.png"), fullPage: true });

  await page.click("nav >> text=Calls");
  await page.fill("input[name=route]", "chat");
  await page.click("form.filters button");
  check(new URL(page.url()).searchParams.get("route") === "chat", "the search is not in the URL");
  check((await page.textContent("main")).includes(callId), `the call ${callId} is not listed`);
  await page.screenshot({ path: join(shots, "calls.png"), fullPage: true });

  await page.click(`a:text("${callId}")`);
  check(new URL(page.url()).pathname === `/ui/calls/${callId}`, `not on the call: ${page.url()}`);
  const call = await page.textContent("main");
  check(call.includes("Attempts") && call.includes("sim-large-2026-01"), "the call page lacks its attempts");
  await page.screenshot({ path: join(shots, "call.png"), fullPage: true });

  // Every other page in the nav opens and renders its title.
  for (const [link, title, shot] of [
    ["Reliability", "Reliability", "reliability"],
    ["Streams", "Streams", "streams"],
    ["Usage", "Usage and limits", "usage"],
    ["Prompts", "Prompts", "prompts"],
    ["Evals", "Evals and gates", "evals"],
    ["Canaries", "Canaries", "canaries"],
    ["Coverage", "Coverage", "coverage"],
    ["Forecasts", "Forecasts", "forecasts"],
    ["Value", "Value of evals", "value"],
    ["Audit", "Audit", "audit"],
    ["Keys", "Keys", "keys"],
    ["Users", "Users", "users"],
  ]) {
    await page.click(`nav >> text=${link}`);
    const h1 = await page.textContent("main h1");
    check(h1 === title, `${link}: the page says ${h1}`);
    await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
  }
  // Imported history (test_dashboard.py): its forecast, table, bands and calendar.
  const asOf = process.env.SEAM_UI_FORECAST_AS_OF;
  if (asOf) {
    await page.goto(`${base}/ui/forecasts?as_of=${asOf}&horizon=14d`);
    const main = await page.textContent("main");
    check(main.includes("e2e-forecast"), "the forecast page lacks the imported tenant");
    check(main.includes("ESTIMATE") && main.includes("Measured coverage"), "the forecast table lacks its labels");
    const bands = await page.locator("main figure svg polygon").count();
    check(bands >= 2, `the forecast chart draws ${bands} bands`);
    await page.screenshot({ path: join(shots, "forecasts.png"), fullPage: true });
  }
  check(errors.length === 0, `the browser reported: ${errors.join(" | ")}`);

  // Sign-out ends the session: the pages send to the sign-in form again.
  await page.click("form.signout button");
  await page.goto(`${base}/ui/`);
  check(new URL(page.url()).pathname === "/ui/signin", "still signed in after sign-out");
  console.log("dashboard: ok");
} finally {
  await close();
}
