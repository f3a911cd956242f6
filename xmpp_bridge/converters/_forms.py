"""The slixmpp side of XEP-0004 data forms, for ad-hoc commands: builds the ``<x/>`` an
answer carries and reads the values a submitted form holds. Like ``_stanza``, one of the
modules that touch slixmpp's stanza classes; every text written goes through
``xml_safe``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, assert_never
from xml.etree import ElementTree as ET

from slixmpp.plugins.xep_0004.stanza import Form as XForm
from slixmpp.xmlstream import ElementBase

from xmpp_bridge import texts
from xmpp_bridge.converters.sizes import cut_to_fit, xml_safe
from xmpp_bridge.data_forms import ANSWER_VAR, Form, FormResult, FormToFill

StanzaPart = ElementBase
"""A child of a stanza as slixmpp models it: a data form, an ad-hoc command."""

DATA_FORMS_NS = "jabber:x:data"
ANSWER_ROOM = 32 * 1024
"""Bytes of answer text a result carries at most: a guard well inside the stanza budget
(the slixmpp plugin sends the answer, not the link that checks the budget). Answers are
a line per chat or queue; what is cut ends in an ellipsis."""


def form_to_stanza(form: Form) -> StanzaPart:
    """The ``<x xmlns='jabber:x:data'/>`` for ``form``."""
    x: Any = XForm()  # type: ignore[no-untyped-call]
    match form:
        case FormToFill(title=title, instructions=instructions, fields=fields):
            x["type"] = "form"
            x["title"] = xml_safe(title)
            x["instructions"] = xml_safe(instructions)
            for field in fields:
                x.add_field(
                    var=field.var,
                    ftype="text-single",
                    label=xml_safe(field.label),
                    required=field.required,
                    value=xml_safe(field.value),
                )
        case FormResult(title=title, text=text):
            x["type"] = "result"
            x["title"] = xml_safe(title)
            x.add_field(
                var=ANSWER_VAR,
                ftype="text-multi",
                label=xml_safe(title),
                value=cut_to_fit(xml_safe(text), ANSWER_ROOM, texts.ELLIPSIS).split("\n"),
            )
        case _:
            assert_never(form)
    part: StanzaPart = x
    return part


def submitted_values(payload: StanzaPart | Iterable[StanzaPart] | None) -> dict[str, str] | None:
    """The values of the submitted form (type ``submit``) among ``payload`` (what
    slixmpp's ad-hoc plugin hands over: one stanza, a list, or nothing); None when there
    is none. A field with several values gives them one per line."""
    if payload is None:
        return None
    parts = [payload] if isinstance(payload, StanzaPart) else list(payload)
    for part in parts:
        element = part.xml
        if element.tag == f"{{{DATA_FORMS_NS}}}x" and element.get("type") == "submit":
            return _values(element)
    return None


def _values(form: ET.Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for field in form.findall(f"{{{DATA_FORMS_NS}}}field"):
        var = field.get("var")
        if var:
            texts = [v.text or "" for v in field.findall(f"{{{DATA_FORMS_NS}}}value")]
            values[var] = "\n".join(texts)
    return values
