"""odekake: the core of Iwaki's mobile city hall (お出かけ市役所).

Domain rules, SQLite storage, the append-only record log, sync, reports and the
``odekake`` command. Nothing in this package imports ``textual``.
"""

from __future__ import annotations

__version__ = "0.1.0"
