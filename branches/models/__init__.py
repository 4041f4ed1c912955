"""The branches app's models: the organisation tree's pages (``tree``), its
private records (``people``) and branch meetings, 三会一课 (``meetings``)."""

from branches.models.meetings import (
    REQUIRED_EVERY,
    Attendance,
    Meeting,
    MeetingKind,
    MeetingPhoto,
    MeetingReminder,
    MeetingSeries,
)
from branches.models.people import (
    Building,
    CareTag,
    CentralHousehold,
    Gender,
    Household,
    HouseholdVisit,
    Member,
    PartyPost,
    Resident,
)
from branches.models.tree import (
    PUBLICATIONS,
    BuildingGroupPage,
    DistrictPage,
    GridBranchPage,
    GridPage,
    OrgPage,
)

__all__ = [
    "PUBLICATIONS",
    "REQUIRED_EVERY",
    "Attendance",
    "Building",
    "BuildingGroupPage",
    "CareTag",
    "CentralHousehold",
    "DistrictPage",
    "Gender",
    "GridBranchPage",
    "GridPage",
    "Household",
    "HouseholdVisit",
    "Meeting",
    "MeetingKind",
    "MeetingPhoto",
    "MeetingReminder",
    "MeetingSeries",
    "Member",
    "OrgPage",
    "PartyPost",
    "Resident",
]
