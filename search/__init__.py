"""One Chinese-aware search over every record (later issue)."""
