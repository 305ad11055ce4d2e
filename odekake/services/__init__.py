"""The kiosk's business rules, one module per service (no UI imports here).

Each service validates a whole form first and raises
:class:`odekake.errors.FormErrors` (``{field: message}``) before anything is
written; only a valid form becomes one record through :func:`odekake.storage.records.append`.
"""
