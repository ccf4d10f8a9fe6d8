"""Job handlers. Importing a handler module registers its kinds in workers.context.HANDLERS."""

from __future__ import annotations

import importlib
import importlib.util

HANDLER_MODULES = ("workers.tasks.exports", "workers.tasks.imports")


def load_handlers() -> None:
    """Import every handler module that exists (idempotent)."""
    for name in HANDLER_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


load_handlers()
