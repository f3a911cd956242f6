"""Data forms for ad-hoc commands: the bridge's form values in, the exact ``<x/>`` out;
a submitted form's XML in, its values out."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from slixmpp.plugins.xep_0004.stanza import Form as XForm
from slixmpp.plugins.xep_0050.stanza import Command

from xmpp_bridge import texts
from xmpp_bridge.converters import StanzaPart, form_to_stanza, submitted_values
from xmpp_bridge.converters._forms import ANSWER_ROOM
from xmpp_bridge.data_forms import FormField, FormResult, FormToFill

X = "jabber:x:data"


def canonical(xml: str) -> str:
    element = ET.fromstring(xml)
    for node in element.iter():
        if node.tail is not None and not node.tail.strip():
            node.tail = None
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
    return ET.canonicalize(ET.tostring(element, encoding="unicode"))


def xml_of(form: FormToFill | FormResult) -> str:
    return canonical(ET.tostring(form_to_stanza(form).xml, encoding="unicode"))


def x(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def Wrapped(xml: str) -> StanzaPart:  # noqa: N802 - reads like the stanza class it makes
    """A stanza as slixmpp's plugin hands it over."""
    element = ET.fromstring(xml)
    if element.tag == f"{{{X}}}x":
        stanza: StanzaPart = XForm(xml=element)  # type: ignore[no-untyped-call]
    else:
        stanza = Command(xml=element)
    return stanza


def test_a_form_to_fill_has_its_fields_with_their_current_values() -> None:
    form = FormToFill(
        title="How many chats I take",
        instructions="Fill in the form.",
        fields=(FormField(var="max_chats", label="Chats at a time", value="3"),),
    )

    assert xml_of(form) == canonical(
        f"""<x xmlns="{X}" type="form">
              <title>How many chats I take</title>
              <instructions>Fill in the form.</instructions>
              <field var="max_chats" type="text-single" label="Chats at a time">
                <value>3</value><required/>
              </field>
            </x>"""
    )


def test_a_result_carries_the_answer_one_line_per_value() -> None:
    form = FormResult(title="Queues", text="support: 1 waiting\nsales: 0 waiting")

    assert xml_of(form) == canonical(
        f"""<x xmlns="{X}" type="result">
              <title>Queues</title>
              <field var="answer" type="text-multi" label="Queues">
                <value>support: 1 waiting</value><value>sales: 0 waiting</value>
              </field>
            </x>"""
    )


def test_text_xml_cannot_carry_is_replaced_and_a_huge_answer_is_cut() -> None:
    bad = xml_of(FormResult(title="Chats", text="Vera\x00"))
    assert "Vera\ufffd" in bad
    assert "\x00" not in bad

    element = form_to_stanza(FormResult(title="Chats", text="a line\n" * 20_000)).xml
    values = [v.text or "" for v in element.iter(f"{{{X}}}value")]
    assert sum(len(v) + 1 for v in values) <= ANSWER_ROOM
    assert values[-1].endswith(texts.ELLIPSIS)


def test_the_values_of_a_submitted_form_are_read_as_text() -> None:
    submitted = Wrapped(
        f"""<x xmlns="{X}" type="submit">
              <field var="max_chats"><value>5</value></field>
              <field var="note"><value>one</value><value>two</value></field>
              <field var="empty"/>
            </x>"""
    )

    assert submitted_values(submitted) == {"max_chats": "5", "note": "one\ntwo", "empty": ""}
    assert submitted_values([submitted]) == {"max_chats": "5", "note": "one\ntwo", "empty": ""}


def test_only_a_submitted_form_counts() -> None:
    form = Wrapped(
        f'<x xmlns="{X}" type="form"><field var="max_chats"><value>3</value></field></x>'
    )
    other = Wrapped('<command xmlns="http://jabber.org/protocol/commands" node="max"/>')

    assert submitted_values(None) is None
    assert submitted_values([]) is None
    assert submitted_values([form, other]) is None
