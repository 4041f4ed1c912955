"""The co-building alliance's models: partners and agreements, the three
lists, and joint meetings with their minutes and action items."""

from alliance.models.alliances import Alliance
from alliance.models.lists import Kind, Milestone, Need, Project, Resource
from alliance.models.meetings import AgendaItem, Invitation, JointMeeting
from alliance.models.minutes import (
    ActionItem,
    ActionProgress,
    Minutes,
    MinutesComment,
    MinutesEntry,
    MinutesVersion,
)
from alliance.models.partners import Agreement, Partner, PartnerContact

__all__ = [
    "ActionItem",
    "ActionProgress",
    "AgendaItem",
    "Agreement",
    "Alliance",
    "Invitation",
    "JointMeeting",
    "Kind",
    "Milestone",
    "Minutes",
    "MinutesComment",
    "MinutesEntry",
    "MinutesVersion",
    "Need",
    "Partner",
    "PartnerContact",
    "Project",
    "Resource",
]
