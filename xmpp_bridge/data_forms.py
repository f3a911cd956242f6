"""XEP-0004 data forms as the bridge's own values: what an ad-hoc command asks for and
what it answers. The converters turn them into ``<x xmlns='jabber:x:data'/>`` and read
submitted values back; nothing here knows about stanzas."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class FormField:
    """One ``text-single`` field to fill in."""

    var: str
    label: str
    value: str = ""
    """What the field shows at first (the current setting, say)."""
    required: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class FormToFill:
    """A form of type ``form``: the command needs these values before it runs."""

    title: str
    instructions: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FormResult:
    """A form of type ``result``: the command's answer, one ``text-multi`` field whose
    values are the lines of ``text``."""

    title: str
    text: str


ANSWER_VAR = "answer"
"""The ``var`` of a result's one field."""

Form = FormToFill | FormResult
