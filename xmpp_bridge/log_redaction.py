"""Card numbers and IBANs out of slixmpp's own log lines.

At DEBUG slixmpp logs every stanza it sends and receives whole (``RECV: <message …>``),
so an agent who types a visitor's card number into their client would put it in the
engine's log, though the message itself is redacted before it is stored. A filter on
slixmpp's loggers masks cards and IBANs in those records as a message is masked (the
default redaction, whatever a tenant chose: the log is the operator's, not the
tenant's). It only runs for records that are made, i.e. when DEBUG is on.
"""

from __future__ import annotations

import logging
from typing import Final

from business.redaction import RedactionSettings, Redactor

_MASK: Final = Redactor(RedactionSettings())
_ROOT: Final = "slixmpp"


class MaskPayments(logging.Filter):
    """Rewrites a record whose formatted message shows a card number or an IBAN."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _MASK.redact(message).text
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_payments_in_slixmpp_logs() -> None:
    """Install the filter on every slixmpp logger (a logger's filters see only its own
    records, not its children's); idempotent."""
    manager = logging.Logger.manager
    names = [n for n in manager.loggerDict if n == _ROOT or n.startswith(_ROOT + ".")]
    for name in {_ROOT, *names}:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskPayments) for f in logger.filters):
            logger.addFilter(MaskPayments())
