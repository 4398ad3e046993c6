// Approves one held call on the airlock's approvals page, as a person would, in a real
// headless Chromium: signs in with an approver's credential, checks the request is shown
// with its arguments masked, clicks Approve, and checks the page then says who approved it.
//
//   node approve_in_browser.mjs <page url> <request id> <must-not-appear>
// The approver's credential is read from AIRLOCK_APPROVER_TOKEN, Chromium from CHROMIUM,
// playwright-core from PLAYWRIGHT_DIR (the pinned install under target/e2e).
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const { chromium } = await import(pathToFileURL(join(process.env.PLAYWRIGHT_DIR, "index.mjs")).href);

const [url, id, secret] = process.argv.slice(2);
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
});
const report = {};
let page;
try {
    page = await browser.newPage();
    page.setDefaultTimeout(15000);
    await page.goto(url);
    await page.fill("#token", process.env.AIRLOCK_APPROVER_TOKEN);
    await page.click("#login");
    const row = page.locator(`#request-${id}`);
    await row.waitFor();
    report.row_before = await row.innerText();
    report.secret_shown = (await page.content()).includes(secret);
    await page.click(`#approve-${id}`);
    await page.locator(`#request-${id} .state`).filter({ hasText: "approved by" }).waitFor();
    report.row_after = await row.innerText();
    const cookies = await page.context().cookies();
    report.cookie = cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path }));
} catch (e) {
    // What the page showed, to say why.
    console.error(page ? await page.content() : "no page");
    throw e;
} finally {
    await browser.close();
}
console.log(JSON.stringify(report));
