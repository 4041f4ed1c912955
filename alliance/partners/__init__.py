"""Partner units (共建单位) and their agreements (models:
alliance/models/partners.py).

- ``selectors``: who sees which units, and who counts as a unit's insider;
- ``services``: a contact's own unit: its profile and the resources it offers;
- ``admin``: units, alliances and agreements in the Wagtail admin;
- ``forms``, ``views``, ``urls``: the pages."""
