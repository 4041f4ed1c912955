"""Importing party members and households (the import pieces every kind shares:
portal/imports.py).

``member_import`` / ``household_import`` check every row against the validators,
the organisation tree, the importing user's scope, the rest of the file and the
database; unless it is a dry run, and only when no row has an error, they write
every row in one transaction with ``bulk_create`` (all or nothing), audit it, and
queue the new records for the search index (``index_later``, on commit).

Messages are English msgids translated to Chinese; private values (ID numbers,
mobile numbers, addresses) appear in reports only masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.forms import pages_in_scope
from branches.models import (
    Building,
    BuildingGroupPage,
    CareTag,
    Gender,
    GridBranchPage,
    Household,
    Member,
    PartyPost,
)
from branches.visibility import buildings_visible_to
from portal.crypto import keyed_hash, keyed_hashes
from portal.duplicates import ID_NUMBER_HELD_ELSEWHERE_IMPORT, held_elsewhere_audit, held_hashes
from portal.imports import (
    BATCH_SIZE,
    LIST_SPLIT,
    ImportColumn,
    ImportResult,
    ImportRow,
    RowChecker,
    RowError,
    chunks,
    clean_id_number,
    field_limit,
    import_write,
    parse_bool,
    parse_choice,
    parse_date,
    parse_id_number,
    parse_mobile,
    register_import_kind,
)
from portal.masking import mask_id_number
from search.tasks import index_later

MEMBERS = "members"


HOUSEHOLDS = "households"


MEMBER_COLUMNS = (
    ImportColumn("name", gettext_lazy("Name"), ("姓名", "name"), required=True),
    ImportColumn("gender", gettext_lazy("Gender"), ("性别", "gender", "sex"), required=True),
    ImportColumn(
        "birth_date", gettext_lazy("Birth date"), ("出生日期", "birth date", "date of birth")
    ),
    ImportColumn(
        "id_number",
        gettext_lazy("ID number"),
        ("身份证号", "身份证号码", "公民身份号码", "id number", "id no", "id card number"),
        required=True,
        private=True,
    ),
    ImportColumn(
        "phone",
        gettext_lazy("Mobile number"),
        ("手机号", "手机号码", "手机", "mobile", "mobile number", "phone", "phone number"),
        private=True,
    ),
    ImportColumn(
        "join_date",
        gettext_lazy("Date joined the Party"),
        ("入党日期", "入党时间", "join date", "date joined", "date joined the party"),
    ),
    ImportColumn(
        "status", gettext_lazy("Member status"), ("党员类别", "党员状态", "status", "member status")
    ),
    ImportColumn(
        "employed_elsewhere",
        gettext_lazy("Employed elsewhere"),
        ("在职党员", "是否在职党员", "employed elsewhere", "employed"),
    ),
    ImportColumn("employer", gettext_lazy("Employer"), ("工作单位", "employer", "work unit")),
    ImportColumn(
        "branch", gettext_lazy("Branch"), ("所属支部", "党支部", "支部", "branch"), required=True
    ),
    ImportColumn(
        "building_group",
        gettext_lazy("Building group"),
        ("所属党小组", "党小组", "building group", "group"),
    ),
    ImportColumn(
        "party_posts",
        gettext_lazy("Party posts"),
        ("党内职务", "职务", "party posts", "party post", "posts"),
    ),
)


HOUSEHOLD_COLUMNS = (
    ImportColumn("estate", gettext_lazy("Estate"), ("小区", "小区名称", "estate"), required=True),
    ImportColumn("building", gettext_lazy("Building"), ("楼栋", "楼号", "building"), required=True),
    ImportColumn(
        "room",
        gettext_lazy("Unit and room"),
        ("单元房号", "房号", "单元及房号", "unit and room", "room"),
        required=True,
    ),
    ImportColumn(
        "head_name",
        gettext_lazy("Head of household"),
        ("户主", "户主姓名", "head of household", "head"),
        required=True,
    ),
    ImportColumn(
        "phone",
        gettext_lazy("Phone"),
        ("联系电话", "电话", "手机号", "phone", "mobile"),
        private=True,
    ),
    ImportColumn("address", gettext_lazy("Address"), ("地址", "住址", "address"), private=True),
    ImportColumn(
        "care_tags", gettext_lazy("Care tags"), ("关怀标签", "关怀对象", "care tags", "tags")
    ),
    ImportColumn("branch", gettext_lazy("Branch"), ("所属支部", "党支部", "支部", "branch")),
)


_GENDERS = {
    "男": Gender.MALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "女": Gender.FEMALE,
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
}


_STATUSES = {
    "正式党员": Member.Status.FULL,
    "正式": Member.Status.FULL,
    "full": Member.Status.FULL,
    "full member": Member.Status.FULL,
    "预备党员": Member.Status.PROBATIONARY,
    "预备": Member.Status.PROBATIONARY,
    "probationary": Member.Status.PROBATIONARY,
    "probationary member": Member.Status.PROBATIONARY,
}


_POSTS = {
    "书记": PartyPost.SECRETARY,
    "支部书记": PartyPost.SECRETARY,
    "副书记": PartyPost.DEPUTY_SECRETARY,
    "支部副书记": PartyPost.DEPUTY_SECRETARY,
    "委员": PartyPost.COMMITTEE_MEMBER,
    "支委": PartyPost.COMMITTEE_MEMBER,
    "支委委员": PartyPost.COMMITTEE_MEMBER,
    "组长": PartyPost.GROUP_LEADER,
    "小组长": PartyPost.GROUP_LEADER,
    "党小组长": PartyPost.GROUP_LEADER,
    "中心户户主": PartyPost.CENTRAL_HOUSEHOLD_HEAD,
    "党员中心户户主": PartyPost.CENTRAL_HOUSEHOLD_HEAD,
    "示范岗": PartyPost.DEMO_POST_HOLDER,
    "党员示范岗": PartyPost.DEMO_POST_HOLDER,
    **{value: value for value in PartyPost.values},
    **{str(label).lower(): value for value, label in PartyPost.choices},
}


def _parse_posts(checker: RowChecker, key: str) -> list[str]:
    posts = []
    for part in LIST_SPLIT.split(checker.value(key)):
        part = part.strip()
        if not part:
            continue
        post = _POSTS.get(part.lower())
        if post is None:
            checker.error(
                key,
                "bad_choice",
                _("“%(value)s” is not a party post. Allowed: %(choices)s")
                % {
                    "value": part,
                    "choices": "、".join(k for k in _POSTS if not k.isascii()),
                },
                show_value=False,
            )
        elif post not in posts:
            posts.append(post)
    return posts


# --- Finding branches and groups -------------------------------------------------------


class _BranchResolver:
    """Branches by title, with the user's scope; two queries for the whole file."""

    def __init__(self, user, titles: set[str]):
        titles = {t for t in titles if t}
        self.by_title: dict[str, list[GridBranchPage]] = {}
        for page in GridBranchPage.objects.filter(title__in=titles).only("pk", "path", "title"):
            self.by_title.setdefault(page.title, []).append(page)
        self.in_scope = set(
            pages_in_scope(user, GridBranchPage.objects.filter(title__in=titles)).values_list(
                "pk", flat=True
            )
        )

    def resolve(self, checker: RowChecker, key: str) -> GridBranchPage | None:
        title = checker.value(key)
        candidates = self.by_title.get(title, [])
        if not candidates:
            checker.error(key, "unknown_branch", _("There is no branch with this name."))
            return None
        allowed = [p for p in candidates if p.pk in self.in_scope]
        if not allowed:
            checker.error(key, "out_of_scope", _("You may not import into this branch."))
            return None
        if len(allowed) > 1:
            checker.error(
                key, "ambiguous_branch", _("Several branches have this name; rename one of them.")
            )
            return None
        return allowed[0]


# --- Members ----------------------------------------------------------------------------


def member_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every member row; unless ``dry_run``, and only if no row has an error,
    create all of them in one transaction and write an audit entry.

    Rows must be inside the user's scope (their branches). Duplicate ID numbers,
    within the file or against existing members, are errors."""
    errors: list[RowError] = []
    branches = _BranchResolver(user, {r.values.get("branch", "") for r in rows})
    group_titles = {r.values.get("building_group", "") for r in rows} - {""}
    groups: dict[str, list[BuildingGroupPage]] = {}
    group_pages = BuildingGroupPage.objects.filter(title__in=group_titles)
    for page in group_pages.only("pk", "path", "title"):
        groups.setdefault(page.title, []).append(page)
    # Members the user may see are named as duplicates; others only get a neutral
    # refusal (no membership oracle) and the hit is audited.
    existing_hashes, hidden_hashes = held_hashes(
        user=user,
        qs=Member.objects.all(),
        hash_field="id_number_hash",
        hashes=_existing_member_hashes(rows),
    )
    hidden_hits = []

    columns = {c.key: c for c in MEMBER_COLUMNS}
    today = timezone.localdate()
    seen_ids: dict[str, int] = {}
    members = []
    for row in rows:
        checker = RowChecker(row, columns, errors, today)
        name = checker.max_length("name", checker.required("name"), field_limit(Member, "name"))
        gender = parse_choice(checker, "gender", _GENDERS) if checker.required("gender") else None
        id_number = parse_id_number(checker, "id_number")
        if id_number:
            digest = keyed_hash(id_number)
            if digest in seen_ids:
                checker.error(
                    "id_number",
                    "duplicate_in_file",
                    _("This ID number is also on row %(row)d.") % {"row": seen_ids[digest]},
                )
            elif digest in existing_hashes:
                checker.error(
                    "id_number",
                    "duplicate_in_db",
                    _("A member with this ID number already exists."),
                )
            elif digest in hidden_hashes:
                checker.error("id_number", "not_importable", ID_NUMBER_HELD_ELSEWHERE_IMPORT)
                hidden_hits.append(f"row {row.number} {mask_id_number(id_number)}")
            seen_ids.setdefault(digest, row.number)
        birth_date = parse_date(checker, "birth_date")
        if id_number:
            id_birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            if birth_date and birth_date != id_birth:
                checker.error(
                    "birth_date",
                    "birth_date_mismatch",
                    _("The birth date differs from the one in the ID number."),
                )
            birth_date = birth_date or id_birth
        phone = parse_mobile(checker, "phone")
        join_date = parse_date(checker, "join_date")
        status = parse_choice(checker, "status", _STATUSES, default=Member.Status.FULL)
        employed = parse_bool(checker, "employed_elsewhere")
        employer = checker.max_length(
            "employer", checker.value("employer"), field_limit(Member, "employer")
        )
        branch = branches.resolve(checker, "branch") if checker.required("branch") else None
        group = _resolve_group(checker, groups, branch)
        posts = _parse_posts(checker, "party_posts")
        if not checker.failed:
            members.append(
                dict(
                    name=name,
                    gender=gender,
                    birth_date=birth_date,
                    id_number=id_number,
                    phone=phone,
                    join_date=join_date,
                    status=status,
                    employed_elsewhere=employed,
                    employer=employer,
                    branch=branch,
                    building_group=group,
                    party_posts=posts,
                )
            )

    held_elsewhere_audit(
        user=user,
        qs=Member.objects.all(),
        field="id_number",
        masked=hidden_hits,
        where=f"import file={source}" if source else "import",
    )
    result = ImportResult(kind=MEMBERS, total=len(rows), errors=errors, dry_run=dry_run)
    if dry_run or not result.ok:
        return result
    return import_write(
        result,
        lambda: _member_write(members),
        user=user,
        model=Member,
        source=source,
    )


def _existing_member_hashes(rows: Sequence[ImportRow]) -> set[str]:
    """The keyed hashes of the file's ID numbers that some member already holds."""
    current = {}  # digest under any hash key (during a rotation) -> under the current one
    for row in rows:
        value = clean_id_number(row.values.get("id_number", ""))
        if value:
            current.update(dict.fromkeys(keyed_hashes(value), keyed_hash(value)))
    found = set()
    for chunk in chunks(sorted(current)):
        stored = Member.objects.filter(id_number_hash__in=chunk)
        found.update(current[h] for h in stored.values_list("id_number_hash", flat=True))
    return found


def _resolve_group(checker: RowChecker, groups, branch) -> BuildingGroupPage | None:
    title = checker.value("building_group")
    if not title:
        return None
    candidates = groups.get(title, [])
    if not candidates:
        checker.error(
            "building_group", "unknown_group", _("There is no building group with this name.")
        )
        return None
    if branch is None:
        return None
    under = [g for g in candidates if g.path.startswith(branch.path)]
    if not under:
        checker.error(
            "building_group",
            "group_not_in_branch",
            _("This building group belongs to another branch."),
        )
        return None
    return under[0]


def _member_write(members: list[dict]) -> int:
    # bulk_create runs each field's pre_save, so the keyed hashes are filled in.
    created = Member.objects.bulk_create([Member(**m) for m in members], batch_size=BATCH_SIZE)
    # bulk_create sends no post_save: index the new members once this commits.
    index_later(Member, [m.pk for m in created])
    return len(members)


# --- Households -------------------------------------------------------------------------


def household_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every household row; unless ``dry_run``, and only if no row has an
    error, create all of them (with their care tags) in one transaction and audit it.

    A building is found by estate and name among the buildings in the user's scope
    (narrowed by the branch column when the file has one); a building and room
    already in the file or in the database is an error."""
    errors: list[RowError] = []
    buildings = _BuildingResolver(user, rows)
    existing_rooms = _existing_rooms(rows, buildings.ids)
    tags = {t.name: t for t in CareTag.objects.all()}

    columns = {c.key: c for c in HOUSEHOLD_COLUMNS}
    today = timezone.localdate()
    seen_rooms: dict[tuple[int, str], int] = {}
    households = []
    household_tags = []
    for row in rows:
        checker = RowChecker(row, columns, errors, today)
        estate = checker.required("estate")
        building_name = checker.required("building")
        room = checker.max_length(
            "room", _clean_room(checker.required("room")), field_limit(Household, "room")
        )
        head_name = checker.max_length(
            "head_name", checker.required("head_name"), field_limit(Household, "head_name")
        )
        phone = parse_mobile(checker, "phone")
        address = checker.value("address")
        row_tags = _parse_tags(checker, tags)
        building = buildings.resolve(checker) if estate and building_name else None
        if building is not None and room:
            key = (building.pk, room)
            if key in seen_rooms:
                checker.error(
                    "room",
                    "duplicate_in_file",
                    _("This building and room are also on row %(row)d.") % {"row": seen_rooms[key]},
                )
            elif key in existing_rooms:
                checker.error(
                    "room",
                    "duplicate_in_db",
                    _("A household in this building and room already exists."),
                )
            seen_rooms.setdefault(key, row.number)
        if not checker.failed:
            households.append(
                dict(
                    building=building,
                    room=room,
                    head_name=head_name,
                    phone=phone,
                    address=address or f"{building.estate}{building.name}{room}",
                )
            )
            household_tags.append(row_tags)

    result = ImportResult(kind=HOUSEHOLDS, total=len(rows), errors=errors, dry_run=dry_run)
    if dry_run or not result.ok:
        return result
    return import_write(
        result,
        lambda: _household_write(households, household_tags),
        user=user,
        model=Household,
        source=source,
    )


def _clean_room(text: str) -> str:
    return "".join(text.split())


class _BuildingResolver:
    """Buildings by estate and name (narrowed by the branch column when filled in),
    with the user's scope; two queries per chunk of estates for the whole file."""

    def __init__(self, user, rows: Sequence[ImportRow]):
        estates = sorted({r.values.get("estate", "") for r in rows} - {""})
        names = sorted({r.values.get("building", "") for r in rows} - {""})
        self.by_key: dict[tuple[str, str], list[Building]] = {}
        self.visible: set[int] = set()
        self.branch_titles: set[str] = set()
        for chunk in chunks(estates):
            qs = Building.objects.filter(estate__in=chunk, name__in=names)
            for building in qs.select_related("branch").only(
                "pk", "estate", "name", "branch__title"
            ):
                self.by_key.setdefault((building.estate, building.name), []).append(building)
                self.branch_titles.add(building.branch.title)
            self.visible.update(buildings_visible_to(user, qs).values_list("pk", flat=True))
        self.ids = {b.pk for found in self.by_key.values() for b in found}
        wanted_branches = {r.values.get("branch", "") for r in rows} - {""} - self.branch_titles
        # Branch names that match no candidate building may still be real branches.
        self.other_branches = set(
            GridBranchPage.objects.filter(title__in=wanted_branches).values_list("title", flat=True)
        )

    def resolve(self, checker: RowChecker) -> Building | None:
        candidates = self.by_key.get((checker.value("estate"), checker.value("building")), [])
        branch_title = checker.value("branch")
        if branch_title:
            if branch_title not in self.branch_titles | self.other_branches:
                checker.error("branch", "unknown_branch", _("There is no branch with this name."))
                return None
            candidates = [b for b in candidates if b.branch.title == branch_title]
        if not candidates:
            checker.error(
                "building",
                "unknown_building",
                _("There is no building with this estate and name in the branch."),
            )
            return None
        allowed = [b for b in candidates if b.pk in self.visible]
        if not allowed:
            checker.error(
                "branch" if branch_title else "building",
                "out_of_scope",
                _("You may not import into this branch."),
            )
            return None
        if len(allowed) > 1:
            checker.error(
                "building",
                "ambiguous_building",
                _("Several branches have a building with this name; fill in the branch column."),
            )
            return None
        return allowed[0]


def _existing_rooms(rows: Sequence[ImportRow], building_ids: set[int]) -> set[tuple[int, str]]:
    rooms = sorted({_clean_room(r.values.get("room", "")) for r in rows} - {""})
    found = set()
    for chunk in chunks(rooms):
        found.update(
            Household.objects.filter(building_id__in=building_ids, room__in=chunk).values_list(
                "building_id", "room"
            )
        )
    return found


def _parse_tags(checker: RowChecker, tags: dict[str, CareTag]) -> list[CareTag]:
    found = []
    for part in LIST_SPLIT.split(checker.value("care_tags")):
        part = part.strip()
        if not part:
            continue
        tag = tags.get(part)
        if tag is None:
            checker.error(
                "care_tags",
                "bad_choice",
                _("“%(value)s” is not a care tag. Allowed: %(choices)s")
                % {"value": part, "choices": "、".join(tags) or "—"},
                show_value=False,
            )
        elif tag not in found:
            found.append(tag)
    return found


def _household_write(pending: list[dict], household_tags: list[list[CareTag]]) -> int:
    households = [Household(**h) for h in pending]
    Household.objects.bulk_create(households, batch_size=BATCH_SIZE)
    if any(h.pk is None for h in households):
        # Backends that cannot return ids from a bulk insert: look them up.
        rows = Household.objects.filter(
            building_id__in={h.building_id for h in households}
        ).values_list("building_id", "room", "pk")
        ids = {(building_id, room): pk for building_id, room, pk in rows}
        for household in households:
            household.pk = ids[(household.building_id, household.room)]
    if any(household_tags):
        through = Household.care_tags.through
        through.objects.bulk_create(
            [
                through(household_id=household.pk, caretag_id=tag.pk)
                for household, row_tags in zip(households, household_tags, strict=True)
                for tag in row_tags
            ],
            batch_size=BATCH_SIZE,
        )
    # bulk_create sends no post_save: index the new households once this commits.
    index_later(Household, [h.pk for h in households])
    return len(households)


EXAMPLE_ROWS = {
    MEMBERS: [
        {
            "name": "张伟",
            "gender": "男",
            "birth_date": date(1985, 3, 12),
            "id_number": "11010119850312" + "1234",
            "phone": "13800138001",
            "join_date": date(2008, 7, 1),
            "status": "正式党员",
            "employed_elsewhere": "是",
            "employer": "区教育局",
            "branch": "丰收社区第一网格党支部",
            "building_group": "晓园新村3号楼党小组",
            "party_posts": "党小组长",
        },
        {
            "name": "李娜",
            "gender": "女",
            "birth_date": date(1992, 11, 5),
            "id_number": "11010119921105" + "2345",
            "phone": "13900139002",
            "join_date": date(2023, 6, 28),
            "status": "预备党员",
            "employed_elsewhere": "否",
            "employer": "",
            "branch": "丰收社区第一网格党支部",
            "building_group": "",
            "party_posts": "",
        },
    ],
    HOUSEHOLDS: [
        {
            "estate": "晓园新村",
            "building": "3号楼",
            "room": "2单元301",
            "head_name": "王芳",
            "phone": "13700137003",
            "address": "晓园新村3号楼2单元301",
            "care_tags": "",
            "branch": "丰收社区第一网格党支部",
        },
        {
            "estate": "晓园新村",
            "building": "3号楼",
            "room": "2单元302",
            "head_name": "赵强",
            "phone": "",
            "address": "",
            "care_tags": "",
            "branch": "丰收社区第一网格党支部",
        },
    ],
}


register_import_kind(MEMBERS, MEMBER_COLUMNS, EXAMPLE_ROWS[MEMBERS])
register_import_kind(HOUSEHOLDS, HOUSEHOLD_COLUMNS, EXAMPLE_ROWS[HOUSEHOLDS])
