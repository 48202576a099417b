"""Every HTTP route in one place. Returns the resources that need no token."""

from aiohttp import web

from . import health, notifications, tasks, users


def setup_routes(app: web.Application) -> list[web.AbstractResource]:
    r = app.router
    public = [
        r.add_post("/api/users", users.register).resource,
        r.add_post("/api/users/login", users.login).resource,
        r.add_get("/healthz", health.healthz).resource,
        r.add_get("/readyz", health.readyz).resource,
    ]
    r.add_get("/api/users/me", users.me)
    r.add_get("/api/users/lookup", users.lookup)
    r.add_post("/api/users/logout", users.logout)

    r.add_post("/api/tasks", tasks.create)
    r.add_get("/api/tasks", tasks.list_tasks)
    r.add_get("/api/tasks/{id}", tasks.get)
    r.add_put("/api/tasks/{id}", tasks.update)
    r.add_delete("/api/tasks/{id}", tasks.delete)
    r.add_patch("/api/tasks/{id}/status", tasks.set_status)
    r.add_patch("/api/tasks/{id}/assign", tasks.assign)
    r.add_patch("/api/tasks/{id}/restore", tasks.restore)

    r.add_get("/api/notifications", notifications.list_notifications)
    r.add_patch("/api/notifications/read-all", notifications.read_all)
    r.add_patch("/api/notifications/{id}/read", notifications.mark_read)
    r.add_patch("/api/notifications/{id}/unread", notifications.mark_unread)
    return public
