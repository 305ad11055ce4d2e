"""The hub's own operations: backups, retention purge, health, the fleet overview, the hub's mounted apps."""
