// The board's controller: the session, the API calls behind each control, and the live
// connection that keeps what is shown current.
import { Api } from "./api.js";
import { Live } from "./live.js";
import { People, Tasks, onBoard } from "./state.js";
import { keepingFocus, renderBoard, renderNotifications, renderTrash } from "./view.js";

const TOKEN_KEY = "tasktrek.token"; // sessionStorage: one user per tab, kept across reloads
const RETRY_LIVE_MS = 3000; // after the server closed or refused the live connection
const base = new URL("../", import.meta.url); // where the board is served, under any prefix
const $ = (id) => document.getElementById(id);

const api = new Api(base, () => endSession("Your session has ended. Please log in again."));
let session = null; // {me, people, tasks, online, live, notifications, unread, ...} while logged in

// --- messages ---------------------------------------------------------------------------

function showMessage(text) {
  $("message-text").textContent = text;
  $("message").hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message-text").textContent = "";
}

// Runs an action of the user's; a failure becomes a readable message instead of nothing.
async function attempt(action, report = showMessage) {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof Error) || error.status === undefined) console.error(error);
    report(error.message || String(error));
    return undefined;
  }
}

// --- logging in and out -----------------------------------------------------------------

function showAuth(form = "login") {
  $("auth").hidden = false;
  $("login-form").hidden = form !== "login";
  $("signup-form").hidden = form !== "signup";
  for (const id of ["account", "board", "notifications", "trash"]) $(id).hidden = true;
  $("connection").textContent = "";
  (form === "login" ? $("login-form") : $("signup-form")).querySelector("input").focus();
}

async function startSession(token, me) {
  sessionStorage.setItem(TOKEN_KEY, token);
  api.token = token;
  clearMessage();
  const people = new People(localStorage, me);
  session = { me, people, tasks: new Tasks(), online: new Set(), notifications: [], unread: 0, loads: 0, buffered: null, noteLoads: 0 };
  $("auth").hidden = true;
  $("account").hidden = false;
  $("board").hidden = false;
  $("whoami").textContent = `Signed in as ${me.name}`;
  renderAll();
  session.live = new Live({
    base,
    token,
    status: $("connection"),
    onFresh: () => reload(),
    onTask: (task) => taskChanged(task),
    onNotifications: () => reloadNotifications(),
    onUnread: (unread) => setUnread(unread),
    onPresence: (online) => {
      if (!session) return;
      session.online = online;
      renderAll();
    },
    parties: () => session.tasks.parties(session.me._id),
    onServerClosed: () => checkSession(),
  });
}

// The server closed or refused the live session. A 401 from the API ends the board's session
// too (Api's onUnauthorized); otherwise the token is good and the socket tries again shortly.
async function checkSession() {
  const current = session;
  if (!current) return;
  const unauthorized = await api.me().then(() => false, (error) => error.status === 401);
  if (!unauthorized && session === current) setTimeout(() => current.live.reconnect(), RETRY_LIVE_MS);
}

function endSession(message) {
  session?.live.close();
  session = null;
  api.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("task-dialog").close();
  showAuth("login");
  if (message) showMessage(message);
}

async function logIn(form) {
  const data = new FormData(form);
  const answer = await attempt(() => api.login(data.get("email"), data.get("password")));
  if (answer) {
    form.reset();
    await startSession(answer.token, answer);
  }
}

async function signUp(form) {
  const data = new FormData(form);
  const answer = await attempt(() => api.register(data.get("name"), data.get("email"), data.get("password")));
  if (answer) {
    form.reset();
    await startSession(answer.token, answer);
  }
}

async function logOut() {
  // Revokes this user's tokens everywhere (the API's only logout); leave even if it failed.
  await api.logout().catch(() => {});
  endSession(null);
}

// --- the board --------------------------------------------------------------------------

function renderAll() {
  if (!session) return;
  const { me, tasks } = session;
  const ctx = {
    me: me._id,
    people: session.people,
    online: session.online,
    onStatus: (task, status) => attempt(() => saveTask(api.setStatus(task._id, status))).then(() => renderAll()),
    onEdit: (task) => openTaskForm(task),
    onDelete: (task) => attempt(() => deleteTask(task)),
  };
  keepingFocus(() => {
    renderBoard($("board"), tasks.board(me._id), ctx);
    if (!$("trash").hidden) renderTrash($("trash-list"), tasks.trash(me._id), (task) => attempt(() => saveTask(api.restoreTask(task._id))));
    renderNotifications($("notification-list"), session.notifications, (note) => attempt(() => markRead(note)));
  });
  $("bell").textContent = `Notifications (${session.unread})`;
}

// The board from the API, replacing what is shown. Events that arrive meanwhile are applied
// at once and again on top of the fresh listing, so none is lost whichever comes first.
async function reload() {
  if (!session) return;
  const current = session;
  const load = ++current.loads;
  current.buffered = [];
  const lists = [api.allTasks({})];
  if (!$("trash").hidden) lists.push(api.allTasks({ deleted: "true" }));
  const answer = await attempt(() => Promise.all(lists));
  if (session !== current || load !== current.loads) return;
  if (answer) {
    const fresh = new Tasks(answer.flat());
    for (const task of current.buffered) fresh.put(task);
    current.tasks = fresh;
  }
  current.buffered = null;
  renderAll();
  current.live.refreshPresence();
  reloadNotifications();
}

function taskChanged(task) {
  if (!session) return;
  session.buffered?.push(task);
  if (session.tasks.put(task)) renderAll();
  session.live.refreshPresence();
}

// An API answer that returns a task is applied like an event (whichever comes first wins).
async function saveTask(request) {
  const task = await request;
  taskChanged(task);
  return task;
}

async function deleteTask(task) {
  await api.deleteTask(task._id);
  // The answer is only the id; the event brings the deleted task. Read it meanwhile (the
  // owner still may) so the card leaves at once; if that fails, the event will do.
  await api.getTask(task._id).then(taskChanged, () => {});
}

async function showTrash(open) {
  $("trash").hidden = !open;
  $("trash-toggle").setAttribute("aria-expanded", String(open));
  if (!open || !session) return;
  renderAll();
  const deleted = await attempt(() => api.allTasks({ deleted: "true" }));
  if (deleted && session) {
    for (const task of deleted) session.tasks.put(task);
    renderAll();
  }
}

// --- the task form ----------------------------------------------------------------------

let editing = null; // the task being edited, or null for a new one

function openTaskForm(task = null) {
  editing = task;
  const form = $("task-form");
  form.reset();
  $("task-form-error").textContent = "";
  $("task-dialog-title").textContent = task ? "Edit task" : "New task";
  if (task) {
    form.elements.title.value = task.title;
    form.elements.description.value = task.description;
    form.elements.priority.value = task.priority;
    form.elements.dueDate.value = task.dueDate ? task.dueDate.slice(0, 10) : "";
    form.elements.assignee.value = (task.assignedTo && session.people.email(task.assignedTo)) || "";
    form.elements.assignee.placeholder = task.assignedTo && !form.elements.assignee.value ? `unchanged (${session.people.name(task.assignedTo, "assigned")})` : "";
  } else {
    form.elements.assignee.placeholder = "";
  }
  $("unassign-row").hidden = !task?.assignedTo;
  $("task-dialog").showModal();
  form.elements.title.focus();
}

async function assigneeId(email) {
  const user = await api.lookup(email);
  session.people.learn(user);
  return user._id;
}

async function submitTaskForm(form) {
  const data = new FormData(form);
  const fields = {
    title: data.get("title").trim(),
    description: data.get("description"),
    priority: data.get("priority"),
    dueDate: data.get("dueDate") || null,
  };
  const email = data.get("assignee").trim().toLowerCase();
  if (!editing) {
    if (email) fields.assignedTo = await assigneeId(email).catch(notFoundAs("No user has that email address."));
    await saveTask(api.createTask(fields));
    return;
  }
  const task = editing;
  const changed = Object.fromEntries(Object.entries(fields).filter(([key, value]) => value !== (key === "dueDate" ? task.dueDate?.slice(0, 10) ?? null : task[key])));
  if (Object.keys(changed).length) await saveTask(api.updateTask(task._id, changed, task.version));
  if (data.get("unassign")) {
    if (task.assignedTo) await saveTask(api.assign(task._id, null));
  } else if (email && email !== session.people.email(task.assignedTo)) {
    const id = await assigneeId(email).catch(notFoundAs("No user has that email address."));
    if (id !== task.assignedTo) await saveTask(api.assign(task._id, id));
  }
}

function notFoundAs(message) {
  return (error) => {
    if (error.status === 404) error.message = message;
    throw error;
  };
}

// --- notifications ----------------------------------------------------------------------

function setUnread(unread) {
  if (!session) return;
  session.unread = unread;
  renderAll();
}

// The list and the count from the API after any change: correct whichever tab changed what.
async function reloadNotifications() {
  if (!session) return;
  const current = session;
  const load = ++current.noteLoads;
  const answer = await api.notifications().catch(() => null);
  if (!answer || session !== current || load !== current.noteLoads) return;
  current.notifications = answer.notifications;
  current.unread = answer.unread;
  for (const note of answer.notifications) current.people.learn(note.data?.actor ?? {});
  renderAll();
}

async function markRead(note) {
  await api.markRead(note._id);
  await reloadNotifications();
}

function toggleNotifications() {
  const open = $("notifications").hidden;
  $("notifications").hidden = !open;
  $("bell").setAttribute("aria-expanded", String(open));
  if (open) reloadNotifications();
}

// --- wiring -----------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    logIn(event.target);
  });
  $("signup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signUp(event.target);
  });
  $("to-signup").addEventListener("click", (event) => {
    event.preventDefault();
    clearMessage();
    showAuth("signup");
  });
  $("to-login").addEventListener("click", (event) => {
    event.preventDefault();
    clearMessage();
    showAuth("login");
  });
  $("logout").addEventListener("click", () => logOut());
  $("new-task").addEventListener("click", () => openTaskForm());
  $("bell").addEventListener("click", () => toggleNotifications());
  $("read-all").addEventListener("click", () => attempt(() => api.markAllRead().then(reloadNotifications)));
  $("trash-toggle").addEventListener("click", () => showTrash($("trash").hidden));
  $("message-close").addEventListener("click", () => clearMessage());
  $("task-cancel").addEventListener("click", () => $("task-dialog").close());
  $("task-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await attempt(
      () => submitTaskForm(event.target).then(() => true),
      (text) => ($("task-form-error").textContent = text),
    );
    if (saved) $("task-dialog").close();
    else if (editing) refreshEditing();
  });
}

// After a failed edit (412: changed meanwhile) the form shows the task as it is now.
async function refreshEditing() {
  const latest = await api.getTask(editing._id).catch(() => null);
  if (latest && session && onBoard(session.me._id, latest)) {
    taskChanged(latest);
    editing = latest;
  }
}

async function resume() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return showAuth("login");
  api.token = token;
  try {
    await startSession(token, await api.me());
  } catch (error) {
    if (error.status === 401) return; // onUnauthorized has ended the session, with its message
    showAuth("login"); // the token stays: a reload once the server answers resumes the session
    showMessage(error.message);
  }
}

wire();
resume();
