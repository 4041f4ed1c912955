"""The audit log reads like a sentence: the record type's name (党员, not
``branches.Member``), the field's label (身份证号, not ``id_number``), the
operator's name, and what an import brought in."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.member_import import MEMBERS
from portal.models import AuditEntry
from tests.branches.test_import import MEMBER_HEADERS, member_row, run, to_csv
from tests.factories import make_member


def _listing(client, users):
    client.force_login(users.district)
    response = client.get("/admin/audit/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_reveal_reads_with_type_field_and_operator_names(client, users, tree):
    users.secretary.last_name, users.secretary.first_name = "邓", "娜倩"
    users.secretary.save()
    member = make_member(branch=tree.branch_a, name="陈静")
    client.force_login(users.secretary)
    client.post(f"/admin/private/member/{member.pk}/", {"field": "id_number"})
    assert AuditEntry.objects.filter(action="reveal", actor=users.secretary).exists()

    page = _listing(client, users)
    assert "邓娜倩" in page and "branches.Member" not in page and ">id_number<" not in page
    assert "党员" in page and "身份证号" in page

    entry = AuditEntry.objects.get(action="reveal", actor=users.secretary)
    inspect = client.get(f"/admin/audit/inspect/{entry.pk}/").content.decode()
    assert "邓娜倩" in inspect and "身份证号" in inspect and "branches.Member" not in inspect


def test_an_import_row_names_what_was_imported(client, users, tree):
    result = run(
        MEMBERS,
        users.district,
        to_csv([member_row(所属支部=tree.branch_a.title, 所属党小组="")], MEMBER_HEADERS),
        filename="三月新党员.csv",
    )
    assert result.ok, result.errors
    entry = AuditEntry.objects.get(action="import")
    assert entry.record_type == "党员" or entry.record_type == "party member"
    page = _listing(client, users)
    assert "三月新党员.csv" in page
    assert "1 条记录，来自 三月新党员.csv" in page or "1 record from 三月新党员.csv" in page


def test_the_listing_query_count_does_not_grow_with_operators(client, users, tree):
    def count():
        with CaptureQueriesContext(connection) as queries:
            _listing(client, users)
        return len(queries)

    AuditEntry.objects.create(actor=users.secretary, actor_name="secretary", action="export")
    count()  # warm up (site and permission caches)
    few = count()
    for n in range(5):
        member = make_member(branch=tree.branch_a, name=f"成员{n}")
        AuditEntry.objects.create(
            actor=users.coordinator,
            actor_name="coordinator",
            action="reveal",
            object_type="branches.Member",
            object_id=str(member.pk),
            field_name="phone",
        )
    assert count() == few
