"""TaskTrek: a real-time task-management backend on one aiohttp application."""

__version__ = "0.1.0"
