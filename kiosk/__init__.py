"""kiosk: the operators' Textual app on the van (screens and widgets only)."""
