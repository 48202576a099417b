// The interactive API docs in Debian's Chromium: "Authorize" with a token, then "Try it out"
// on GET /api/users/me. Environment: DOCS_URL (the page), TOKEN, EMAIL, CHROMIUM.
// Exit code 0 = passed.
import assert from "node:assert/strict";
import { launch } from "../board/harness.mjs";

const { DOCS_URL, TOKEN, EMAIL } = process.env;
const origin = new URL(DOCS_URL).origin;
const browser = await launch();
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  const elsewhere = [];
  const errors = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(origin) && !request.url().startsWith("data:")) elsewhere.push(request.url());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(DOCS_URL);

  await page.getByRole("button", { name: "Authorize" }).first().click();
  const dialog = page.locator(".modal-ux");
  await dialog.locator("input").first().fill(TOKEN);
  await dialog.locator("button.authorize").click(); // labelled "Apply credentials"
  await dialog.locator(".auth-container").getByText("Authorized").waitFor();
  await dialog.locator("button.btn-done").click();

  const me = page.locator("#operations-users-getMe");
  await me.locator(".opblock-summary").first().click();
  await me.getByRole("button", { name: "Try it out" }).click();
  await me.getByRole("button", { name: "Execute" }).click();
  const live = me.locator(".live-responses-table");
  await live.locator(".response-col_status", { hasText: "200" }).first().waitFor();
  assert.ok((await live.innerText()).includes(EMAIL), "the response body names the authorized user");
  assert.match(await me.locator(".curl-command, .request-url").first().innerText(), /\/api\/users\/me/);

  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: false });
  assert.deepEqual(elsewhere, [], "the page loaded something from another origin");
  assert.deepEqual(errors, [], "the page raised errors");
  console.log("docs: authorized request answered 200");
} finally {
  await browser.close();
}
