// Helpers for the board's browser scenarios: Debian's Chromium driven by playwright-core,
// and the steps a person takes, by the accessible names of WEB.md.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

export const BOARD_URL = process.env.BOARD_URL; // where the board is served, ending in "/"
export const SCREENSHOTS = process.env.SCREENSHOTS; // folder for screenshots (git-ignored)
const WAIT_MS = 15000; // the longest any one expected change may take to appear

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

// A browser context is one person at one browser tab: its own session storage.
// Every page is watched for what must never happen: a script dialog (an XSS payload ran), a
// violation of the Content-Security-Policy, an uncaught error, or a token in a URL.
export async function openBoard(browser, { width = 1280, height = 900, url = BOARD_URL } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const problems = [];
  page.problems = problems;
  page.on("dialog", (dialog) => {
    problems.push(`a script opened a dialog: ${dialog.message()}`);
    dialog.dismiss();
  });
  page.on("pageerror", (error) => problems.push(`uncaught error: ${error.message}`));
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  const checkUrl = (url) => {
    if (page.token && url.includes(page.token)) problems.push(`token in a URL: ${url}`);
  };
  page.on("request", (request) => checkUrl(request.url()));
  page.on("websocket", (socket) => checkUrl(socket.url()));
  await page.goto(url);
  return page;
}

export function assertNoProblems(...pages) {
  for (const page of pages) assert.deepEqual(page.problems, [], "the page reported problems");
}

let people = 0;
export function person(name) {
  people += 1;
  return { name, email: `${name.toLowerCase()}.${process.pid}.${people}@example.com`, password: "correct horse battery" };
}

// A visible field by its label (the hidden form's fields carry the same labels).
export const field = (scope, label) => scope.getByLabel(label, { exact: true }).filter({ visible: true });

export async function signUp(page, who) {
  await page.getByRole("link", { name: "Create one" }).click();
  await field(page, "Name").fill(who.name);
  await field(page, "Email").fill(who.email);
  await field(page, "Password").fill(who.password);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await boardShown(page);
}

export async function logIn(page, who) {
  await field(page, "Email").fill(who.email);
  await field(page, "Password").fill(who.password);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await boardShown(page);
}

async function boardShown(page) {
  await column(page, "To do").waitFor();
  page.token = await page.evaluate(() => sessionStorage.getItem("tasktrek.token"));
  assert.ok(page.token, "logged in: the tab keeps a token");
}

export const column = (page, name) => page.getByRole("region", { name, exact: true });

export const card = (scope, title) => scope.getByRole("article", { name: title, exact: true });

// The form behind "New task" (or a card's "Edit"): fills what is given, then "Save".
export async function fillTaskForm(page, fields) {
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  const labels = { title: "Title", description: "Description", dueDate: "Due date", assignee: "Assignee email" };
  for (const [key, label] of Object.entries(labels)) {
    if (fields[key] !== undefined) await field(dialog, label).fill(fields[key]);
  }
  if (fields.priority) await field(dialog, "Priority").selectOption(fields.priority);
  await dialog.getByRole("button", { name: "Save", exact: true }).click();
}

export async function createTask(page, fields) {
  await page.getByRole("button", { name: "New task", exact: true }).click();
  await fillTaskForm(page, fields);
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  await card(column(page, "To do"), fields.title).waitFor();
}

export const bell = (page) => page.getByRole("button", { name: /^Notifications \(\d+\)$/ });

export async function unreadCount(page) {
  const name = await bell(page).textContent();
  return Number(/\((\d+)\)/.exec(name)[1]);
}

export async function bellSays(page, unread) {
  await page.getByRole("button", { name: `Notifications (${unread})`, exact: true }).waitFor();
}

export async function alertSays(page, text) {
  await page.getByRole("alert").filter({ hasText: text }).waitFor();
}

// Waits until the connection line's text does (or no longer does) mention "offline".
export async function lineSaysOffline(page, expected) {
  await page.waitForFunction(
    (want) => /offline/.test(document.querySelector('[role="status"]').textContent) === want,
    expected,
  );
}

// A user registered through the API, as curl would do it: {_id, name, email, token}.
export async function register(who) {
  const response = await fetch(new URL("api/users", BOARD_URL), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(who),
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text);
}

// A call to the API from outside any page (as curl would make it), with a page's token.
export async function callApi(token, method, path, body) {
  const response = await fetch(new URL(`api/${path}`, BOARD_URL), {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

export async function screenshot(page, name) {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}`, fullPage: true });
}
