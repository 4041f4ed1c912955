"""Evidence, agenda attachments and signed agreements are private files:
served only through their record's view, to those who may see the record
(issue 12, "private files are public")."""

import datetime as dt

import pytest
from django.utils import timezone

from alliance.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Agreement,
    Partner,
    PartnerContact,
)
from portal.models import Role
from portal.services import role_assign
from tests.alliance.test_meetings import alliance, convene  # noqa: F401 (fixture)
from tests.alliance.test_minutes import _published, al  # noqa: F401 (fixture)
from tests.factories import make_user
from tests.uploads_support import assert_private, attach, html, pdf


@pytest.fixture
def outsider(db):
    """The contact of a unit that is in no alliance and co-builds with nobody."""
    user = make_user("grocer")
    role_assign(user=user, role=Role.PARTNER_CONTACT)
    unit = Partner.objects.create(name="街角杂货店", kind=Partner.Kind.ENTERPRISE)
    PartnerContact.objects.create(partner=unit, user=user, name="吴老板")
    return user


def test_evidence_only_for_those_who_see_the_action_item(client, al, users, outsider):  # noqa: F811
    _published(al, users)
    action = ActionItem.objects.get()
    client.force_login(users.partner)
    response = client.post(
        f"/alliance/actions/{action.pk}/", {"note": "已签停车协议", "evidence": pdf()}
    )
    assert response.status_code == 302
    progress = ActionProgress.objects.get()
    assert_private(
        client,
        progress.evidence,
        view_url=f"/alliance/actions/progress/{progress.pk}/evidence/",
        allowed=[users.partner, users.secretary, al.doctor],  # owner unit, staff, invited
        denied=[users.secretary_b, outsider],
    )


def test_html_evidence_is_refused_and_nothing_is_saved(client, al, users):  # noqa: F811
    _published(al, users)
    action = ActionItem.objects.get()
    client.force_login(users.partner)
    response = client.post(
        f"/alliance/actions/{action.pk}/", {"note": "见附件", "evidence": html()}
    )
    assert response.status_code == 400
    assert "其他类型（如网页、脚本、SVG）不能上传" in response.content.decode()
    assert not ActionProgress.objects.exists()


def test_agenda_attachment_only_for_those_who_see_the_item(
    client,
    alliance,  # noqa: F811
    users,
    outsider,
):
    meeting = convene(alliance, users.secretary)
    client.force_login(users.partner)
    client.post(
        f"/alliance/meetings/{meeting.pk}/propose/",
        {"title": "开放学校操场", "minutes_allotted": "20", "attachment": pdf("方案.pdf")},
    )
    item = AgendaItem.objects.get(meeting=meeting)
    assert_private(
        client,
        item.attachment,
        view_url=f"/alliance/meetings/{meeting.pk}/agenda/{item.pk}/attachment/",
        allowed=[users.partner, users.secretary],
        denied=[users.secretary_b, outsider, alliance.shop_user],
    )


def test_signed_agreement_only_for_the_units_insiders(client, tree, users, outsider):
    school = Partner.objects.create(name="幸福里小学", kind=Partner.Kind.SCHOOL)
    PartnerContact.objects.create(partner=school, user=users.partner, name="孙老师")
    school.branches.add(tree.branch_a)
    school.save()  # a ParentalManyToManyField is written on save
    today = timezone.localdate()
    agreement = Agreement.objects.create(
        partner=school, title="共建协议", starts_on=today, ends_on=today + dt.timedelta(days=365),
        commitments="开放操场",
    )  # fmt: skip
    attach(agreement, "signed_file", pdf())
    page = client.get(f"/alliance/partners/{school.pk}/")
    assert "/documents/" not in page.content.decode()
    assert_private(
        client,
        agreement.signed_file,
        view_url=f"/alliance/agreements/{agreement.pk}/signed/",
        allowed=[users.partner, users.secretary, users.district],
        denied=[users.secretary_b, outsider, users.member],
    )
