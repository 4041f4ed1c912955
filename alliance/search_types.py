"""Searchable partner units, the three lists, joint meetings, minutes and
action items. A partner unit's profile and the resources it offers are public
(a withdrawn resource is no one's to find); needs and projects belong to their
branch (its secretary and coordinators, the grid workers of its grid, and
whoever raised or owns them); meetings and minutes to the staff of the
alliance (its branch, or for an alliance of several branches its convening
unit) and the convener; action items to the staff of their owner branch (or the
alliance's) and their owner. Invited partners find
their meetings on their meetings page, not in the search."""

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from alliance.models import ActionItem, JointMeeting, Minutes, Need, Partner, Project, Resource
from portal.i18n import choice_in_every_language, in_every_language
from search.registry import SearchType, register

STEP = 4  # treebeard's path step


def _partner_document(partner) -> dict:
    return {
        "title": partner.name,
        "body": " ".join(
            filter(
                None,
                [
                    partner.intro,
                    partner.address,
                    *(b.title for b in partner.branches.all()),
                    *(g.title for g in partner.grids.all()),
                ],
            )
        ),
        "keywords": " ".join(
            [choice_in_every_language(partner, "kind"), in_every_language(_("partner unit"))]
        ),
        "url": reverse("alliance_partner", args=[partner.pk]),
        "date": partner.created_at,
        "status": "live",
        "public": True,
    }


def _resource_document(resource) -> dict:
    return {
        "title": resource.title,
        "body": " ".join(filter(None, [resource.description, resource.partner.name])),
        "keywords": " ".join(
            filter(
                None,
                [
                    choice_in_every_language(resource, "kind"),
                    resource.unit,
                    in_every_language(_("resource")),
                ],
            )
        ),
        "url": reverse("alliance_partner", args=[resource.partner_id]) + f"#resource-{resource.pk}",
        "date": resource.created_at,
        "status": resource.status,
        "public": resource.status != Resource.Status.WITHDRAWN,
    }


def _need_scope(need) -> dict:
    return {
        "grid_path": need.grid.path if need.grid_id else need.branch.path[:-STEP],
        "unit_path": need.branch.path,
    }


def _need_document(need) -> dict:
    return {
        "title": need.title,
        "body": " ".join(
            filter(
                None,
                [need.description, need.branch.title, need.grid.title if need.grid_id else ""],
            )
        ),
        "keywords": " ".join(
            [choice_in_every_language(need, "kind"), in_every_language(_("need"))]
        ),
        "url": reverse("alliance_need", args=[need.pk]),
        "date": need.created_at,
        "status": need.status,
        **_need_scope(need),
        "owner_id": need.raised_by_id,
    }


def _project_document(project) -> dict:
    resources = list(project.resources.all())
    return {
        "title": project.title,
        "body": " ".join(
            filter(
                None,
                [
                    project.need.title,
                    project.need.branch.title,
                    *(r.title for r in resources),
                    *sorted({r.partner.name for r in resources}),
                ],
            )
        ),
        "keywords": str(_("project")),
        "url": reverse("alliance_project", args=[project.pk]),
        "date": project.created_at,
        "status": project.status,
        **_need_scope(project.need),
        "owner_id": project.owner_id,
    }


register(
    SearchType(
        name="partner",
        label=_("Partner units"),
        model=Partner,
        queryset=lambda: Partner.objects.prefetch_related("branches", "grids"),
        document=_partner_document,
        in_units=lambda ids: Partner.objects.filter(
            Q(branches__in=ids) | Q(grids__in=ids)
        ).distinct(),
    )
)
register(
    SearchType(
        name="resource",
        label=_("Resources"),
        model=Resource,
        queryset=lambda: Resource.objects.select_related("partner"),
        document=_resource_document,
    )
)
register(
    SearchType(
        name="need",
        label=_("Needs"),
        model=Need,
        queryset=lambda: Need.objects.select_related("branch", "grid"),
        document=_need_document,
        in_units=lambda ids: Need.objects.filter(Q(branch_id__in=ids) | Q(grid_id__in=ids)),
        grid_workers=True,
    )
)
register(
    SearchType(
        name="project",
        label=_("Projects"),
        model=Project,
        queryset=lambda: Project.objects.select_related(
            "need__branch", "need__grid"
        ).prefetch_related("resources__partner"),
        document=_project_document,
        in_units=lambda ids: Project.objects.filter(
            Q(need__branch_id__in=ids) | Q(need__grid_id__in=ids)
        ),
    )
)


def _alliance_scope(alliance) -> dict:
    """An alliance of one branch belongs to that branch (its secretary and the
    coordinators above); a wider one to its convening unit."""
    branches = list(alliance.branches.all())
    path = branches[0].path if len(branches) == 1 else alliance.unit.path
    return {"unit_path": path, "grid_path": path}


def _meeting_document(meeting) -> dict:
    agenda = [item.title for item in meeting.agenda.all() if item.status != "declined"]
    return {
        "title": meeting.title,
        "body": " ".join([meeting.place, meeting.alliance.name, *agenda]),
        "keywords": str(_("joint meeting")),
        "url": reverse("meeting_detail", args=[meeting.pk]),
        "date": meeting.starts_at,
        "status": meeting.status,
        **_alliance_scope(meeting.alliance),
        "owner_id": meeting.convener_id,
    }


def _minutes_document(minutes) -> dict:
    meeting = minutes.meeting
    entries = [
        text for entry in minutes.entries.all() for text in (entry.discussion, entry.resolutions)
    ]
    return {
        "title": _("Minutes: %(title)s") % {"title": meeting.title},
        "body": " ".join(filter(None, [minutes.summary, *entries])),
        "keywords": str(_("minutes")),
        "url": reverse("alliance_minutes", args=[meeting.pk]),
        "date": meeting.starts_at,
        "status": minutes.state,
        **_alliance_scope(meeting.alliance),
        "owner_id": meeting.convener_id,
    }


def _action_document(action) -> dict:
    owner_unit = action.owner_partner.name if action.owner_partner_id else action.owner_branch.title
    scope = (
        {"unit_path": action.owner_branch.path, "grid_path": action.owner_branch.path}
        if action.owner_branch_id
        else _alliance_scope(action.meeting.alliance)
    )
    return {
        "title": action.title,
        "body": " ".join(filter(None, [action.expected_result, owner_unit, action.meeting.title])),
        "keywords": str(_("action item")),
        "url": reverse("alliance_action", args=[action.pk]),
        "date": action.meeting.starts_at,
        "status": action.status,
        **scope,
        "owner_id": action.owner_id,
    }


register(
    SearchType(
        name="meeting_joint",
        label=_("Joint meetings"),
        model=JointMeeting,
        queryset=lambda: JointMeeting.objects.select_related("alliance__unit").prefetch_related(
            "agenda", "alliance__branches"
        ),
        document=_meeting_document,
    )
)
register(
    SearchType(
        name="minutes",
        label=_("Minutes"),
        model=Minutes,
        queryset=lambda: Minutes.objects.select_related("meeting__alliance__unit").prefetch_related(
            "entries"
        ),
        document=_minutes_document,
    )
)
register(
    SearchType(
        name="action",
        label=_("Action items"),
        model=ActionItem,
        queryset=lambda: ActionItem.objects.select_related(
            "owner_partner", "owner_branch", "meeting__alliance__unit"
        ).prefetch_related("meeting__alliance__branches"),
        document=_action_document,
    )
)
