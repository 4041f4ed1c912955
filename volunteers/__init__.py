"""Duties, shifts and sign-ups (check-ins, credit ledgers and dispatch follow)."""
