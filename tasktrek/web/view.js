// Rendering: DOM built from data with createElement and text nodes only. API data (titles,
// names, messages are user input) never goes through an HTML parser.
import { COLUMNS, dueLabel, otherParty } from "./state.js";

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

// Re-rendering replaces elements; the one that had the keyboard focus gets it back.
export function keepingFocus(render) {
  const key = document.activeElement?.dataset?.focusKey;
  render();
  if (key) document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

function presenceDot(name, online) {
  const state = online ? "online" : "offline";
  return h("span", { class: `dot ${state}`, role: "img", "aria-label": `${name} is ${state}`, title: `${name} is ${state}` });
}

function partyLine(task, ctx) {
  const { me, people, online } = ctx;
  const other = otherParty(me, task);
  if (task.user === me) {
    if (task.assignedTo === me) return h("p", { class: "who" }, h("span", { class: "tag mine" }, "Yours"), " · assigned to you");
    if (!other) return h("p", { class: "who" }, h("span", { class: "tag mine" }, "Yours"), " · unassigned");
    const name = people.name(other, "a teammate");
    return h("p", { class: "who" }, h("span", { class: "tag mine" }, "Yours"), " · assigned to ", name, " ", presenceDot(name, online.has(other)));
  }
  const name = people.name(other, "its owner");
  return h("p", { class: "who" }, h("span", { class: "tag assigned" }, "Assigned to you"), " by ", name, " ", presenceDot(name, online.has(other)));
}

export function card(task, ctx) {
  const titleId = `task-${task._id}`;
  const mine = task.user === ctx.me;
  const due = dueLabel(task.dueDate);
  const status = h(
    "select",
    { "aria-label": "Status", dataset: { focusKey: `status:${task._id}` }, onchange: (event) => ctx.onStatus(task, event.target.value) },
    COLUMNS.map(({ status, label }) => h("option", { value: status, selected: status === task.status }, label)),
  );
  return h(
    "article",
    { class: `card priority-${task.priority}`, "aria-labelledby": titleId, dataset: { id: task._id } },
    h("h3", { id: titleId }, task.title),
    task.description ? h("p", { class: "description" }, task.description) : null,
    h(
      "p",
      { class: "meta" },
      h("span", { class: `priority ${task.priority}` }, `${task.priority[0].toUpperCase()}${task.priority.slice(1)} priority`),
      due ? h("span", { class: "due" }, `Due ${due}`) : null,
    ),
    partyLine(task, ctx),
    h(
      "div",
      { class: "actions" },
      status,
      mine ? h("button", { type: "button", dataset: { focusKey: `edit:${task._id}` }, onclick: () => ctx.onEdit(task) }, "Edit") : null,
      mine ? h("button", { type: "button", class: "danger", dataset: { focusKey: `delete:${task._id}` }, onclick: () => ctx.onDelete(task) }, "Delete") : null,
    ),
  );
}

export function renderBoard(boardElement, tasks, ctx) {
  for (const column of boardElement.querySelectorAll(".column")) {
    const cards = tasks.filter((task) => task.status === column.dataset.status).map((task) => card(task, ctx));
    column.querySelector(".cards").replaceChildren(...(cards.length ? cards : [h("p", { class: "empty" }, "Nothing here.")]));
  }
}

export function renderTrash(listElement, tasks, onRestore) {
  const items = tasks.map((task) =>
    h(
      "article",
      { class: "card trashed", "aria-labelledby": `trash-${task._id}` },
      h("h3", { id: `trash-${task._id}` }, task.title),
      h("p", { class: "meta" }, `Deleted ${task.deletedAt ? task.deletedAt.slice(0, 10) : ""}`),
      h("button", { type: "button", dataset: { focusKey: `restore:${task._id}` }, onclick: () => onRestore(task) }, "Restore"),
    ),
  );
  listElement.replaceChildren(...(items.length ? items : [h("p", { class: "empty" }, "The trash is empty.")]));
}

export function renderNotifications(listElement, notifications, onRead) {
  const items = notifications.map((note) =>
    h(
      "li",
      { class: note.read ? "read" : "unread" },
      h("span", { class: "text" }, note.message),
      h("time", { datetime: note.createdAt }, note.createdAt.slice(0, 16).replace("T", " ")),
      note.read ? null : h("button", { type: "button", dataset: { focusKey: `read:${note._id}` }, onclick: () => onRead(note) }, "Mark read"),
    ),
  );
  listElement.replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No notifications yet.")]));
}
