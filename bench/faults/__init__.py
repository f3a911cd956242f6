"""Proof under faults: each scenario drives the real engine, Prosody and visitors through
one fault and counts what was lost, stored twice and re-sent.

``python -m bench.faults`` runs every scenario at full scale and prints the table;
``python -m bench.faults --small`` runs them at the scale ``make test`` uses (the tests
under ``tests/faults/`` call the same scenarios at that scale and assert on their rows).
"""
