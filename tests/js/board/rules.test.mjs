// The board's rules on their own, without a browser (state.js and readableError use no DOM): node --test.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readableError } from "../../../tasktrek/web/api.js";
import { People, Tasks, onBoard, otherParty } from "../../../tasktrek/web/state.js";

const ANN = "a".repeat(24);
const BOB = "b".repeat(24);
const CAROL = "c".repeat(24);
const task = (fields) => ({
  _id: "1".repeat(24), user: ANN, title: "t", status: "todo", priority: "medium", dueDate: null, assignedTo: null,
  isDeleted: false, deletedAt: null, createdAt: "2026-12-01T00:00:00.000Z", updatedAt: "2026-12-01T00:00:00.000Z", version: 1, ...fields,
});

test("an older version never replaces a newer one, whatever arrives first", () => {
  const tasks = new Tasks();
  assert.equal(tasks.put(task({ version: 3, title: "new" })), true);
  assert.equal(tasks.put(task({ version: 2, title: "old" })), false);
  assert.equal(tasks.board(ANN)[0].title, "new");
  assert.equal(tasks.put(task({ version: 3, title: "new", taskId: "x", actor: BOB })), true);
  assert.deepEqual(Object.keys(tasks.board(ANN)[0]).filter((k) => k === "taskId" || k === "actor"), []);
});

test("the board holds what I own or am assigned, not deleted; the trash my deleted tasks", () => {
  assert.equal(onBoard(ANN, task({})), true);
  assert.equal(onBoard(BOB, task({ assignedTo: BOB })), true);
  assert.equal(onBoard(CAROL, task({ assignedTo: BOB })), false);
  assert.equal(onBoard(BOB, task({ assignedTo: BOB, isDeleted: true })), false);
  const tasks = new Tasks([task({ isDeleted: true, deletedAt: "2026-12-02T00:00:00.000Z", assignedTo: BOB })]);
  assert.equal(tasks.board(ANN).length, 0);
  assert.equal(tasks.trash(ANN).length, 1);
  assert.equal(tasks.trash(BOB).length, 0);
});

test("a card's other party: the assignee on my task, the owner on a task assigned to me", () => {
  assert.equal(otherParty(ANN, task({ assignedTo: BOB })), BOB);
  assert.equal(otherParty(BOB, task({ assignedTo: BOB })), ANN);
  assert.equal(otherParty(ANN, task({})), null);
  assert.equal(otherParty(ANN, task({ assignedTo: ANN })), null);
  assert.deepEqual([...new Tasks([task({ assignedTo: BOB })]).parties(ANN)], [BOB]);
});

test("people learned are remembered per user, with a fallback name for strangers", () => {
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) };
  const people = new People(store, { _id: ANN, name: "Ann", email: "ann@example.com" });
  people.learn({ _id: BOB, name: "Bob", email: "bob@example.com" });
  people.learn({ _id: BOB, name: "Bob" }); // a notification's actor: no email, the known one stays
  const again = new People(store, { _id: ANN, name: "Ann" });
  assert.equal(again.name(BOB, "?"), "Bob");
  assert.equal(again.email(BOB), "bob@example.com");
  assert.equal(again.name(CAROL, "a teammate"), "a teammate");
  assert.equal(new People(store, { _id: CAROL, name: "Carol" }).name(BOB, "?"), "?");
});

test("API errors read as sentences", () => {
  assert.equal(readableError(403, { message: "registration is closed" }), "Not allowed: registration is closed.");
  assert.equal(readableError(404, { message: "not found" }), "Not found: it was deleted or is no longer shared with you.");
  assert.match(readableError(412, { message: "precondition failed" }), /^Someone else changed this task meanwhile\./);
  assert.equal(readableError(429, { message: "too many requests" }, "840"), "Too many failed attempts. Try again in 14 minutes.");
  assert.equal(readableError(429, {}, "30"), "Too many failed attempts. Try again in 1 minute.");
  assert.equal(readableError(400, { message: "validation failed", errors: { title: ["Too long."] } }), "Please check the form: title: Too long.");
  assert.equal(readableError(401, { message: "invalid credentials" }), "Wrong email or password.");
  assert.equal(readableError(401, { message: "invalid token" }), "Your session has ended. Please log in again.");
  assert.equal(readableError(0), "The server cannot be reached. Check your connection and try again.");
  assert.equal(readableError(500, null), "Something went wrong (500).");
});
