"""The schema: one ``sqlite_utils.Migrations`` set for van and hub databases alike.

Append new migrations at the end of :mod:`odekake.storage.schema_changes`; never edit one
that has shipped. Each runs in its own transaction together with the record that it was
applied.
"""

from __future__ import annotations

# Importing the steps registers them, in this order: the base schema, then its changes.
from odekake.storage import schema_base, schema_changes
from odekake.storage.migration_set import migrations, run_script

__all__ = ["migrations", "run_script", "schema_base", "schema_changes"]
