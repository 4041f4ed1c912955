"""The minutes of a joint meeting (联席会议纪要) (models: alliance/models/minutes.py).

- ``permissions``: who may do what in which state, who reads them, and to
  whom their action items may be given;
- ``services``: drafting and the approval workflow (start, save, circulate,
  comment, revise, approve, publish);
- ``versions``: the snapshot every save stores, and the verification token of
  a printed copy;
- ``pdf``: the minutes in the official layout;
- ``editor``, ``views``, ``urls``: the pages."""
