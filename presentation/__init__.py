"""Web edge: aiohttp app, Socket.IO visitor namespace, widget assets, demo and health."""

from presentation.app import create_app
from presentation.notifier import SocketIoVisitorNotifier
from presentation.settings import WebSettings

__all__ = ["SocketIoVisitorNotifier", "WebSettings", "create_app"]
