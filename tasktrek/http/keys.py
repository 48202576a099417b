"""Application and request keys shared by the HTTP layer."""

from aiohttp import web

from ..cluster.node import ClusterNode
from ..services import Services
from ..settings import Settings
from ..store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
SERVICES = web.AppKey("services", Services)
CLUSTER = web.AppKey("cluster", ClusterNode)  # only in cluster mode (TASKTREK_REDIS_URL)

USER = web.RequestKey("user", dict)  # the authenticated user record
REQUEST_ID = web.RequestKey("request_id", str)
CLAIMS = "tasktrek.claims"  # a plain string: aiohttp-jwt stores the token claims under it
