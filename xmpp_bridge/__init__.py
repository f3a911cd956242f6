"""Agents over XMPP: the engine as an external component (XEP-0114) on slixmpp."""

from xmpp_bridge.bridge import XmppBridge
from xmpp_bridge.settings import BridgeSettings

__all__ = ["BridgeSettings", "XmppBridge"]
