"""Test data with a fixed seed: a small organisation tree, members and households."""

import datetime as dt
import random
from datetime import date
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.utils import timezone
from wagtail.models import Page, Site

from branches.models import (
    Building,
    BuildingGroupPage,
    DistrictPage,
    GridBranchPage,
    GridPage,
    Household,
    Member,
)
from portal.validators import id_check_digit
from volunteers.models import Duty, Shift

_rng = random.Random(20261125)


def make_id_number(birth: date | None = None) -> str:
    birth = birth or date(1960 + _rng.randrange(40), 1 + _rng.randrange(12), 1 + _rng.randrange(28))
    first17 = f"110101{birth:%Y%m%d}{_rng.randrange(1000):03d}"
    return first17 + id_check_digit(first17)


def make_phone() -> str:
    return f"13{_rng.randrange(10)}{_rng.randrange(10**8):08d}"


def add_page(parent, page):
    parent.add_child(instance=page)
    return page


def build_tree():
    """District → L1 → L2 → two L3 grids, each with a branch and a building group."""
    root = Page.get_first_root_node()
    district = add_page(
        root, DistrictPage(title="示范区", slug="district", title_en="Demo District")
    )
    site = Site.objects.get(is_default_site=True)
    site.root_page = district
    site.save()
    Page.objects.filter(depth=2).exclude(pk=district.pk).delete()
    grid1 = add_page(district, GridPage(title="东城一级网格", slug="g1", level="1"))
    grid2 = add_page(grid1, GridPage(title="和平二级网格", slug="g2", level="2"))
    grid3a = add_page(grid2, GridPage(title="幸福里三级网格", slug="g3a", level="3"))
    grid3b = add_page(grid2, GridPage(title="光明路三级网格", slug="g3b", level="3"))
    other_l1 = add_page(district, GridPage(title="西城一级网格", slug="g1b", level="1"))
    branch_a = add_page(
        grid3a,
        GridBranchPage(title="幸福里网格党支部", slug="branch-a", leader_public_name="王书记"),
    )
    branch_b = add_page(grid3b, GridBranchPage(title="光明路网格党支部", slug="branch-b"))
    group_a = add_page(branch_a, BuildingGroupPage(title="幸福里3号楼党小组", slug="group-a"))
    group_b = add_page(branch_b, BuildingGroupPage(title="光明路8号楼党小组", slug="group-b"))
    building_a = Building.objects.create(
        branch=branch_a, building_group=group_a, estate="幸福里小区", name="3号楼"
    )
    building_b = Building.objects.create(
        branch=branch_b, building_group=group_b, estate="光明路小区", name="8号楼"
    )
    return SimpleNamespace(
        district=district,
        grid1=grid1,
        grid2=grid2,
        grid3a=grid3a,
        grid3b=grid3b,
        other_l1=other_l1,
        branch_a=branch_a,
        branch_b=branch_b,
        group_a=group_a,
        group_b=group_b,
        building_a=building_a,
        building_b=building_b,
    )


def make_member(*, branch, building_group=None, name="张伟", **kwargs) -> Member:
    kwargs.setdefault("gender", "M")
    kwargs.setdefault("id_number", make_id_number())
    kwargs.setdefault("phone", make_phone())
    return Member.objects.create(name=name, branch=branch, building_group=building_group, **kwargs)


def make_household(*, building, room="1单元101", head_name="李娜", **kwargs) -> Household:
    kwargs.setdefault("address", f"{building.estate}{building.name}{room}")
    kwargs.setdefault("phone", make_phone())
    return Household.objects.create(building=building, room=room, head_name=head_name, **kwargs)


def make_user(username, **kwargs):
    return get_user_model().objects.create_user(
        username=username, password="pw-Test-12345", **kwargs
    )


def activate_totp(user):
    """Give a user a TOTP authenticator so the MFA requirement is met."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    return TOTP.activate(user, generate_totp_secret())


def publish(parent, page, *, at=None):
    """Add a page under ``parent`` and publish it (first_published_at = ``at``)."""
    page.live = False
    parent.add_child(instance=page)
    page.save_revision().publish()
    if at is not None:
        type(page).objects.filter(pk=page.pk).update(first_published_at=at)
    page.refresh_from_db()
    return page


NOW = timezone.now().replace(microsecond=0)


def make_duty(tree, **kwargs):
    fields = {
        "branch": tree.branch_a,
        "kind": Duty.Kind.ACTIVITY,
        "title": "楼道清理",
        "place": "3号楼",
        "eligibility": Duty.Eligibility.VOLUNTEERS,
    }
    fields.update(kwargs)
    return Duty.objects.create(**fields)


def make_shift(duty, *, start_in=dt.timedelta(days=2), hours=2, capacity=2, **kwargs):
    start = NOW + start_in
    return Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=hours), capacity=capacity,
        **kwargs,
    )  # fmt: skip
