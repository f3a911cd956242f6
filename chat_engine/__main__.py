"""``python -m chat_engine``: the same as the ``chat-engine`` command."""

import sys

from chat_engine.cli import main

sys.exit(main())
