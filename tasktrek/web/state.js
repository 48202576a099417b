// What the board knows, as plain data and pure functions (no DOM, no network).

export const COLUMNS = [
  { status: "todo", label: "To do" },
  { status: "in-progress", label: "In progress" },
  { status: "done", label: "Done" },
];

// The API's visibility rule: the owner and the current assignee see a live task; a deleted
// one is seen by its owner only, in the trash.
export function onBoard(me, task) {
  return !task.isDeleted && (task.user === me || task.assignedTo === me);
}

export function inTrash(me, task) {
  return task.isDeleted && task.user === me;
}

// The other party of a card: the assignee on my own task, the owner on a task assigned to me.
export function otherParty(me, task) {
  if (task.user === me) return task.assignedTo && task.assignedTo !== me ? task.assignedTo : null;
  return task.user;
}

// Every task the board has seen, by id, at the newest version seen: an event or answer
// older than what is known changes nothing, so events and API answers may arrive in any order.
export class Tasks {
  constructor(tasks = []) {
    this.byId = new Map();
    for (const task of tasks) this.put(task);
  }

  put(task) {
    const known = this.byId.get(task._id);
    if (known && known.version > task.version) return false;
    this.byId.set(task._id, strip(task));
    return true;
  }

  board(me) {
    return [...this.byId.values()].filter((task) => onBoard(me, task)).sort(newestFirst);
  }

  trash(me) {
    return [...this.byId.values()].filter((task) => inTrash(me, task)).sort(byDeletedAt);
  }

  parties(me) {
    return new Set(this.board(me).map((task) => otherParty(me, task)).filter(Boolean));
  }
}

// A task:* event carries the task plus taskId and actor (and more for task:assigned).
function strip({ taskId, actor, assignedBy, previousAssignee, ...task }) {
  return task;
}

const newestFirst = (a, b) => b.updatedAt.localeCompare(a.updatedAt) || a._id.localeCompare(b._id);
const byDeletedAt = (a, b) => (b.deletedAt ?? "").localeCompare(a.deletedAt ?? "") || a._id.localeCompare(b._id);

// People the board can name. The API names a user by id only to themselves; others become
// known through an exact-email lookup or as the actor of a notification, and are
// remembered in this browser for the user who learned them.
export class People {
  constructor(storage, me) {
    this.storage = storage;
    this.key = `tasktrek.people.${me._id}`;
    this.byId = new Map(Object.entries(safeParse(storage.getItem(this.key))));
    this.learn(me);
  }

  learn({ _id, name, email }) {
    if (!_id || !name) return false;
    const known = this.byId.get(_id) ?? {};
    const next = { name, email: email ?? known.email ?? null };
    if (known.name === next.name && known.email === next.email) return false;
    this.byId.set(_id, next);
    this.storage.setItem(this.key, JSON.stringify(Object.fromEntries(this.byId)));
    return true;
  }

  name(id, fallback) {
    return this.byId.get(id)?.name ?? fallback;
  }

  email(id) {
    return this.byId.get(id)?.email ?? null;
  }

  forget() {
    this.storage.removeItem(this.key);
  }
}

function safeParse(text) {
  try {
    const value = JSON.parse(text ?? "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

export function dueLabel(dueDate) {
  return dueDate ? dueDate.slice(0, 10) : null;
}

export function statusLabel(status) {
  return COLUMNS.find((column) => column.status === status)?.label ?? status;
}
