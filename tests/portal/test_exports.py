"""Spreadsheet downloads write text as text (OWASP CSV injection): a value a
user typed that a spreadsheet would read as a formula (``= + - @``, tab, CR)
gets a leading apostrophe and, in xlsx, the string type. CSV files carry a
UTF-8 BOM so Excel opens Chinese. The audit log and the roles export every
row and column, private values masked."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from alliance.models import Partner
from branches.models import CentralHousehold, HouseholdVisit
from portal.exports import spreadsheet_text
from portal.masking import mask_address, mask_name
from portal.models import AuditEntry, Role, RoleAssignment
from tests.factories import make_household, make_member
from volunteers.models import CommunityRegistration, ServiceRequest

HYPERLINK = '=HYPERLINK("http://evil","x")'
BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "typed",
    [HYPERLINK, "+1", "-2+3", "@SUM(A1)", "\t=1+2", "\r=1+2", "=1+2小区****"],
)
def test_the_rule_prefixes_what_a_spreadsheet_would_evaluate(typed):
    assert spreadsheet_text(typed) == "'" + typed


@pytest.mark.parametrize("value", ["幸福里小区", "138****5678", "", 42, -5, None, 1.5])
def test_the_rule_leaves_other_values_alone(value):
    assert spreadsheet_text(value) == value


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _xlsx_cells(response):
    """Every cell of the first sheet as (value, data_type)."""
    sheet = load_workbook(io.BytesIO(_content(response))).active
    return [(c.value, c.data_type) for row in sheet.iter_rows() for c in row]


def _csv_cells(response):
    content = _content(response)
    assert content.startswith(BOM), "a CSV download starts with the UTF-8 BOM"
    return [v for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for v in row]


def _assert_xlsx_text(response, typed):
    assert response.status_code == 200
    cells = _xlsx_cells(response)
    assert all(data_type != "f" for _value, data_type in cells), "no cell is a formula"
    assert ("'" + typed, "s") in cells
    assert not any(value == typed for value, _t in cells)


def _assert_csv_text(response, typed):
    assert response.status_code == 200
    cells = _csv_cells(response)
    assert "'" + typed in cells
    assert typed not in cells


# --- Our request export ------------------------------------------------------------------------


def test_request_export_writes_a_typed_micro_wish_as_text(client, tree, users):
    """A grid worker records a micro-wish whose title and address are formulas;
    the district's Excel export holds them as text, the masked address too."""
    client.force_login(users.gridworker)
    start = timezone.localtime() + dt.timedelta(days=1)
    response = client.post(
        "/requests/new/",
        {
            "title": HYPERLINK,
            "category": ServiceRequest.Category.ELDERLY,
            "micro_wish": "on",
            "grid": str(tree.grid3a.pk),
            "address": "=1+2小区3号楼501",
            "requester_name": "@SUM(A1)",
            "window_start": start.strftime("%Y-%m-%dT%H:%M"),
            "window_end": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "urgency": ServiceRequest.Urgency.NORMAL,
            "people_needed": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ServiceRequest.objects.get().title == HYPERLINK

    client.force_login(users.district)
    export = client.get("/admin/volunteering/requests/records/export/")
    _assert_xlsx_text(export, HYPERLINK)
    _assert_xlsx_text(export, mask_address("=1+2小区3号楼501"))  # masked, still no formula
    _assert_xlsx_text(export, mask_name("@SUM(A1)"))  # nor the masked name


# --- Wagtail's viewset exports, csv and xlsx -----------------------------------------------------


@pytest.fixture
def typed_records(tree, users):
    """Values a member, a partner contact and a group leader could type."""
    member = make_member(
        branch=tree.branch_a, building_group=tree.group_a, name="钱多", employer="+1"
    )
    CommunityRegistration.objects.create(member=member, branch=tree.branch_a, employer="@SUM(A1)")
    household = make_household(building=tree.building_a)
    central = CentralHousehold.objects.create(member=member, household=household)
    HouseholdVisit.objects.create(
        central_household=central,
        household=household,
        visited_on=timezone.localdate(),
        note="-2+3",
    )
    Partner.objects.create(
        name="幸福里小学", kind=Partner.Kind.SCHOOL, intro=HYPERLINK, address="-2+3"
    )


VIEWSET_EXPORTS = [
    ("/admin/members/", "secretary", "+1"),
    ("/admin/registrations/", "secretary", "@SUM(A1)"),
    ("/admin/household_visits/", "secretary", "-2+3"),
    ("/admin/partners/", "district", HYPERLINK),
    ("/admin/partners/", "district", "-2+3"),
]


@pytest.mark.parametrize(("url", "who", "typed"), VIEWSET_EXPORTS)
def test_viewset_csv_export_escapes_typed_formulas(client, users, typed_records, url, who, typed):
    client.force_login(getattr(users, who))
    response = client.get(url, {"export": "csv"})
    assert "charset=utf-8" in response["Content-Type"]
    _assert_csv_text(response, typed)


@pytest.mark.parametrize(("url", "who", "typed"), VIEWSET_EXPORTS)
def test_viewset_xlsx_export_writes_typed_formulas_as_text(
    client, users, typed_records, url, who, typed
):
    client.force_login(getattr(users, who))
    _assert_xlsx_text(client.get(url, {"export": "xlsx"}), typed)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_wagtails_own_reports_write_a_typed_title_as_text(client, tree, users, export_format):
    """The rule sits under every admin export, Wagtail's reports included: a
    page title a secretary typed reaches the district's site-history export."""
    from wagtail.log_actions import log

    tree.branch_a.title = HYPERLINK
    tree.branch_a.save_revision(user=users.secretary).publish()
    log(tree.branch_a, "wagtail.edit", user=users.secretary)
    client.force_login(users.district)
    response = client.get(f"/admin/reports/site-history/?export={export_format}")
    assert response.status_code == 200
    if export_format == "csv":
        assert "'" + HYPERLINK in _csv_cells(response)
    else:
        _assert_xlsx_text(response, HYPERLINK)


def test_every_export_view_in_the_url_conf_has_the_rule():
    """Every view that can export (ours, Wagtail's, its reports) shares the one
    hardened export mixin."""
    from django.urls import URLResolver, get_resolver
    from wagtail.admin.views.mixins import SpreadsheetExportMixin

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield getattr(pattern.callback, "view_class", None)

    exporters = {
        view
        for view in walk(get_resolver().url_patterns)
        if isinstance(view, type) and issubclass(view, SpreadsheetExportMixin)
    }
    assert len(exporters) > 10  # our viewsets and Wagtail's reports are all found
    assert all(view.preprocess_field_value.__name__ == "safe_preprocess" for view in exporters)


# --- The audit log and the roles ---------------------------------------------------------------


@pytest.fixture
def audit_rows(users, members):
    """A reveal of a member's ID number and an export whose query held a phone."""
    AuditEntry.objects.create(
        actor=users.secretary,
        actor_name="=cmd|' /C calc'!A0",
        action=AuditEntry.Action.REVEAL,
        object_type="branches.Member",
        object_id=str(members.a_private.pk),
        object_repr=f"陈静 {members.a_private.id_number}",
        field_name="id_number",
        detail="q=13812345678",
        ip_address="203.0.113.7",
    )
    return members.a_private


def test_audit_export_has_every_row_and_column_masked(client, users, audit_rows):
    member = audit_rows
    client.force_login(users.district)
    entries = AuditEntry.objects.count()  # the export audits itself after this
    response = client.get("/admin/audit/", {"export": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(_content(response).decode("utf-8-sig"))))
    assert len(rows) == entries + 1  # the header, then one row per entry
    assert all(any(cell.strip() for cell in row) for row in rows), "no blank line"
    header = rows[0]
    assert len(header) == 9
    row = next(r for r in rows[1:] if "203.0.113.7" in r)
    text = " ".join(row)
    assert "'=cmd|' /C calc'!A0" in row
    assert "id_number" in row and str(member.pk) in row and "branches.Member" in row
    assert member.id_number not in text and member.id_number_masked in text
    assert "13812345678" not in text and "138****5678" in text
    entry = AuditEntry.objects.get(ip_address="203.0.113.7")
    local = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert row[0] == local  # the time, in the site's time zone (not UTC)


def test_audit_export_xlsx_has_the_rows(client, users, audit_rows):
    client.force_login(users.district)
    entries = AuditEntry.objects.count()
    response = client.get("/admin/audit/", {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(_content(response))).active
    rows = [r for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == entries + 1
    assert len(rows[0]) == 9
    assert any("203.0.113.7" in r for r in rows)


def test_roles_export_has_a_row_per_assignment(client, users):
    client.force_login(users.district)
    response = client.get("/admin/roles/", {"export": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(_content(response).decode("utf-8-sig"))))
    assert len(rows) == RoleAssignment.objects.count() + 1
    usernames = {cell for row in rows[1:] for cell in row}
    assert {"secretary", "district", "gridworker"} <= usernames
    assert str(Role.BRANCH_SECRETARY.label) in usernames


@pytest.mark.parametrize(
    "url", ["/admin/reports/site-history/?export=csv", "/admin/partners/?export=xlsx"]
)
def test_every_admin_export_is_audited(client, users, url):
    """Wagtail's reports and every viewset's listing, not only the branch records."""
    client.force_login(users.district)
    before = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).count()
    assert client.get(url).status_code == 200
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, actor=users.district)
    assert entries.count() == before + 1
