"""Community registration (双报到): an employed member registers with the
community branch where they live, the secretary decides, and the approved
registration's slip (models: volunteers/models/registration.py)."""
