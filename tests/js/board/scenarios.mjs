// The board's scenarios, each a story of people using it in real browser tabs.
import assert from "node:assert/strict";
import {
  BOARD_URL, alertSays, assertNoProblems, bell, bellSays, callApi, card, column, createTask, field, fillTaskForm,
  lineSaysOffline, logIn, openBoard, person, register, screenshot, signUp, unreadCount,
} from "./harness.mjs";

// Ann assigns Bob a task; each sees the other's changes live; presence; delete and restore.
export async function collaboration(browser) {
  const ann = person("Ann");
  const bob = person("Bob");
  const annPage = await openBoard(browser);
  const bobPage = await openBoard(browser);
  const sockets = [];
  annPage.on("websocket", (ws) => sockets.push(ws.url()));
  await signUp(annPage, ann);
  await signUp(bobPage, bob);

  const title = "Write the release notes";
  await createTask(annPage, { title, description: "Cover the new board", priority: "high", dueDate: "2026-12-01", assignee: bob.email });
  const annCard = card(column(annPage, "To do"), title);
  await annCard.getByText("assigned to Bob").waitFor();
  await annCard.getByText("High priority").waitFor();
  await annCard.getByText("Due 2026-12-01").waitFor();

  // Bob's board shows it without a reload, as assigned to him by Ann.
  const bobCard = card(column(bobPage, "To do"), title);
  await bobCard.getByText("Assigned to you").waitFor();
  await bobCard.getByText("by Ann").waitFor();
  assert.equal(await bobCard.getByRole("button", { name: "Edit" }).count(), 0, "an assignee may only move the task");

  // Bob moves it; Ann's card moves live and her bell counts one more.
  const before = await unreadCount(annPage);
  await bobCard.getByLabel("Status", { exact: true }).selectOption("in-progress");
  await card(column(bobPage, "In progress"), title).waitFor();
  const moved = card(column(annPage, "In progress"), title);
  await moved.waitFor();
  await card(column(annPage, "To do"), title).waitFor({ state: "detached" });
  await bellSays(annPage, before + 1);

  // Bob's dot on Ann's card: green while his page is open, grey once he has closed it.
  await moved.getByRole("img", { name: "Bob is online", exact: true }).waitFor();
  await createTask(annPage, { title: "Plan the next sprint", priority: "low", dueDate: "2026-12-14" });
  await screenshot(annPage, "board-1280.png");
  await annPage.setViewportSize({ width: 360, height: 800 });
  await screenshot(annPage, "board-360.png");
  await annPage.setViewportSize({ width: 1280, height: 900 });
  assertNoProblems(bobPage);
  await bobPage.context().close();
  await moved.getByRole("img", { name: "Bob is offline", exact: true }).waitFor();

  // Ann deletes it and restores it from the trash.
  await moved.getByRole("button", { name: "Delete", exact: true }).click();
  await moved.waitFor({ state: "detached" });
  await annPage.getByRole("button", { name: "Trash", exact: true }).click();
  const trashed = card(annPage.getByRole("region", { name: "Deleted tasks" }), title);
  await trashed.getByRole("button", { name: "Restore", exact: true }).click();
  await card(column(annPage, "In progress"), title).waitFor();
  await trashed.waitFor({ state: "detached" });

  // Bob is back: his dot turns green again. Ann unassigns him and his card leaves his board
  // live; she assigns him again by email and it comes back.
  const bobAgain = await openBoard(browser, { width: 360, height: 800 });
  await logIn(bobAgain, bob);
  const restored = card(column(annPage, "In progress"), title);
  await restored.getByRole("img", { name: "Bob is online", exact: true }).waitFor();
  const bobRestored = card(column(bobAgain, "In progress"), title);
  await bobRestored.waitFor();
  await restored.getByRole("button", { name: "Edit", exact: true }).click();
  await annPage.getByRole("dialog").getByLabel("Unassign").check();
  await fillTaskForm(annPage, {});
  await restored.getByText("unassigned").waitFor();
  await bobRestored.waitFor({ state: "detached" });
  await restored.getByRole("button", { name: "Edit", exact: true }).click();
  await fillTaskForm(annPage, { assignee: bob.email.toUpperCase() });
  await restored.getByText("assigned to Bob").waitFor();
  await bobRestored.waitFor();

  // The keyboard moves a card too, and keeps its place on the control through the re-render.
  const status = bobRestored.getByLabel("Status", { exact: true });
  await status.focus();
  await bobAgain.keyboard.press("ArrowDown");
  await card(column(annPage, "Done"), title).waitFor();
  await bobAgain.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Status");
  assertNoProblems(bobAgain);

  // A title is text, never markup: shown as typed, nothing runs (a dialog would be reported).
  const hostile = "<img src=x onerror=alert(1)>";
  await createTask(annPage, { title: hostile });
  const shown = card(column(annPage, "To do"), hostile);
  assert.equal(await shown.getByRole("heading").textContent(), hostile);
  assert.equal(await shown.locator("img").count(), 0);

  // The live connection went through the app's own endpoint, allowed by its CSP.
  assert.ok(sockets.some((url) => new URL(url).pathname === "/socket.io/"), `a WebSocket to /socket.io/: ${sockets}`);
  assertNoProblems(annPage);
}

// Ann has a second, stale tab: it follows her bell, loses the network, and is current again.
export async function staleTab(browser) {
  const ann = person("Ann");
  const bob = person("Bob");
  const annPage = await openBoard(browser);
  await signUp(annPage, ann);
  const stale = await openBoard(browser, { width: 1024 });
  await logIn(stale, ann);
  const bobToken = (await register(bob)).token;

  // A task made in one tab appears in the other.
  const title = "Before the cut";
  await createTask(annPage, { title, assignee: bob.email });
  await card(column(stale, "To do"), title).waitFor();

  // The bell follows in both tabs: Bob acts twice, Ann reads one in a tab, then all.
  const taskId = await card(column(annPage, "To do"), title).getAttribute("data-id");
  await callApi(bobToken, "PATCH", `tasks/${taskId}/status`, { status: "in-progress" });
  await callApi(bobToken, "PATCH", `tasks/${taskId}/status`, { status: "todo" });
  for (const page of [annPage, stale]) await bellSays(page, 2);
  await bell(annPage).click();
  const list = annPage.getByRole("region", { name: "Your notifications" });
  await list.getByRole("button", { name: "Mark read", exact: true }).first().click();
  await bellSays(stale, 1);
  await list.getByRole("button", { name: "Mark all read", exact: true }).click();
  await bellSays(stale, 0);
  await bellSays(annPage, 0);

  // The stale tab loses the network: the line says so, and it misses what happens meanwhile.
  await stale.context().setOffline(true);
  await lineSaysOffline(stale, true);
  const renamed = "Renamed while the other tab was offline";
  await card(column(annPage, "To do"), title).getByRole("button", { name: "Edit", exact: true }).click();
  await fillTaskForm(annPage, { title: renamed });
  await card(column(annPage, "To do"), renamed).waitFor();
  await createTask(annPage, { title: "Made while the other tab was offline" });
  await callApi(bobToken, "PATCH", `tasks/${taskId}/status`, { status: "done" });
  await card(column(annPage, "Done"), renamed).waitFor();
  await callApi(bobToken, "PATCH", `tasks/${taskId}/status`, { status: "done" }); // a no-op, still done
  assert.equal(await card(column(stale, "To do"), title).count(), 1, "the stale tab did not get the changes while offline");
  await card(column(stale, "To do"), title).getByLabel("Status", { exact: true }).selectOption("in-progress");
  await alertSays(stale, "The server cannot be reached. Check your connection and try again.");
  await card(column(stale, "To do"), title).waitFor(); // the card stays where the server has it

  // Back: the socket reconnects, the line clears, and the board is current.
  const reconnected = stale.waitForEvent("websocket");
  await stale.context().setOffline(false);
  await reconnected;
  await lineSaysOffline(stale, false);
  await card(column(stale, "Done"), renamed).waitFor();
  await card(column(stale, "To do"), "Made while the other tab was offline").waitFor();
  await card(stale, title).waitFor({ state: "detached" });
  await screenshot(stale, "stale-tab-back-1024.png");
  assertNoProblems(annPage, stale);
}

// What goes wrong reads as a sentence, and a session ends cleanly.
export async function errors(browser) {
  const ann = person("Ann");
  const page = await openBoard(browser);
  await signUp(page, ann);
  const alert = page.getByRole("alert").filter({ visible: true });

  // 412: the task changed while Ann was editing it; the form says so and the next save works.
  await createTask(page, { title: "Edited twice" });
  const taskId = await card(page, "Edited twice").getAttribute("data-id");
  await card(page, "Edited twice").getByRole("button", { name: "Edit", exact: true }).click();
  await callApi(page.token, "PUT", `tasks/${taskId}`, { description: "changed elsewhere" });
  await fillTaskForm(page, { description: "Ann's words" });
  await page.getByRole("dialog").getByText("Someone else changed this task meanwhile").waitFor();
  await page.getByRole("dialog").getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  await card(page, "Edited twice").getByText("Ann's words").waitFor();

  // An unknown assignee email is named as such.
  await page.getByRole("button", { name: "New task", exact: true }).click();
  await fillTaskForm(page, { title: "For nobody", assignee: "nobody@example.com" });
  await page.getByRole("dialog").getByText("No user has that email address.").waitFor();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel", exact: true }).click();

  // A reload keeps the user; a second tab of the same user is logged out with the first.
  await page.reload();
  await page.getByText(`Signed in as ${ann.name}`).waitFor();
  const other = await openBoard(browser);
  await logIn(other, ann);
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await page.getByRole("button", { name: "Log in", exact: true }).waitFor();
  await other.getByRole("button", { name: "Log in", exact: true }).waitFor();
  await alertSays(other, "Your session has ended. Please log in again.");

  // Wrong password, a taken email, then too many failures.
  await field(page, "Email").fill(ann.email);
  await field(page, "Password").fill("not the password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await alertSays(page, "Wrong email or password.");
  await page.getByRole("link", { name: "Create one" }).click();
  await field(page, "Name").fill("Another Ann");
  await field(page, "Email").fill(ann.email);
  await field(page, "Password").fill(ann.password);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await alertSays(page, "That email is already registered. Log in instead.");
  await page.getByRole("link", { name: "Log in instead" }).click();
  for (let attempt = 1; attempt < 10; attempt += 1) {
    const response = await fetch(new URL("api/users/login", BOARD_URL), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: ann.email, password: "wrong again" }),
    });
    assert.equal(response.status, 401);
  }
  await field(page, "Email").fill(ann.email);
  await field(page, "Password").fill("still wrong");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await alertSays(page, /Too many failed attempts\. Try again in \d+ minutes?\./);
  assert.equal(await alert.count(), 1);
  assertNoProblems(page, other);
}

// Mounted under a prefix with add_subapp, the board works the same, socket included.
export async function mounted(browser) {
  assert.ok(new URL(BOARD_URL).pathname !== "/", "served under a prefix");
  const ann = person("Ann");
  const first = await openBoard(browser);
  const sockets = [];
  first.on("websocket", (ws) => sockets.push(new URL(ws.url()).pathname));
  await signUp(first, ann);
  const second = await openBoard(browser);
  await logIn(second, ann);
  await createTask(first, { title: "Works under a prefix" });
  const moved = card(column(second, "To do"), "Works under a prefix");
  await moved.getByLabel("Status", { exact: true }).selectOption("done");
  await card(column(first, "Done"), "Works under a prefix").waitFor();
  assert.ok(sockets.includes(`${new URL(BOARD_URL).pathname}socket.io/`), `WebSockets opened: ${sockets}`);

  // The keyboard alone makes a task: Enter on "New task", the title has the focus, Enter saves.
  await first.getByRole("button", { name: "New task", exact: true }).focus();
  await first.keyboard.press("Enter");
  await first.keyboard.type("Typed with the keyboard");
  await first.keyboard.press("Enter");
  await card(column(second, "To do"), "Typed with the keyboard").waitFor();
  assertNoProblems(first, second);
}

// The server restarts; a task is made while nothing listens: the tab says so, reconnects by
// itself and shows it.
export async function restart(browser) {
  const ann = person("Ann");
  const page = await openBoard(browser);
  await signUp(page, ann);
  await createTask(page, { title: "Made before the restart" });
  console.log(`cue:restart ${ann.email}`); // the test restarts the server now
  await lineSaysOffline(page, true);
  await lineSaysOffline(page, false);
  await card(column(page, "To do"), "Made while the server was down").waitFor();
  await card(column(page, "To do"), "Made before the restart").waitFor();
  await page.getByText(`Signed in as ${ann.name}`).waitFor();
  assertNoProblems(page);
}
