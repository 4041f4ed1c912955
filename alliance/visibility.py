"""The alliance's part of the role rules (portal/roles.py): who sees partner
units, needs, projects and joint meetings. The rules live beside their records
(alliance/partners/selectors.py, alliance/lists/selectors.py,
alliance/access.py); registered here, ``visible_to`` and ``can_access`` apply
them like any other record's."""

from alliance.access import joint_meetings_visible_to
from alliance.lists.selectors import needs_visible_to, projects_visible_to
from alliance.partners.selectors import partners_visible_to
from portal.roles import visibility

visibility("alliance.partner")(partners_visible_to)
visibility("alliance.need")(needs_visible_to)
visibility("alliance.project")(projects_visible_to)
visibility("alliance.jointmeeting")(joint_meetings_visible_to)
