"""The garbage collector of a running engine (``[runtime] gc_freeze``, ``gc_threshold``).

Measured under load (``docs/performance-history.md``, "Garbage collection"): with Python's
defaults the collector ran about 60 times a second and took about a tenth of the event
loop's time, most of it walking the same 200,000 objects alive since start-up (the code,
SQLAlchemy's tables, slixmpp's stanza classes) on every older-generation pass. Once the
engine has started, ``gc.freeze`` moves them out of every later pass, and a larger first
threshold lets short-lived cycles pile up longer before a pass (most garbage is freed
at once by reference counting, so the count of new objects a pass waits for mostly
measures what is in flight). At 1,000 visitors (``bench.roundtrip``, PostgreSQL) a
threshold of 10,000 still ran about 7 young passes a second of about 7 ms each and a
middle one every two seconds, 6 % of the event loop; at 50,000 it ran 7 passes in the
whole run (about 15 ms each). Nothing
frozen was garbage, and cycles made later are still collected; what was alive at the
freeze and later becomes an unreachable cycle (a connection replaced on reconnect, say)
is never collected, a leak bounded by what the engine held when it started.

It is process-wide, so only the commands that run an engine as their process's work
(``chat-engine run``, ``chat-engine dev``, the benchmarks' engine and relay) call it;
a test that runs those commands in its own process gets the collector back as it was
(``tests/conftest.py``).
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 50_000


def tune_gc(*, freeze: bool = True, threshold: int = DEFAULT_THRESHOLD) -> None:
    """This process's collector as ``[runtime]`` says (``gc_freeze``, ``gc_threshold``;
    0 keeps Python's own); call once the engine has started."""
    if threshold:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)
    if freeze:
        gc.collect()
        gc.freeze()
    frozen = gc.get_freeze_count()
    logger.debug("garbage collector: thresholds %s, %d objects frozen", gc.get_threshold(), frozen)
