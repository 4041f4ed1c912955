"""The three lists (三张清单): needs, resources and projects (models:
alliance/models/lists.py).

- ``selectors``: who sees and may do what, and the resources suggested for a need;
- ``services``: raising needs, confirming matches, running projects;
- ``forms``, ``views``, ``urls``: the pages."""
