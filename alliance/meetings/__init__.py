"""Joint meetings (联席会议) of an alliance (models: alliance/models/meetings.py).

- ``rules``: what a meeting allows and when (limits, sign-in and proposal
  windows, who is invited, who may run it), read-only;
- ``services``: convening with invitations, moving and cancelling;
- ``agenda``: items, proposals and their decision, the order, and the
  follow-ups of open action items carried from earlier meetings;
- ``attendance``: answers (attend, deputy, decline), sign-in with the
  convener's rotating code, marking present, the count against the quorum;
- ``calendar``: the meeting as a calendar event and its .ics invitation;
- ``pdf``: the printed agenda with its sign-in sheet;
- ``forms``, ``views``, ``urls``: the pages."""
