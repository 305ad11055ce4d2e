"""Sub-command groups of the ``odekake`` command, one module per area.

Each module exposes click commands/groups; ``odekake.cli`` registers them.
"""
