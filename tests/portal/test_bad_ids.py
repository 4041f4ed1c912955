"""The server errors the walk in test_no_server_errors.py found, one by one:
the scoped admin's history and usage pages, the audit log's inspect page, and
ids no record can have (0, a number too big for an integer column, text)."""

import pytest

from portal.audit import audit_record
from portal.models import AuditEntry

HUGE = "99999999999999999999"


@pytest.mark.parametrize("view", ["history", "usage"])
def test_history_and_usage_of_a_record_follow_its_scope(client, users, members, view):
    client.force_login(users.secretary)
    own = client.get(f"/admin/members/{view}/{members.a_private.pk}/")
    assert own.status_code == 200
    assert members.a_private.name in own.content.decode()
    # Wagtail turns a refusal into a redirect to the admin's home with a message.
    other = client.get(f"/admin/members/{view}/{members.b_private.pk}/")
    assert other.status_code in (302, 403)
    assert members.b_private.name not in other.content.decode()


def test_the_audit_logs_inspect_page_shows_the_field_read(client, users, members):
    entry = audit_record(
        actor=users.secretary,
        action=AuditEntry.Action.REVEAL,
        obj=members.a_private,
        field="id_number",
    )
    client.force_login(users.district)
    response = client.get(f"/admin/audit/inspect/{entry.pk}/")
    assert response.status_code == 200
    assert "身份证号" in response.content.decode()  # the field's label, not its code
    assert AuditEntry.objects.get(pk=entry.pk).field_name == "id_number"


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/receipts/{HUGE}/",
        "/admin/receipts/0/",
        f"/admin/members/edit/{HUGE}/",
        f"/admin/pages/{HUGE}/edit/",
        "/admin/household_chooser/chosen/abc/",
        "/admin/documents/chooser/chosen/abc/",
        f"/requests/{HUGE}/",
        f"/alliance/meetings/{HUGE}/",
    ],
)
def test_an_id_no_record_can_have_is_not_found(client, users, url):
    client.force_login(users.district)
    client.raise_request_exception = False
    assert client.get(url).status_code == 404


def test_revision_zero_is_not_found(client, users, tree):
    client.force_login(users.district)
    client.raise_request_exception = False
    response = client.get(f"/admin/pages/{tree.branch_a.pk}/revisions/0/revert/")
    assert response.status_code == 404
