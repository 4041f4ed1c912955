"""Service request records: bulk import from Excel, the filtered list and its
Excel export (private values masked), and the figures of the dispatch
dashboard (派单看板).

The import reuses the member import's machinery (``branches.importers``): the
same file reader, header matching, per-row error report, all-or-nothing write
and audit entry. Requests are registered there as one more kind of import.

Dashboard conventions, chosen once:

- A request's *unit* is its grid (a grid's dashboard counts the requests of its
  whole subtree), its branch (a branch's dashboard), or the district (all).
- *Open* is any status before completion (``ServiceRequest.OPEN``); its age
  counts from when the request was recorded.
- *Time to accept* and *time to complete* run from recording to ``accepted_at``
  and ``completed_at``, over the requests accepted (completed) in the last 90
  days. Percentiles are nearest-rank: the value at rank ⌈p·n⌉, fetched with one
  ordered query each, so no list of durations ever leaves the database.
- *Satisfaction* is the share of reviewed requests (completed in the last 90
  days) whose resident was satisfied.
- *Overdue* means the window has ended and the request is not completed,
  reviewed or cancelled.
- *Busiest volunteers*: the most offers taken (accepted, in service or
  completed) in the last 30 days, by when they were taken.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
)
from django.db.models.functions import Length, Substr
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import DistrictPage, GridBranchPage, GridPage
from portal.exports import xlsx_row
from portal.imports import (
    LIST_SPLIT,
    ImportColumn,
    ImportResult,
    ImportRow,
    RowChecker,
    RowError,
    chunks,
    field_limit,
    import_example,
    import_write,
    register_import_kind,
)
from portal.masking import mask_address, mask_name, mask_phone
from portal.names import full_name
from portal.roles import user_scope
from portal.validators import is_mobile, normalise_mobile
from search.tasks import index_later
from volunteers.models import Offer, RequestEvent, ServiceRequest, Skill

REQUESTS = "requests"

REQUEST_COLUMNS = (
    ImportColumn("title", gettext_lazy("Title"), ("标题", "需求标题", "title"), required=True),
    ImportColumn(
        "category", gettext_lazy("Category"), ("类别", "需求类别", "category"), required=True
    ),
    ImportColumn("grid", gettext_lazy("Grid"), ("网格", "所属网格", "grid"), required=True),
    ImportColumn("address", gettext_lazy("Address"), ("地址", "住址", "address"), private=True),
    ImportColumn(
        "requester_name",
        gettext_lazy("Resident"),
        ("居民姓名", "居民", "姓名", "resident", "resident name"),
    ),
    ImportColumn(
        "requester_phone",
        gettext_lazy("Phone"),
        ("联系电话", "电话", "手机号", "phone", "mobile"),
        private=True,
    ),
    ImportColumn(
        "window_start",
        gettext_lazy("Starts at"),
        ("开始时间", "start", "starts at", "from"),
        required=True,
    ),
    ImportColumn(
        "window_end",
        gettext_lazy("Ends at"),
        ("结束时间", "end", "ends at", "until"),
        required=True,
    ),
    ImportColumn("urgency", gettext_lazy("Urgency"), ("紧急程度", "urgency")),
    ImportColumn(
        "people_needed", gettext_lazy("People needed"), ("需要人数", "人数", "people needed")
    ),
    ImportColumn("skills", gettext_lazy("Skills needed"), ("所需技能", "技能", "skills")),
    ImportColumn("description", gettext_lazy("Description"), ("说明", "需求说明", "description")),
)

REQUEST_EXAMPLES = [
    {
        "title": "帮独居老人买菜",
        "category": "助老服务",
        "grid": "丰收社区第一网格",
        "address": "晓园新村3号楼2单元301",
        "requester_name": "王芳",
        "requester_phone": "13700137003",
        "window_start": "2030-06-01 09:00",
        "window_end": "2030-06-01 11:00",
        "urgency": "普通",
        "people_needed": 1,
        "skills": "",
        "description": "每周六上午代买蔬菜，老人行动不便。",
    },
    {
        "title": "楼道堆物清理",
        "category": "环境整治",
        "grid": "丰收社区第一网格",
        "address": "晓园新村3号楼",
        "requester_name": "",
        "requester_phone": "",
        "window_start": "2030-06-02 14:00",
        "window_end": "2030-06-02 17:00",
        "urgency": "紧急",
        "people_needed": 3,
        "skills": "",
        "description": "消防通道被杂物占用，需要清理。",
    },
]


MAX_PEOPLE = 20
DONE = (
    ServiceRequest.Status.COMPLETED,
    ServiceRequest.Status.REVIEWED,
    ServiceRequest.Status.CANCELLED,
)

# --- Import: reading ------------------------------------------------------------------------


def _moment_text(value):
    """An Excel cell of a request keeps its time (a date alone stays a date)."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return value


# Requests are one more kind of import: the reader, the report and the example
# file of portal/imports.py work for them unchanged.
register_import_kind(REQUESTS, REQUEST_COLUMNS, REQUEST_EXAMPLES, xlsx_cell=_moment_text)


# --- Import: parsing values -------------------------------------------------------------------

_MOMENT_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分",
)
_DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")

# Chinese names a district uses for each category, besides the label and the code.
_CATEGORY_WORDS = {
    ServiceRequest.Category.ELDERLY: ("助老服务", "助老", "为老服务", "敬老", "养老"),
    ServiceRequest.Category.ENVIRONMENT: ("环境整治", "环境", "环境卫生", "卫生"),
    ServiceRequest.Category.HAZARD: ("安全隐患", "隐患", "隐患排查"),
    ServiceRequest.Category.MEDIATION: ("矛盾调解", "调解", "纠纷调解", "矛盾纠纷"),
    ServiceRequest.Category.EMERGENCY: ("疫情应急", "应急", "应急支援", "防疫", "疫情防控"),
    ServiceRequest.Category.PAPERWORK: ("代办服务", "代办", "事务代办", "帮办代办"),
    ServiceRequest.Category.OTHER: ("其他", "其它"),
}
_URGENCY_WORDS = {
    ServiceRequest.Urgency.NORMAL: ("普通", "一般", "正常", "不紧急"),
    ServiceRequest.Urgency.URGENT: ("紧急", "急", "加急", "特急"),
}
_LANDLINE = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$")


def _choice_map(choices, words) -> dict[str, str]:
    """Code, English label, the Chinese label and the usual Chinese words → code."""
    found = {}
    for value, label in choices:
        found[value] = value
        with translation.override("en"):
            found[str(label).lower()] = value
        with translation.override("zh-hans"):
            found[str(label).lower()] = value
        for word in words.get(value, ()):
            found[word] = value
    return found


def _parse_choice(checker: RowChecker, key: str, choices: dict[str, str], shown, default=None):
    text = checker.value(key)
    if not text:
        return default
    found = choices.get(text.strip().lower())
    if found is None:
        checker.error(
            key,
            "bad_choice",
            _("This is not one of the allowed values: %(choices)s") % {"choices": "、".join(shown)},
        )
    return found


def _parse_moment(checker: RowChecker, key: str, *, end: bool) -> dt.datetime | None:
    """A date and time in the site's time zone. A date alone means the start of
    the day for a start and the end of the day for an end."""
    text = " ".join(checker.value(key).replace("：", ":").split())
    if not text:
        return None
    for fmt in _MOMENT_FORMATS:
        try:
            return timezone.make_aware(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    for fmt in _DAY_FORMATS:
        try:
            day = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        moment = day.replace(hour=23, minute=59) if end else day
        return timezone.make_aware(moment)
    checker.error(
        key, "bad_datetime", _("This is not a date and time; write it as 2026-07-01 09:00.")
    )
    return None


def _parse_phone(checker: RowChecker, key: str) -> str:
    text = checker.value(key).lstrip("'").strip()
    if not text:
        return ""
    mobile = normalise_mobile(text)
    if is_mobile(mobile):
        return mobile
    compact = re.sub(r"[\s()（）]", "", text)
    if _LANDLINE.match(compact):
        return compact
    checker.error(
        key, "bad_phone", _("This is not a mobile number (11 digits) or a landline number.")
    )
    return ""


def _parse_people(checker: RowChecker, key: str) -> int:
    text = checker.value(key)
    if not text:
        return 1
    if text.isdecimal() and 1 <= int(text) <= MAX_PEOPLE:
        return int(text)
    checker.error(
        key, "bad_number", _("Write a whole number from 1 to %(max)d.") % {"max": MAX_PEOPLE}
    )
    return 1


def _parse_skills(checker: RowChecker, key: str, skills: dict[str, Skill]) -> list[Skill]:
    found = []
    for part in LIST_SPLIT.split(checker.value(key)):
        part = part.strip()
        if not part:
            continue
        skill = skills.get(part)
        if skill is None:
            checker.error(
                key,
                "unknown_skill",
                _("“%(value)s” is not a known skill. Known skills: %(choices)s")
                % {"value": part, "choices": "、".join(list(skills)[:30]) or "—"},
                show_value=False,
            )
        elif skill not in found:
            found.append(skill)
    return found


# --- Import: grids and their branches --------------------------------------------------------


def branch_of_grid(grids: Sequence[GridPage]) -> dict[int, GridBranchPage]:
    """The party branch each grid belongs to: the branch under the grid itself or
    under its nearest ancestor grid (a micro-grid belongs to the branch of its
    third-level grid). One query for any number of grids."""
    prefixes = sorted({g.path[:n] for g in grids for n in range(4, len(g.path) + 1, 4)})
    by_parent: dict[str, GridBranchPage] = {}
    for chunk in chunks(prefixes):
        branches = (
            GridBranchPage.objects.annotate(parent_path=Substr("path", 1, Length("path") - 4))
            .filter(parent_path__in=chunk)
            .order_by("path")
            .only("pk", "path", "title")
        )
        for branch in branches:
            by_parent.setdefault(branch.parent_path, branch)
    found = {}
    for grid in grids:
        for n in range(len(grid.path), 3, -4):
            branch = by_parent.get(grid.path[:n])
            if branch is not None:
                found[grid.pk] = branch
                break
    return found


def may_record_in(user, grid: GridPage, branch: GridBranchPage) -> bool:
    """Whether ``user`` may record (or import) a request in this grid: the
    district; a coordinator or secretary whose unit covers the request's branch;
    a grid worker whose grid covers the grid. The same people then see it."""
    scope = user_scope(user)
    return (
        scope.is_district
        or any(branch.path.startswith(p) for p in scope.paths)
        or any(grid.path.startswith(p) for p in scope.grid_worker_paths)
    )


class _GridResolver:
    """Grids by title or page number, their branches and the user's scope; three
    queries per chunk of values for the whole file."""

    def __init__(self, user, values: set[str]):
        values = {v for v in values if v}
        ids = sorted({int(v) for v in values if v.isdecimal() and len(v) < 10})
        self.by_title: dict[str, list[GridPage]] = {}
        self.by_id: dict[int, GridPage] = {}
        grids = []
        for chunk in chunks(sorted(values)):
            grids += GridPage.objects.filter(title__in=chunk).only("pk", "path", "title")
        for chunk in chunks(ids):
            grids += GridPage.objects.filter(pk__in=chunk).only("pk", "path", "title")
        for grid in grids:
            self.by_id[grid.pk] = grid
            if grid.title in values:
                titled = self.by_title.setdefault(grid.title, [])
                if grid not in titled:
                    titled.append(grid)
        self.branches = branch_of_grid(list(self.by_id.values()))
        self.user = user

    def resolve(self, checker: RowChecker) -> tuple[GridPage | None, GridBranchPage | None]:
        text = checker.value("grid")
        candidates = list(self.by_title.get(text, []))
        if not candidates and text.isdecimal() and int(text) in self.by_id:
            candidates = [self.by_id[int(text)]]
        if not candidates:
            checker.error("grid", "unknown_grid", _("There is no grid with this name or number."))
            return None, None
        with_branch = [g for g in candidates if g.pk in self.branches]
        if not with_branch:
            checker.error(
                "grid",
                "grid_without_branch",
                _("This grid has no party branch; use a third-level grid or a grid below one."),
            )
            return None, None
        allowed = [g for g in with_branch if may_record_in(self.user, g, self.branches[g.pk])]
        if not allowed:
            checker.error("grid", "out_of_scope", _("You may not import into this grid."))
            return None, None
        if len(allowed) > 1:
            checker.error(
                "grid",
                "ambiguous_grid",
                _("Several grids have this name; write the grid's number instead."),
            )
            return None, None
        return allowed[0], self.branches[allowed[0].pk]


# --- Import: checking and writing ------------------------------------------------------------


def request_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every request row; unless ``dry_run``, and only if no row has an
    error, create all of them in one transaction (source "import", each with its
    first event → new), audit it and queue them for the search index.

    Grids must lie within the user's scope (see ``may_record_in``). A request
    with the same grid, title and start as another row or an existing request
    is an error, so importing a file twice adds nothing."""
    errors: list[RowError] = []
    grids = _GridResolver(user, {r.values.get("grid", "") for r in rows})
    skill_names = {
        part.strip()
        for r in rows
        for part in LIST_SPLIT.split(r.values.get("skills", ""))
        if part.strip()
    }
    skills = {s.name: s for s in Skill.objects.filter(name__in=sorted(skill_names))}
    if any(r.values.get("skills") for r in rows) and len(skills) < len(skill_names):
        # The error message lists the skills that do exist.
        skills |= {s.name: s for s in Skill.objects.all()[:200]}
    categories = _choice_map(ServiceRequest.Category.choices, _CATEGORY_WORDS)
    category_shown = [words[0] for words in _CATEGORY_WORDS.values()]
    urgencies = _choice_map(ServiceRequest.Urgency.choices, _URGENCY_WORDS)
    urgency_shown = [words[0] for words in _URGENCY_WORDS.values()]

    columns = {c.key: c for c in REQUEST_COLUMNS}
    now = timezone.now()
    pending = []
    seen: dict[tuple, int] = {}
    for row in rows:
        checker = RowChecker(row, columns, errors, timezone.localdate())
        title = checker.max_length(
            "title", checker.required("title"), field_limit(ServiceRequest, "title")
        )
        category = (
            _parse_choice(checker, "category", categories, category_shown)
            if checker.required("category")
            else None
        )
        grid, branch = grids.resolve(checker) if checker.required("grid") else (None, None)
        start = _parse_moment(checker, "window_start", end=False)
        end = _parse_moment(checker, "window_end", end=True)
        if not checker.value("window_start"):
            checker.required("window_start")
        if not checker.value("window_end"):
            checker.required("window_end")
        if start and end:
            if end <= start:
                checker.error(
                    "window_end", "end_before_start", _("The end must be after the start.")
                )
            elif end <= now:
                checker.error("window_end", "end_passed", _("This time has already passed."))
        name = checker.max_length(
            "requester_name",
            checker.value("requester_name"),
            field_limit(ServiceRequest, "requester_name"),
        )
        phone = _parse_phone(checker, "requester_phone")
        urgency = _parse_choice(
            checker, "urgency", urgencies, urgency_shown, default=ServiceRequest.Urgency.NORMAL
        )
        people = _parse_people(checker, "people_needed")
        row_skills = _parse_skills(checker, "skills", skills)
        if grid is not None and title and start:
            key = (grid.pk, title, start)
            if key in seen:
                checker.error(
                    "title",
                    "duplicate_in_file",
                    _("The same request (grid, title and start) is also on row %(row)d.")
                    % {"row": seen[key]},
                )
            seen.setdefault(key, row.number)
        if not checker.failed:
            pending.append(
                (
                    row.number,
                    dict(
                        title=title,
                        description=checker.value("description"),
                        category=category,
                        source=ServiceRequest.Source.IMPORT,
                        grid=grid,
                        branch=branch,
                        address=checker.value("address"),
                        requester_name=name,
                        requester_phone=phone,
                        window_start=start,
                        window_end=end,
                        urgency=urgency,
                        people_needed=people,
                        created_by=user,
                    ),
                    row_skills,
                )
            )
    _check_existing(pending, errors)

    result = ImportResult(kind=REQUESTS, total=len(rows), errors=errors, dry_run=dry_run)
    if dry_run or not result.ok:
        return result
    return import_write(
        result,
        lambda: _request_write(pending, user=user, source=source),
        user=user,
        model=ServiceRequest,
        source=source,
    )


def _check_existing(pending: list, errors: list[RowError]) -> None:
    """Rows that repeat a request already recorded (same grid, title and start)."""
    titles = sorted({fields["title"] for _n, fields, _s in pending})
    grid_ids = sorted({fields["grid"].pk for _n, fields, _s in pending})
    existing = set()
    for chunk in chunks(titles):
        existing.update(
            ServiceRequest.objects.filter(grid_id__in=grid_ids, title__in=chunk).values_list(
                "grid_id", "title", "window_start"
            )
        )
    if not existing:
        return
    label = str(next(c.label for c in REQUEST_COLUMNS if c.key == "title"))
    for number, fields, _skills in pending:
        if (fields["grid"].pk, fields["title"], fields["window_start"]) in existing:
            errors.append(
                RowError(
                    row=number,
                    column="title",
                    label=label,
                    code="duplicate_in_db",
                    message=_("This request (grid, title and start) has already been recorded."),
                    value=fields["title"],
                )
            )


def _request_write(pending: list, *, user, source: str) -> int:
    requests = [ServiceRequest(**fields) for _n, fields, _s in pending]
    # PostgreSQL and SQLite (3.35+) return the new ids from a bulk insert.
    ServiceRequest.objects.bulk_create(requests, batch_size=500)
    through = ServiceRequest.skills.through
    through.objects.bulk_create(
        [
            through(servicerequest_id=request.pk, skill_id=skill.pk)
            for request, (_n, _f, row_skills) in zip(requests, pending, strict=True)
            for skill in row_skills
        ],
        batch_size=500,
    )
    note = (_("Imported from %(file)s") % {"file": source})[:300] if source else ""
    RequestEvent.objects.bulk_create(
        [
            RequestEvent(
                request=request, to_status=ServiceRequest.Status.NEW, actor=user, note=note
            )
            for request in requests
        ],
        batch_size=500,
    )
    # bulk_create sends no post_save: index the new requests once this commits.
    index_later(ServiceRequest, [r.pk for r in requests])
    return len(requests)


def request_import_example(*, fmt: str) -> bytes:
    """The example file of the request import (``fmt``: "xlsx" or "csv")."""
    return import_example(kind=REQUESTS, fmt=fmt)


# --- The list and its export -----------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """What the request list is narrowed to; every part optional."""

    status: str = ""
    category: str = ""
    unit_path: str = ""  # a grid's or a branch's tree path
    date_from: dt.date | None = None  # recorded on or after (local date)
    date_to: dt.date | None = None  # recorded on or before
    request_id: int | None = None


def requests_filtered(qs: QuerySet, flt: RequestFilter) -> QuerySet:
    """``qs`` (already scoped with ``requests_visible_to``) narrowed by ``flt``."""
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.category:
        qs = qs.filter(category=flt.category)
    if flt.unit_path:
        qs = qs.filter(
            Q(grid__path__startswith=flt.unit_path) | Q(branch__path__startswith=flt.unit_path)
        )
    if flt.date_from:
        qs = qs.filter(created_at__gte=_day_start(flt.date_from))
    if flt.date_to:
        qs = qs.filter(created_at__lt=_day_start(flt.date_to + dt.timedelta(days=1)))
    if flt.request_id:
        qs = qs.filter(pk=flt.request_id)
    return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


EXPORT_LIMIT = 20_000


def _naive_local(value: dt.datetime | None):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def requests_workbook(qs: QuerySet) -> bytes:
    """The requests of ``qs`` as one Excel sheet, newest first, at most
    ``EXPORT_LIMIT`` rows (a last row says when more were left out). The
    resident's name, address and phone are masked; nothing is ever written clear."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = str(_("Service requests"))
    sheet.append(
        xlsx_row(
            sheet,
            [
                _("Number"),
                _("Title"),
                _("Category"),
                _("Source"),
                _("Grid"),
                _("Branch"),
                _("Address"),
                _("Resident"),
                _("Phone"),
                _("Starts at"),
                _("Ends at"),
                _("Urgency"),
                _("People needed"),
                _("Skills needed"),
                _("Status"),
                _("Recorded at"),
                _("Accepted at"),
                _("Completed at"),
                _("Satisfied"),
            ],
        )
    )
    rows = (
        qs.select_related("grid", "branch")
        .prefetch_related("skills")
        .order_by("-created_at", "-id")[: EXPORT_LIMIT + 1]
    )
    written = 0
    for request in rows.iterator(chunk_size=1000):
        if written == EXPORT_LIMIT:
            sheet.append(
                xlsx_row(
                    sheet,
                    [
                        _("Only the first %(limit)d requests are here; narrow the filters.")
                        % {"limit": EXPORT_LIMIT}
                    ],
                )
            )
            break
        sheet.append(
            xlsx_row(
                sheet,
                [
                    request.pk,
                    request.title,
                    str(request.get_category_display()),
                    str(request.get_source_display()),
                    request.grid.title,
                    request.branch.title,
                    mask_address(request.address),
                    mask_name(request.requester_name),
                    mask_phone(request.requester_phone),
                    _naive_local(request.window_start),
                    _naive_local(request.window_end),
                    str(request.get_urgency_display()),
                    request.people_needed,
                    "、".join(s.name for s in request.skills.all()),
                    str(request.get_status_display()),
                    _naive_local(request.created_at),
                    _naive_local(request.accepted_at),
                    _naive_local(request.completed_at),
                    {True: _("Yes"), False: _("No")}.get(request.satisfied, ""),
                ],
            )
        )
        written += 1
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for column in ("J", "K", "P", "Q", "R"):
        for cell in sheet[column][1:]:
            cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "C2"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- The dashboard ----------------------------------------------------------------------------

PERIOD_DAYS = 90
BUSY_DAYS = 30
OVERDUE_SHOWN = 20
BUSIEST_SHOWN = 10
AGE_BUCKETS = (
    ("lt1", 0, 1),
    ("d1_3", 1, 3),
    ("d3_7", 3, 7),
    ("gt7", 7, None),
)


def dashboard_may_view(user) -> bool:
    """District administrators, grid coordinators, branch secretaries and grid workers."""
    if not getattr(user, "is_authenticated", False):
        return False
    scope = user_scope(user)
    return scope.is_district or bool(scope.paths or scope.grid_worker_paths)


def dashboard_unit_allowed(user, page) -> bool:
    """The district sees every unit; a coordinator or secretary any grid or
    branch under their own unit; a grid worker any grid under their grids."""
    scope = user_scope(user)
    if scope.is_district:
        return isinstance(page, DistrictPage | GridPage | GridBranchPage)
    if isinstance(page, GridPage | GridBranchPage) and any(
        page.path.startswith(p) for p in scope.paths
    ):
        return True
    return isinstance(page, GridPage) and any(
        page.path.startswith(p) for p in scope.grid_worker_paths
    )


def unit_q(page, prefix: str = "") -> Q:
    """The requests of a unit (``prefix`` leads to the request, e.g. "request__")."""
    if isinstance(page, GridBranchPage):
        return Q(**{f"{prefix}branch_id": page.pk})
    if isinstance(page, GridPage):
        return Q(**{f"{prefix}grid__path__startswith": page.path})
    return Q()


@dataclass(frozen=True)
class Percentiles:
    count: int
    median: dt.timedelta | None
    p90: dt.timedelta | None


@dataclass
class Dashboard:
    unit: object
    now: dt.datetime
    open_total: int
    open_by_age: dict[str, int]
    to_accept: Percentiles
    to_complete: Percentiles
    reviewed: int
    satisfied: int
    overdue_total: int
    overdue: list = field(default_factory=list)
    busiest: list = field(default_factory=list)

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.reviewed if self.reviewed else None

    @property
    def shows_branches(self) -> bool:
        return not isinstance(self.unit, GridBranchPage)


def _rank_value(qs: QuerySet, n: int, p: float):
    """The nearest-rank ``p`` percentile of the ordered one-column ``qs`` of ``n`` rows."""
    if not n:
        return None
    return qs[max(math.ceil(p * n), 1) - 1]


def _percentiles(qs: QuerySet, start: str, end: str, since: dt.datetime, n: int) -> Percentiles:
    ordered = (
        qs.filter(**{f"{end}__gte": since, f"{start}__isnull": False})
        .annotate(took=ExpressionWrapper(F(end) - F(start), output_field=DurationField()))
        .order_by("took", "pk")
        .values_list("took", flat=True)
    )
    return Percentiles(
        count=n, median=_rank_value(ordered, n, 0.5), p90=_rank_value(ordered, n, 0.9)
    )


def request_dashboard(*, unit, now: dt.datetime | None = None) -> Dashboard:
    """Every figure of the dispatch dashboard for one unit (district page, grid
    or branch). A fixed number of queries, however many requests there are."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=PERIOD_DAYS)
    qs = ServiceRequest.objects.filter(unit_q(unit))
    is_open = Q(status__in=ServiceRequest.OPEN)
    late = Q(window_end__lt=now) & ~Q(status__in=DONE)
    counts = {}
    for key, low, high in AGE_BUCKETS:
        age = Q(created_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            age &= Q(created_at__gt=now - dt.timedelta(days=high))
        counts[key] = Count("pk", filter=is_open & age)
    reviewed = Q(status=ServiceRequest.Status.REVIEWED, completed_at__gte=since)
    figures = qs.aggregate(
        open_total=Count("pk", filter=is_open),
        overdue_total=Count("pk", filter=late),
        accepted_n=Count("pk", filter=Q(accepted_at__gte=since)),
        completed_n=Count("pk", filter=Q(completed_at__gte=since)),
        reviewed=Count("pk", filter=reviewed),
        satisfied=Count("pk", filter=reviewed & Q(satisfied=True)),
        **counts,
    )
    overdue = list(
        qs.filter(late)
        .select_related("grid")
        # Private values stay encrypted: the list shows none of them.
        .defer("address", "requester_phone", "description")
        .order_by("window_end", "pk")[:OVERDUE_SHOWN]
    )
    for request in overdue:
        request.late_by = now - request.window_end
    return Dashboard(
        unit=unit,
        now=now,
        open_total=figures["open_total"],
        open_by_age={key: figures[key] for key, _low, _high in AGE_BUCKETS},
        to_accept=_percentiles(qs, "created_at", "accepted_at", since, figures["accepted_n"]),
        to_complete=_percentiles(qs, "created_at", "completed_at", since, figures["completed_n"]),
        reviewed=figures["reviewed"],
        satisfied=figures["satisfied"],
        overdue_total=figures["overdue_total"],
        overdue=overdue,
        busiest=busiest_volunteers(unit=unit, now=now),
    )


def busiest_volunteers(*, unit, now: dt.datetime, limit: int = BUSIEST_SHOWN) -> list[dict]:
    """Who took the most offers of the unit's requests in the last 30 days: one
    query. Each row: user_id, name, taken, completed."""
    since = now - dt.timedelta(days=BUSY_DAYS)
    rows = (
        Offer.objects.filter(unit_q(unit, "request__"))
        .filter(status__in=Offer.TAKEN, answered_at__gte=since)
        .values(
            "user_id",
            "user__username",
            "user__first_name",
            "user__last_name",
            "user__member__name",
        )
        .annotate(
            taken=Count("pk"),
            completed=Count("pk", filter=Q(status=Offer.Status.COMPLETED)),
        )
        .order_by("-taken", "-completed", "user_id")[:limit]
    )
    people = []
    for row in rows:
        full = full_name(row["user__first_name"], row["user__last_name"])
        people.append(
            {
                "user_id": row["user_id"],
                "name": row["user__member__name"] or full or row["user__username"],
                "taken": row["taken"],
                "completed": row["completed"],
            }
        )
    return people


def lagging_branches(*, unit, now: dt.datetime | None = None) -> QuerySet:
    """One row per branch of the unit, worst first: most overdue requests, then
    most open, then the oldest open request. Counts over the branch's requests;
    satisfaction over its reviews of the last 90 days. Paginate it."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=PERIOD_DAYS)
    branches = GridBranchPage.objects.all()
    if not isinstance(unit, DistrictPage):
        branches = branches.filter(path__startswith=unit.path)
    req = "service_requests"
    is_open = Q(**{f"{req}__status__in": ServiceRequest.OPEN})
    reviewed = Q(**{f"{req}__status": ServiceRequest.Status.REVIEWED}) & Q(
        **{f"{req}__completed_at__gte": since}
    )
    return (
        branches.annotate(
            open_count=Count(req, filter=is_open),
            overdue_count=Count(
                req,
                filter=Q(**{f"{req}__window_end__lt": now}) & ~Q(**{f"{req}__status__in": DONE}),
            ),
            oldest_open=Min(f"{req}__created_at", filter=is_open),
            completed_count=Count(req, filter=Q(**{f"{req}__completed_at__gte": since})),
            reviewed_count=Count(req, filter=reviewed),
            satisfied_count=Count(req, filter=reviewed & Q(**{f"{req}__satisfied": True})),
        )
        .only("pk", "title", "path")
        .order_by(
            "-overdue_count",
            "-open_count",
            F("oldest_open").asc(nulls_last=True),
            "path",
        )
    )
