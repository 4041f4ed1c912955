"""Duties and their shifts: series, sign-up and the waitlist, check-in and
corrections, and the pages and admin that run them (models:
volunteers/models/duties.py and checkins.py)."""
