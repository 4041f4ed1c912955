"""Service requests imported in bulk from Excel or CSV: one more kind of import
(portal/imports/: the same file reader, header matching, per-row error report,
all-or-nothing write and audit entry), with the request's own columns, value
parsing (dates with times, categories, phones, skills), the grids the
importing user may record in, and the write that queues the new requests for
the search index."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from django.db.models.functions import Length, Substr
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import GridBranchPage, GridPage
from portal.imports.checking import (
    LIST_SPLIT,
    RowChecker,
    RowError,
    chunks,
    field_limit,
    parse_choice,
    parse_list,
    rows_check,
)
from portal.imports.examples import import_example
from portal.imports.kinds import (
    ImportColumn,
    address_column,
    contact_phone_column,
    register_import_kind,
)
from portal.imports.reading import ImportRow
from portal.imports.writing import BATCH_SIZE, ImportResult, import_finish
from portal.roles import user_scope
from portal.validators import is_mobile, normalise_mobile
from search.tasks import index_later
from volunteers.models import RequestEvent, ServiceRequest, Skill

REQUESTS = "requests"

REQUEST_COLUMNS = (
    ImportColumn("title", gettext_lazy("Title"), ("标题", "需求标题", "title"), required=True),
    ImportColumn(
        "category", gettext_lazy("Category"), ("类别", "需求类别", "category"), required=True
    ),
    ImportColumn("grid", gettext_lazy("Grid"), ("网格", "所属网格", "grid"), required=True),
    address_column("address"),
    ImportColumn(
        "requester_name",
        gettext_lazy("Resident"),
        ("居民姓名", "居民", "姓名", "resident", "resident name"),
    ),
    contact_phone_column("requester_phone"),
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
# file of portal/imports/ work for them unchanged.
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
    file = _RequestFile(user, rows)
    pending, errors = rows_check(REQUESTS, rows, file.check)
    _check_existing(pending, errors)
    return import_finish(
        kind=REQUESTS,
        total=len(rows),
        errors=errors,
        dry_run=dry_run,
        write=lambda: _request_write(pending, user=user, source=source),
        user=user,
        model=ServiceRequest,
        source=source,
    )


_CATEGORIES_SHOWN = [words[0] for words in _CATEGORY_WORDS.values()]
_URGENCIES_SHOWN = [words[0] for words in _URGENCY_WORDS.values()]


class _RequestFile:
    """What checking a file of requests looks up once for the whole file (its
    grids and their branches, its skills, the words for categories and
    urgencies), and the requests met so far."""

    def __init__(self, user, rows: Sequence[ImportRow]):
        self.user = user
        self.grids = _GridResolver(user, {r.values.get("grid", "") for r in rows})
        self.skills = _skills_named(rows)
        self.skill_names = list(self.skills)[:30]
        self.categories = _choice_map(ServiceRequest.Category.choices, _CATEGORY_WORDS)
        self.urgencies = _choice_map(ServiceRequest.Urgency.choices, _URGENCY_WORDS)
        self.now = timezone.now()
        self.seen: dict[tuple, int] = {}

    def check(self, checker: RowChecker) -> tuple[int, dict, list[Skill]]:
        """One row's number, request fields and skills (the checker holds its errors)."""
        title = checker.max_length(
            "title", checker.required("title"), field_limit(ServiceRequest, "title")
        )
        category = (
            parse_choice(checker, "category", self.categories, shown=_CATEGORIES_SHOWN)
            if checker.required("category")
            else None
        )
        grid, branch = self.grids.resolve(checker) if checker.required("grid") else (None, None)
        start, end = self.window(checker)
        name = checker.max_length(
            "requester_name",
            checker.value("requester_name"),
            field_limit(ServiceRequest, "requester_name"),
        )
        phone = _parse_phone(checker, "requester_phone")
        urgency = parse_choice(
            checker,
            "urgency",
            self.urgencies,
            default=ServiceRequest.Urgency.NORMAL,
            shown=_URGENCIES_SHOWN,
        )
        people = _parse_people(checker, "people_needed")
        row_skills = parse_list(
            checker,
            "skills",
            self.skills.get,
            code="unknown_skill",
            message=_("“%(value)s” is not a known skill. Known skills: %(choices)s"),
            allowed=self.skill_names,
        )
        if grid is not None and title and start:
            self.repeat_check(checker, (grid.pk, title, start))
        fields = dict(
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
            created_by=self.user,
        )
        return checker.row.number, fields, row_skills

    def window(self, checker: RowChecker) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The start and end, both required, the end after the start and not past."""
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
            elif end <= self.now:
                checker.error("window_end", "end_passed", _("This time has already passed."))
        return start, end

    def repeat_check(self, checker: RowChecker, key: tuple) -> None:
        """No other row has the same grid, title and start."""
        if key in self.seen:
            checker.error(
                "title",
                "duplicate_in_file",
                _("The same request (grid, title and start) is also on row %(row)d.")
                % {"row": self.seen[key]},
            )
        self.seen.setdefault(key, checker.row.number)


def _skills_named(rows: Sequence[ImportRow]) -> dict[str, Skill]:
    """The skills the file names, by name; with up to 200 others when it names
    an unknown one (the error message lists the skills that do exist)."""
    skill_names = {
        part.strip()
        for r in rows
        for part in LIST_SPLIT.split(r.values.get("skills", ""))
        if part.strip()
    }
    skills = {s.name: s for s in Skill.objects.filter(name__in=sorted(skill_names))}
    if any(r.values.get("skills") for r in rows) and len(skills) < len(skill_names):
        skills |= {s.name: s for s in Skill.objects.all()[:200]}
    return skills


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
    ServiceRequest.objects.bulk_create(requests, batch_size=BATCH_SIZE)
    through = ServiceRequest.skills.through
    through.objects.bulk_create(
        [
            through(servicerequest_id=request.pk, skill_id=skill.pk)
            for request, (_n, _f, row_skills) in zip(requests, pending, strict=True)
            for skill in row_skills
        ],
        batch_size=BATCH_SIZE,
    )
    note = (_("Imported from %(file)s") % {"file": source})[:300] if source else ""
    RequestEvent.objects.bulk_create(
        [
            RequestEvent(
                request=request, to_status=ServiceRequest.Status.NEW, actor=user, note=note
            )
            for request in requests
        ],
        batch_size=BATCH_SIZE,
    )
    # bulk_create sends no post_save: index the new requests once this commits.
    index_later(ServiceRequest, [r.pk for r in requests])
    return len(requests)


def request_import_example(*, fmt: str) -> bytes:
    """The example file of the request import (``fmt``: "xlsx" or "csv")."""
    return import_example(kind=REQUESTS, fmt=fmt)
