"""Reads over the organisation tree."""

from django.db.models import QuerySet
from wagtail.models import Page

from branches.models import BuildingGroupPage, GridBranchPage, GridPage, Member

PUBLIC_BADGE_LIMIT = 60
CHILDREN_PAGE_SIZE = 50
LATEST_PUBLICATIONS = 5


def public_badge_members(*, page) -> QuerySet[Member]:
    """Members of this unit who opted in to a public role badge. Only public
    fields are loaded; nothing private leaves the database."""
    qs = Member.objects.filter(public_badge=True)
    if isinstance(page, GridBranchPage):
        qs = qs.filter(branch=page)
    elif isinstance(page, BuildingGroupPage):
        qs = qs.filter(building_group=page)
    else:
        return Member.objects.none()
    return qs.only("id", "name", "badge_title", "party_posts").order_by("name", "id")[
        :PUBLIC_BADGE_LIMIT
    ]


def org_page_public_context(*, page) -> dict:
    """What a public unit page shows besides its own fields: live child units
    (bounded) and opted-in members."""
    children = (
        Page.objects.child_of(page)
        .live()
        .public()
        .type(GridPage, GridBranchPage, BuildingGroupPage)
        .specific()
        .order_by("path")
    )
    from portal.selectors import publications_under

    return {
        "latest_publications": list(publications_under(page)[:LATEST_PUBLICATIONS]),
        "child_units": children[:CHILDREN_PAGE_SIZE],
        "child_unit_count": children.count(),
        "badge_members": list(public_badge_members(page=page)),
    }
