"""Composition root: settings, logging, wiring, the `chat-engine` command and process lifecycle."""
