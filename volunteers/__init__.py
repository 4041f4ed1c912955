"""Duties, shifts, check-ins, credit ledgers and dispatch (built in later issues)."""
