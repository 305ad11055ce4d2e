"""One module per page family of the console."""
