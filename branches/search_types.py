"""Searchable records of the organisation: public unit pages and, for the roles
that may see them, members, households and residents (private values masked;
ID numbers and phones findable only by their keyed hash)."""

from django.db.models import Q
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from branches.models import (
    Building,
    BuildingGroupPage,
    CentralHousehold,
    DistrictPage,
    GridBranchPage,
    GridPage,
    Household,
    Meeting,
    Member,
    Resident,
)
from portal.i18n import choice_in_every_language, in_other_languages, in_site_language
from search.registry import SearchType, register
from search.text import name_tokens

UNIT_TYPES = (DistrictPage, GridPage, GridBranchPage, BuildingGroupPage)


def private_scope(branch, group_id) -> dict:
    """Who may see a private record: its branch's coordinators and secretary,
    and the leader of its building group."""
    return {"grid_path": branch.path, "unit_path": branch.path, "group_id": group_id}


def _unit_document(page) -> dict:
    # The unit's kind: in Chinese among the keywords (网格, 党支部 weigh as before),
    # in English in the body ("party branch", "dedicated grid market" find it).
    if isinstance(page, GridPage):
        field = GridPage._meta.get_field
        labels = [
            dict(field("level").flatchoices).get(page.level),
            dict(field("dedicated_kind").flatchoices).get(page.dedicated_kind),
        ]
    else:
        labels = [page._meta.verbose_name]
    return {
        "title": page.title,
        "body": " ".join(
            filter(
                None,
                [
                    strip_tags(page.intro),
                    page.area,
                    page.contact_hours,
                    page.intro_en,
                    *(in_other_languages(label) for label in labels),
                ],
            )
        ),
        "keywords": " ".join(
            filter(
                None,
                [
                    *(in_site_language(label) for label in labels),
                    # The grid's code (0101-Z01): what staff type to find a grid.
                    getattr(page, "code", ""),
                    page.leader_public_name,
                    page.title_en,
                ],
            )
        ),
        "url": page.url or "",
        "date": page.last_published_at or page.latest_revision_created_at,
        "status": "live",
        "grid_path": page.path,
        "public": True,
    }


register(
    SearchType(
        name="unit",
        label=_("Organisation units"),
        model=Page,
        queryset=lambda: Page.objects.live().public().type(*UNIT_TYPES).specific(),
        document=_unit_document,
    )
)


def _member_document(member) -> dict:
    posts = member.party_posts_display
    return {
        "title": member.name,
        "body": " ".join(
            filter(
                None,
                [
                    member.branch.title,
                    member.building_group.title if member.building_group_id else "",
                    member.employer,
                    member.id_number_masked,
                    member.phone_masked,
                ],
            )
        ),
        "keywords": " ".join(
            filter(
                None,
                [
                    *name_tokens(member.name),
                    posts,
                    member.badge_title,
                    str(member.get_status_display()),
                    str(_("employed elsewhere (在职党员)")) if member.employed_elsewhere else "",
                ],
            )
        ),
        "url": reverse("members:edit", args=[member.pk]),
        "status": member.status,
        **private_scope(member.branch, member.building_group_id),
        "owner_id": member.user_id,
        "hashes": [member.id_number_hash, member.phone_hash],
    }


register(
    SearchType(
        name="member",
        label=_("Party members"),
        model=Member,
        queryset=lambda: Member.objects.select_related("branch", "building_group"),
        document=_member_document,
        owner_url_name="me",
        in_units=lambda ids: Member.objects.filter(
            Q(branch_id__in=ids) | Q(building_group_id__in=ids)
        ),
    )
)


def _household_document(household) -> dict:
    building = household.building
    return {
        "title": f"{building.estate}{building.name}{household.room} · {household.head_name}",
        "body": " ".join(filter(None, [household.address_masked, household.phone_masked])),
        "keywords": " ".join(
            [*name_tokens(household.head_name), *(t.name for t in household.care_tags.all())]
        ),
        "url": reverse("households:edit", args=[household.pk]),
        **private_scope(building.branch, building.building_group_id),
        "hashes": [household.phone_hash],
    }


register(
    SearchType(
        name="household",
        label=_("Households"),
        model=Household,
        queryset=lambda: Household.objects.select_related("building__branch").prefetch_related(
            "care_tags"
        ),
        document=_household_document,
        in_units=lambda ids: Household.objects.filter(
            Q(building__branch_id__in=ids) | Q(building__building_group_id__in=ids)
        ),
    )
)


def _resident_document(resident) -> dict:
    building = resident.household.building
    return {
        "title": resident.name,
        "body": " ".join(
            filter(
                None,
                [
                    f"{building.estate}{building.name}{resident.household.room}",
                    resident.relation,
                    resident.id_number_masked,
                    resident.phone_masked,
                ],
            )
        ),
        "keywords": " ".join(name_tokens(resident.name)),
        "url": reverse("residents:edit", args=[resident.pk]),
        **private_scope(building.branch, building.building_group_id),
        "hashes": [resident.id_number_hash, resident.phone_hash],
    }


register(
    SearchType(
        name="resident",
        label=_("Residents"),
        model=Resident,
        queryset=lambda: Resident.objects.select_related("household__building__branch"),
        document=_resident_document,
        in_units=lambda ids: Resident.objects.filter(
            Q(household__building__branch_id__in=ids)
            | Q(household__building__building_group_id__in=ids)
        ),
    )
)


def _building_document(building) -> dict:
    return {
        "title": f"{building.estate}{building.name}",
        "body": " ".join(
            filter(
                None,
                [
                    building.branch.title,
                    building.building_group.title if building.building_group_id else "",
                ],
            )
        ),
        "url": reverse("buildings:edit", args=[building.pk]),
        **private_scope(building.branch, building.building_group_id),
    }


register(
    SearchType(
        name="building",
        label=_("Buildings"),
        model=Building,
        queryset=lambda: Building.objects.select_related("branch", "building_group"),
        document=_building_document,
        in_units=lambda ids: Building.objects.filter(
            Q(branch_id__in=ids) | Q(building_group_id__in=ids)
        ),
    )
)


def _central_household_document(central) -> dict:
    member, building = central.member, central.household.building
    return {
        "title": f"{member.name} · {CentralHousehold._meta.verbose_name}",
        "body": " ".join(filter(None, [f"{building.estate}{building.name}", member.branch.title])),
        "keywords": " ".join(name_tokens(member.name)),
        "url": reverse("central_households:edit", args=[central.pk]),
        **private_scope(member.branch, member.building_group_id),
        "owner_id": member.user_id,
    }


register(
    SearchType(
        name="central_household",
        label=_("Central households"),
        model=CentralHousehold,
        queryset=lambda: CentralHousehold.objects.select_related(
            "member__branch", "household__building"
        ),
        document=_central_household_document,
        in_units=lambda ids: CentralHousehold.objects.filter(
            Q(member__branch_id__in=ids) | Q(member__building_group_id__in=ids)
        ),
    )
)


def _meeting_document(meeting) -> dict:
    return {
        "title": meeting.title,
        "body": " ".join(
            filter(
                None,
                [
                    meeting.agenda,
                    meeting.minutes,
                    meeting.place,
                    meeting.branch.title,
                    meeting.group.title if meeting.group_id else "",
                ],
            )
        ),
        "keywords": choice_in_every_language(meeting, "kind"),
        "url": reverse("meetings:edit", args=[meeting.pk]),
        "date": meeting.starts_at,
        "status": meeting.status,
        # Minutes are internal even for a meeting shown on the public calendar.
        **private_scope(meeting.branch, meeting.group_id),
    }


register(
    SearchType(
        name="meeting",
        label=_("Branch meetings"),
        model=Meeting,
        queryset=lambda: Meeting.objects.select_related("branch", "group"),
        document=_meeting_document,
        in_units=lambda ids: Meeting.objects.filter(Q(branch_id__in=ids) | Q(group_id__in=ids)),
    )
)
