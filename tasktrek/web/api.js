// The REST API as the board uses it: JSON in and out, the bearer token in a header (never
// in a URL), and every failure turned into an ApiError with a message a person can read.

export class ApiError extends Error {
  constructor(status, message, fields = null) {
    super(message);
    this.status = status;
    this.fields = fields; // {"<field>": ["<problem>", ...]} for validation errors
  }
}

const PAGE_LIMIT = 100; // the API's largest page

export function readableError(status, body, retryAfter) {
  const said = typeof body?.message === "string" ? body.message : "";
  switch (status) {
    case 0:
      return "The server cannot be reached. Check your connection and try again.";
    case 400: {
      const details = Object.entries(body?.errors ?? {}).map(([field, problems]) => `${field}: ${[problems].flat().join(" ")}`);
      return details.length ? `Please check the form: ${details.join("; ")}` : `Please check the form: ${said || "invalid input"}.`;
    }
    case 401:
      return said === "invalid credentials" ? "Wrong email or password." : "Your session has ended. Please log in again.";
    case 403:
      return `Not allowed: ${said || "you may not do this"}.`;
    case 404:
      return "Not found: it was deleted or is no longer shared with you.";
    case 409:
      return "That email is already registered. Log in instead.";
    case 412:
      return "Someone else changed this task meanwhile. The board shows the latest version now; review it and save again.";
    case 413:
      return "That is too large to save.";
    case 429: {
      const minutes = Math.max(1, Math.ceil(Number(retryAfter || 60) / 60));
      return `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
    }
    case 503:
      return "The database is not available right now. Try again in a moment.";
    default:
      return `Something went wrong (${status}${said ? `: ${said}` : ""}).`;
  }
}

export class Api {
  // base: the URL the board is served at ("http://host/" or "http://host/prefix/").
  // onUnauthorized(error): called when a request with a token is refused with 401.
  constructor(base, onUnauthorized) {
    this.base = base;
    this.token = null;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { body, query, headers = {} } = {}) {
    const url = new URL(`api/${path}`, this.base);
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    const init = { method, headers: { Accept: "application/json", ...headers } };
    const token = this.token;
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      throw new ApiError(0, readableError(0));
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new ApiError(response.status, readableError(response.status, data, response.headers.get("Retry-After")), data?.errors);
      if (response.status === 401 && token && token === this.token) this.onUnauthorized(error);
      throw error;
    }
    return data;
  }

  register(name, email, password) {
    return this.request("POST", "users", { body: { name, email, password } });
  }
  login(email, password) {
    return this.request("POST", "users/login", { body: { email, password } });
  }
  logout() {
    return this.request("POST", "users/logout");
  }
  me() {
    return this.request("GET", "users/me");
  }
  lookup(email) {
    return this.request("GET", "users/lookup", { query: { email } });
  }

  // Every task of one listing, page after page.
  async allTasks(query) {
    const tasks = [];
    for (let page = 1; ; page += 1) {
      const answer = await this.request("GET", "tasks", { query: { ...query, page, limit: PAGE_LIMIT } });
      tasks.push(...answer.tasks);
      if (answer.tasks.length < PAGE_LIMIT || page * PAGE_LIMIT >= answer.total) return tasks;
    }
  }
  createTask(fields) {
    return this.request("POST", "tasks", { body: fields });
  }
  updateTask(id, fields, version) {
    return this.request("PUT", `tasks/${id}`, { body: fields, headers: { "If-Match": `"${version}"` } });
  }
  setStatus(id, status) {
    return this.request("PATCH", `tasks/${id}/status`, { body: { status } });
  }
  assign(id, userId) {
    return this.request("PATCH", `tasks/${id}/assign`, { body: { assignedTo: userId } });
  }
  deleteTask(id) {
    return this.request("DELETE", `tasks/${id}`);
  }
  restoreTask(id) {
    return this.request("PATCH", `tasks/${id}/restore`);
  }
  getTask(id) {
    return this.request("GET", `tasks/${id}`);
  }

  notifications(limit = 30) {
    return this.request("GET", "notifications", { query: { limit } });
  }
  markRead(id) {
    return this.request("PATCH", `notifications/${id}/read`);
  }
  markAllRead() {
    return this.request("PATCH", "notifications/read-all");
  }
}
