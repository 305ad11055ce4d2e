"""Storage: the SQLite database and its migrations, the append-only record log, sealing of personal fields, the canonical serialisation, strict JSON, private files."""
