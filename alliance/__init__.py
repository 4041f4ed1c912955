"""Co-building alliance: partners, lists, joint meetings and minutes (later issues)."""
