"""Application and request keys shared by the HTTP layer."""

from aiohttp import web

from ..cluster.node import ClusterNode
from ..records import User
from ..services import Services
from ..settings import Settings
from ..store import Store
from .openapi import Documents

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
SERVICES = web.AppKey("services", Services)
CLUSTER = web.AppKey("cluster", ClusterNode)  # only in cluster mode (TASKTREK_REDIS_URL)
DOCUMENTS = web.AppKey("documents", Documents)  # OpenAPI and AsyncAPI

USER = web.RequestKey("user", User)  # the authenticated user
BODY = web.RequestKey("body", dict)  # the body, parsed with the route's schema
QUERY = web.RequestKey("query", dict)  # the query string, parsed with the route's schema
REQUEST_ID = web.RequestKey("request_id", str)
