"""Access and audit: PIN and password hashing, staff accounts and sessions, roles and permissions, clerks' signing keys, the audit log and its search."""
