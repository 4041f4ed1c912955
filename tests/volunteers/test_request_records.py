"""Service request records: the search type and who finds what (grid workers
by their grid), the Excel import (dry run, per-row errors, all or nothing,
scope), the masked Excel export, and the dispatch dashboard (figures, scope,
a query budget that does not grow with the requests)."""

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from branches.models import GridBranchPage, GridPage
from portal.imports.reading import ImportRow, import_table_read
from portal.models import AuditEntry, Role
from portal.services import role_assign
from search.query import search
from tests.factories import add_page, make_user
from volunteers.dispatch.records import request_dashboard
from volunteers.dispatch.request_import import (
    REQUEST_COLUMNS,
    REQUESTS,
    request_import,
    request_import_example,
)
from volunteers.models import Offer, RequestEvent, ServiceRequest, Skill

Status = ServiceRequest.Status
DASHBOARD = "/admin/volunteering/requests/dashboard/"
LIST = "/admin/volunteering/requests/records/"
EXPORT = "/admin/volunteering/requests/records/export/"
IMPORT = "/admin/volunteering/requests/import/"
ADDRESS = "幸福里小区3号楼2单元301"
PHONE = "13812345678"


def make_request(
    tree,
    *,
    grid=None,
    branch=None,
    title="帮老人买菜",
    status=Status.NEW,
    age=dt.timedelta(hours=2),
    accepted_after=None,
    completed_after=None,
    window_end_in=dt.timedelta(days=2),
    **kwargs,
):
    """A request recorded ``age`` ago, with its history as RequestEvent rows."""
    now = timezone.now()
    created = now - age
    grid = grid or tree.grid3a
    branch = branch or (tree.branch_a if grid.path.startswith(tree.grid3a.path) else tree.branch_b)
    kwargs.setdefault("category", ServiceRequest.Category.ELDERLY)
    request = ServiceRequest.objects.create(
        title=title,
        grid=grid,
        branch=branch,
        status=status,
        window_start=created,
        window_end=now + window_end_in,
        accepted_at=created + accepted_after if accepted_after else None,
        completed_at=created + completed_after if completed_after else None,
        **kwargs,
    )
    ServiceRequest.objects.filter(pk=request.pk).update(created_at=created)
    request.refresh_from_db()
    events = [("", Status.NEW, created)]
    if accepted_after:
        events.append((Status.NEW, Status.ACCEPTED, request.accepted_at))
    if completed_after:
        events.append((Status.ACCEPTED, Status.COMPLETED, request.completed_at))
    for before, after, at in events:
        event = RequestEvent.objects.create(request=request, from_status=before, to_status=after)
        RequestEvent.objects.filter(pk=event.pk).update(at=at)
    return request


@pytest.fixture
def grid_worker(tree):
    user = make_user("gw_records", first_name="网格员")
    role_assign(user=user, role=Role.GRID_WORKER, page=tree.grid3a)
    # Grid workers reach the admin for their requests; grant the admin access
    # directly in case the role's group does not carry it.
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


@pytest.fixture
def two_grids(tree, users):
    """A request in each third-level grid; A's recorded by the volunteer."""
    a = make_request(
        tree,
        title="幸福里独居老人送餐",
        address=ADDRESS,
        requester_name="王芳",
        requester_phone=PHONE,
        created_by=users.volunteer,
        description="老人腿脚不便",
    )
    b = make_request(tree, grid=tree.grid3b, title="光明路独居老人送餐")
    return a, b


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def found(user, text):
    return {
        h.object_id
        for h in search(user=user, text=text, per_page=50).results.hits
        if h.doc_type == "request"
    }


# --- Search ----------------------------------------------------------------------------------


def test_request_document_masks_the_address_and_leaves_out_the_phone(tree, two_grids):
    from search.registry import get_type

    a, _b = two_grids
    doc = get_type("request").build(ServiceRequest.objects.get(pk=a.pk))
    text = " ".join(str(v) for v in doc.values())
    assert ADDRESS not in text and PHONE not in text and "5678" not in text
    assert "幸福里小区****" in doc["body"] and doc["grid_path"] == tree.grid3a.path
    assert "老人腿脚不便" in doc["body"]
    assert str(ServiceRequest.Category.ELDERLY.label) in doc["keywords"]
    assert (doc["grid_path"], doc["unit_path"]) == (tree.grid3a.path, tree.branch_a.path)
    assert doc["status"] == "new" and not doc["public"]
    assert doc["url"] == f"/requests/{a.pk}/"


@pytest.mark.parametrize("row_path", [False, True])
def test_grid_worker_finds_only_the_requests_of_their_grid(
    tree, users, grid_worker, two_grids, row_path
):
    """On SQLite the full-text index answers alone; during a rebuild the rows
    are filtered (the path PostgreSQL always takes). Both know grid workers."""
    from search.models import SearchState

    a, b = two_grids
    rebuild()
    if row_path:
        live = SearchState.objects.get().live_generation
        SearchState.objects.update(building_generation=live + 1)
    assert found(grid_worker, "独居老人") == {str(a.pk)}
    assert found(users.secretary, "独居老人") == {str(a.pk)}
    assert found(users.secretary_b, "独居老人") == {str(b.pk)}
    assert found(users.coordinator, "独居老人") == {str(a.pk), str(b.pk)}
    assert found(users.district, "送餐") == {str(a.pk), str(b.pk)}
    assert found(users.volunteer, "独居老人") == {str(a.pk)}  # recorded it
    assert found(users.member, "独居老人") == set()
    assert found(users.leader, "独居老人") == set()


def test_grid_worker_of_another_grid_finds_nothing_of_this_one(tree, two_grids):
    other = make_user("gridworker_b")
    role_assign(user=other, role=Role.GRID_WORKER, page=tree.grid3b)
    rebuild()
    assert found(other, "独居老人") == {str(two_grids[1].pk)}
    # Grid workers see requests only: not the members of their grid.
    assert not [
        h for h in search(user=other, text="光明路", per_page=50).results.hits
        if h.doc_type not in ("request", "unit")
    ]  # fmt: skip


def test_filter_words_carry_the_grid_workers_key_for_requests_only():
    from search.backends.database import filter_tokens
    from search.models import SearchEntry

    request = SearchEntry(doc_type="request", grid_path="00010002", unit_path="000100020003")
    member = SearchEntry(doc_type="member", grid_path="00010002", unit_path="00010002")
    assert {"w0001", "w00010002"} <= set(filter_tokens(request).split())
    assert not [w for w in filter_tokens(member).split() if w.startswith("w")]


def test_elasticsearch_permission_filter_knows_grid_workers():
    from search.backends.elastic_query import permission_filter
    from search.base import Visibility

    body = permission_filter(
        Visibility(user_id=5, grid_worker_paths=("00010002",), grid_worker_types=("request",))
    ).to_dict()
    should = body["bool"]["should"]
    assert {
        "bool": {
            "filter": [
                {"terms": {"doc_type": ["request"]}},
                {"prefix": {"grid_path": "00010002"}},
            ]
        }
    } in should
    plain = permission_filter(Visibility(user_id=5)).to_dict()
    assert "grid_path" not in str(plain)


def test_a_new_request_is_indexed_when_it_commits(
    tree, grid_worker, django_capture_on_commit_callbacks
):
    rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        request = make_request(tree, title="楼道灯坏了需要维修", category="hazard")
    assert found(grid_worker, "楼道灯") == {str(request.pk)}


# --- Import -----------------------------------------------------------------------------------


def row(number, **values):
    base = {
        "title": f"帮老人买菜{number}",
        "category": "助老服务",
        "grid": "幸福里三级网格",
        "window_start": "2030-06-01 09:00",
        "window_end": "2030-06-01 11:00",
    }
    base.update(values)
    return ImportRow(number=number, values={k: v for k, v in base.items() if v is not None})


def codes(result):
    return {(e.row, e.column, e.code) for e in result.errors}


def test_import_dry_run_reports_every_bad_row_in_chinese_and_writes_nothing(tree, users):
    rows = [
        row(2),
        row(3, category="修水管"),
        row(4, grid="不存在的网格"),
        row(5, window_end="2030-06-01 08:00"),
        row(6, grid="光明路三级网格"),  # branch B: not the secretary's
        row(7, requester_phone="13812345abc", people_needed="30", urgency="很急"),
        row(8, window_start="明天上午"),
    ]
    for dry_run in (True, False):
        result = request_import(rows=rows, user=users.secretary, dry_run=dry_run)
        assert not result.ok and result.created == 0
        assert codes(result) == {
            (3, "category", "bad_choice"),
            (4, "grid", "unknown_grid"),
            (5, "window_end", "end_before_start"),
            (6, "grid", "out_of_scope"),
            (7, "requester_phone", "bad_phone"),
            (7, "people_needed", "bad_number"),
            (7, "urgency", "bad_choice"),
            (8, "window_start", "bad_datetime"),
        }
    assert ServiceRequest.objects.count() == 0 and RequestEvent.objects.count() == 0
    messages = {e.code: e.message for e in result.errors if e.column != "urgency"}
    assert "助老服务" in messages["bad_choice"] and "修水管" not in messages["bad_choice"]
    assert messages["unknown_grid"] == "没有这个名称或编号的网格。"
    assert messages["end_before_start"] == "结束时间必须晚于开始时间。"
    assert messages["out_of_scope"] == "你不能导入到这个网格。"
    phone_error = next(e for e in result.errors if e.code == "bad_phone")
    assert phone_error.value == "138****5abc"  # private values are masked in the report


def test_import_writes_all_rows_with_their_history_and_an_audit_entry(tree, users):
    Skill.objects.create(name="急救培训")
    micro = add_page(tree.grid3a, GridPage(title="幸福里微网格1", slug="micro1", level="micro"))
    rows = [
        row(2, address=ADDRESS, requester_name="王芳", requester_phone=PHONE, skills="急救培训"),
        row(3, title="楼道堆物清理", category="环境整治", grid=str(micro.pk), urgency="紧急",
            people_needed="3", window_start="2030/6/2 14:00", window_end="2030-06-02"),
    ]  # fmt: skip
    result = request_import(rows=rows, user=users.secretary, dry_run=False, source="需求.xlsx")
    assert result.ok and result.created == 2
    first, second = ServiceRequest.objects.order_by("pk")
    assert (first.source, first.status, first.branch, first.created_by) == (
        "import",
        "new",
        tree.branch_a,
        users.secretary,
    )
    assert first.address == ADDRESS and first.requester_phone == PHONE
    assert [s.name for s in first.skills.all()] == ["急救培训"]
    # A micro-grid's requests belong to the branch of its third-level grid.
    assert (second.grid_id, second.branch_id) == (micro.pk, tree.branch_a.pk)
    assert (second.urgency, second.people_needed, second.category) == ("urgent", 3, "environment")
    end = timezone.localtime(second.window_end)
    assert (end.hour, end.minute) == (23, 59)  # a date alone ends with the day
    assert list(RequestEvent.objects.values_list("request_id", "to_status")) == [
        (first.pk, "new"),
        (second.pk, "new"),
    ]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.actor == users.secretary and "created=2" in entry.detail
    # The same file again adds nothing: every row is already recorded.
    again = request_import(rows=rows, user=users.secretary, dry_run=False)
    assert again.created == 0 and {e.code for e in again.errors} == {"duplicate_in_db"}
    assert ServiceRequest.objects.count() == 2


def test_grid_worker_imports_into_their_grid_only(tree, grid_worker):
    result = request_import(
        rows=[row(2), row(3, grid="光明路三级网格")], user=grid_worker, dry_run=True
    )
    assert codes(result) == {(3, "grid", "out_of_scope")}
    assert request_import(rows=[row(2)], user=grid_worker, dry_run=False).created == 1


def test_grids_without_a_branch_and_past_windows_are_refused(tree, users):
    result = request_import(
        rows=[
            row(2, grid="和平二级网格"),
            row(3, window_start="2020-01-01", window_end="2020-01-02"),
        ],
        user=users.district,
        dry_run=True,
    )
    assert codes(result) == {(2, "grid", "grid_without_branch"), (3, "window_end", "end_passed")}


def test_excel_date_time_cells_keep_their_time(tree, users):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["标题", "类别", "网格", "开始时间", "结束时间"])
    sheet.append(["代办社保", "代办服务", "幸福里三级网格", dt.datetime(2030, 7, 1, 9, 30),
                  dt.datetime(2030, 7, 1, 11, 0)])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    table = import_table_read(kind=REQUESTS, filename="需求.xlsx", data=out.getvalue())
    result = request_import(rows=table.rows, user=users.secretary, dry_run=False)
    assert result.created == 1
    start = timezone.localtime(ServiceRequest.objects.get().window_start)
    assert (start.date(), start.hour, start.minute) == (dt.date(2030, 7, 1), 9, 30)


def test_example_file_in_docs_is_the_one_offered(tree, users):
    # It names the demo's grid: its dry run against the demo is in tests/portal/test_load_demo.py.
    docs = Path(settings.BASE_DIR) / "docs" / "import" / "requests.xlsx"
    table = import_table_read(kind=REQUESTS, filename="requests.xlsx", data=docs.read_bytes())
    assert set(table.headers) == {c.key for c in REQUEST_COLUMNS}
    assert list(table.headers.values())[:3] == ["标题", "类别", "网格"]
    offered = import_table_read(
        kind=REQUESTS, filename="x.xlsx", data=request_import_example(fmt="xlsx")
    ).rows
    assert [r.values for r in offered] == [r.values for r in table.rows]


def example_in_tree_grid() -> bytes:
    """The example file (which names the demo's grid) with the test tree's grid."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(request_import_example(fmt="xlsx")))
    for row in book.active.iter_rows():
        for cell in row:
            if cell.value == "丰收社区第一网格":
                cell.value = "幸福里三级网格"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_pages_dry_run_then_confirm(client, tree, users):
    client.force_login(users.secretary)
    page = client.get(IMPORT)
    assert page.status_code == 200
    body = page.content.decode()
    assert "导入服务需求" in body and "所需技能" in body
    upload = io.BytesIO(example_in_tree_grid())
    upload.name = "需求.xlsx"
    report = client.post(IMPORT, {"file": upload})
    body = report.content.decode()
    assert "共检查 2 行：2 行正确，0 行有错误。" in body and "导入 2 行" in body
    assert ServiceRequest.objects.count() == 0
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', body).group(1)
    done = client.post(IMPORT, {"confirm": "1", "token": token, "digest": digest})
    assert done.status_code == 302 and done["Location"] == LIST
    assert ServiceRequest.objects.filter(source="import").count() == 2


def test_import_page_shows_the_errors_and_offers_no_confirm(client, tree, users):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["标题", "类别", "网格", "开始时间", "结束时间"])
    book.active.append(["修水管", "水电", "光明路三级网格", "2030-06-01 09:00", "2030-06-01 08:00"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "bad.xlsx"
    client.force_login(users.secretary)
    body = client.post(IMPORT, {"file": out}).content.decode()
    assert "你不能导入到这个网格。" in body and "结束时间必须晚于开始时间。" in body
    assert 'name="confirm"' not in body
    assert ServiceRequest.objects.count() == 0


@pytest.mark.parametrize("role", ["leader", "member", "volunteer"])
def test_import_page_refused_to_others(client, users, role):
    client.force_login(getattr(users, role))
    assert client.get(IMPORT).status_code in (302, 403)


# --- Export and list ---------------------------------------------------------------------------


def workbook_values(response):
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[c for c in r] for r in sheet.iter_rows(values_only=True)]


def test_export_masks_the_residents_private_values(client, tree, users, two_grids):
    client.force_login(users.secretary)
    response = client.get(EXPORT)
    assert response.status_code == 200
    rows = workbook_values(response)
    text = " ".join(str(v) for r in rows for v in r if v is not None)
    assert ADDRESS not in text and PHONE not in text and "王芳" not in text
    assert "幸福里小区****" in text and "138****5678" in text and "王*" in text
    assert [r[1] for r in rows[1:]] == ["幸福里独居老人送餐"]  # branch A only
    assert rows[0][:3] == ["编号", "标题", "类别"]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, actor=users.secretary)


def test_export_follows_the_filters(client, tree, users):
    make_request(tree, title="旧的需求", age=dt.timedelta(days=40))
    make_request(tree, title="已办结", status=Status.COMPLETED, category="paperwork")
    make_request(tree, title="光明路需求", grid=tree.grid3b)
    client.force_login(users.district)

    def titles(**params):
        return {r[1] for r in workbook_values(client.get(EXPORT, params))[1:]}

    assert titles() == {"旧的需求", "已办结", "光明路需求"}
    assert titles(status="completed") == {"已办结"}
    assert titles(category="paperwork") == {"已办结"}
    assert titles(unit=tree.grid3b.pk) == {"光明路需求"}
    assert titles(unit=tree.branch_a.pk) == {"旧的需求", "已办结"}
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    assert titles(date_from=since) == {"已办结", "光明路需求"}
    until = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    assert titles(date_to=until) == {"旧的需求"}
    # A bad filter is left out, never a 500.
    assert titles(status="nonsense", date_from="yesterday") == {"旧的需求", "已办结", "光明路需求"}


def test_list_shows_a_grid_worker_their_grid_masked(client, tree, grid_worker, two_grids):
    client.force_login(grid_worker)
    response = client.get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "幸福里独居老人送餐" in body and "光明路独居老人送餐" not in body
    assert "幸福里小区****" in body and ADDRESS not in body and PHONE not in body
    bad = client.get(LIST, {"status": "nonsense"})
    assert bad.status_code == 200 and "data-records-problem" in bad.content.decode()


# --- Dashboard ---------------------------------------------------------------------------------


def test_dashboard_figures(tree, users):
    hours = dt.timedelta(hours=1)
    for n in range(1, 11):  # accepted after 1..10 hours, completed 2 hours later
        make_request(
            tree,
            title=f"已办结{n}",
            status=Status.REVIEWED if n <= 4 else Status.COMPLETED,
            age=dt.timedelta(days=5),
            accepted_after=n * hours,
            completed_after=(n + 2) * hours,
            satisfied=(n != 1) if n <= 4 else None,
        )
    make_request(tree, title="新", age=dt.timedelta(hours=3))
    make_request(tree, title="两天", age=dt.timedelta(days=2), status=Status.DISPATCHED)
    make_request(tree, title="五天", age=dt.timedelta(days=5), status=Status.ESCALATED)
    late = make_request(
        tree, title="十天", age=dt.timedelta(days=10), window_end_in=-dt.timedelta(days=1)
    )
    make_request(tree, title="取消", status=Status.CANCELLED, window_end_in=-dt.timedelta(days=1))
    make_request(tree, title="别处", grid=tree.grid3b, age=dt.timedelta(days=10))

    board = request_dashboard(unit=tree.branch_a)
    assert board.open_by_age == {"lt1": 1, "d1_3": 1, "d3_7": 1, "gt7": 1}
    assert board.open_total == 4
    assert (board.to_accept.count, board.to_accept.median, board.to_accept.p90) == (
        10,
        5 * hours,
        9 * hours,
    )
    assert (board.to_complete.median, board.to_complete.p90) == (7 * hours, 11 * hours)
    assert (board.satisfied, board.reviewed, board.satisfaction) == (3, 4, 0.75)
    assert board.overdue_total == 1 and [r.pk for r in board.overdue] == [late.pk]
    district = request_dashboard(unit=tree.district)
    assert district.open_total == 5 and district.open_by_age["gt7"] == 2


def test_busiest_volunteers_count_taken_offers_of_the_last_30_days(tree, users):
    now = timezone.now()
    helper = make_user("helper", first_name="敏", last_name="赵")
    for i in range(3):
        request = make_request(tree, title=f"任务{i}")
        Offer.objects.create(
            request=request, user=helper, status=Offer.Status.COMPLETED if i else "accepted",
            expires_at=now, answered_at=now - dt.timedelta(days=i),
        )  # fmt: skip
        Offer.objects.create(
            request=request, user=users.volunteer, status=Offer.Status.DECLINED,
            expires_at=now, answered_at=now,
        )  # fmt: skip
    old = make_request(tree, title="旧任务")
    Offer.objects.create(
        request=old, user=users.volunteer, status=Offer.Status.COMPLETED, expires_at=now,
        answered_at=now - dt.timedelta(days=40),
    )  # fmt: skip
    board = request_dashboard(unit=tree.grid3a)
    assert board.busiest == [{"user_id": helper.pk, "name": "赵敏", "taken": 3, "completed": 2}]


def test_grid_worker_dashboard_shows_their_grid_only(client, tree, grid_worker, two_grids):
    make_request(tree, grid=tree.grid3b, title="光明路逾期", window_end_in=-dt.timedelta(days=1))
    client.force_login(grid_worker)
    response = client.get(DASHBOARD)
    body = response.content.decode()
    assert response.status_code == 200
    assert "派单看板" in body and "幸福里三级网格" in body
    assert 'data-figure="open">1<' in body
    assert "光明路逾期" not in body and "没有逾期的需求" in body
    for unit in (tree.grid3b, tree.branch_a, tree.district):
        refused = client.get(DASHBOARD, {"unit": unit.pk})
        assert refused.status_code == 403
        assert "光明路" not in refused.content.decode()


def test_secretary_of_branch_b_is_refused_branch_a(client, tree, users, two_grids):
    make_request(tree, title="幸福里逾期", window_end_in=-dt.timedelta(days=1))
    client.force_login(users.secretary_b)
    refused = client.get(DASHBOARD, {"unit": tree.branch_a.pk})
    assert refused.status_code == 403 and "幸福里逾期" not in refused.content.decode()
    assert client.get(DASHBOARD, {"unit": tree.grid3a.pk}).status_code == 403
    own = client.get(DASHBOARD).content.decode()
    assert "光明路网格党支部" in own and 'data-figure="open">1<' in own
    assert "幸福里逾期" not in own and "data-board-branches" not in own


@pytest.mark.parametrize("role", ["leader", "member", "volunteer", "partner"])
def test_dashboard_refused_to_people_without_a_dispatch_role(client, users, role):
    client.force_login(getattr(users, role))
    assert client.get(DASHBOARD).status_code in (302, 403)


def test_lagging_branches_worst_first_and_paginated(client, tree, users):
    make_request(tree, title="A逾期", window_end_in=-dt.timedelta(days=1))
    make_request(tree, grid=tree.grid3b, title="B新")
    make_request(tree, grid=tree.grid3b, title="B新2")
    for n in range(50):
        grid = add_page(tree.grid2, GridPage(title=f"空网格{n}", slug=f"empty{n}", level="3"))
        add_page(grid, GridBranchPage(title=f"空支部{n:02d}", slug="branch"))
    client.force_login(users.coordinator)
    body = client.get(DASHBOARD).content.decode()
    rows = re.findall(r'data-branch="(\d+)"', body)
    assert len(rows) == 50
    assert rows[:2] == [str(tree.branch_a.pk), str(tree.branch_b.pk)]
    assert "第 1 页，共 2 页" in body
    second = client.get(DASHBOARD, {"page": 2}).content.decode()
    assert len(re.findall(r'data-branch="(\d+)"', second)) == 2


def _dashboard_queries(client, user, unit=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD, {"unit": unit.pk} if unit else {})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["district", "coordinator", "secretary"])
def test_dashboard_query_count_does_not_grow_with_the_requests(client, tree, users, who):
    user = getattr(users, who)
    client.force_login(user)

    def add(n):
        now = timezone.now()
        for i in range(n):
            request = make_request(
                tree,
                grid=tree.grid3b if i % 2 else tree.grid3a,
                status=Status.REVIEWED if i % 3 == 0 else Status.NEW,
                age=dt.timedelta(days=i % 9, hours=1),
                accepted_after=dt.timedelta(hours=1) if i % 3 == 0 else None,
                completed_after=dt.timedelta(hours=3) if i % 3 == 0 else None,
                satisfied=True if i % 3 == 0 else None,
                window_end_in=dt.timedelta(days=1 - i % 3),
            )
            Offer.objects.create(
                request=request, user=make_user(f"{who}{n}v{i}"), status="accepted",
                expires_at=now, answered_at=now,
            )  # fmt: skip

    add(3)
    _dashboard_queries(client, user)  # warm caches (content types, site)
    few = _dashboard_queries(client, user)
    add(30)
    many = _dashboard_queries(client, user)
    assert many == few


def test_list_query_count_does_not_grow_with_the_requests(client, tree, users):
    client.force_login(users.secretary)
    for i in range(3):
        make_request(tree, title=f"需求{i}")
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for i in range(30):
        make_request(tree, title=f"更多需求{i}")
    with CaptureQueriesContext(connection) as many:
        client.get(LIST)
    assert len(many) == len(few)
