"""Web edge: aiohttp app, Socket.IO visitor namespace, widget assets, demo, health and
metrics."""

from presentation.app import create_app, drain_visitors, make_runner
from presentation.metrics import MetricsSources, no_webhook_backlog
from presentation.notifier import SocketIoVisitorNotifier
from presentation.settings import WebSettings

__all__ = [
    "MetricsSources",
    "SocketIoVisitorNotifier",
    "WebSettings",
    "create_app",
    "drain_visitors",
    "make_runner",
    "no_webhook_backlog",
]
