"""Action items (督办事项) once their minutes are published, followed up to the
end (models: alliance/models/minutes.py).

- ``selectors``: live and overdue items, who answers for one;
- ``services``: progress (and closing), turning an item into a service
  request or a need with a project;
- ``reminders``: the daily reminder of overdue items (scheduled work);
- ``board``: the follow-up board (督办台账);
- ``forms``, ``views``, ``urls``: the pages."""
