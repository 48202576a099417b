// The board's scenarios, each a story of people using it in real browser tabs.
import assert from "node:assert/strict";
import {
  assertNoProblems, bell, callApi, card, column, connectionLine, createTask, fillTaskForm, lineSaysOffline,
  logIn, openBoard, person, screenshot, signUp, unreadCount,
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
  await bell(annPage).and(annPage.getByRole("button", { name: `Notifications (${before + 1})`, exact: true })).waitFor();

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
