"""Importing party members: the kind's columns and example rows, its row check
and its write (the pieces every import shares: portal/imports/).

``member_import`` checks every row against the validators, the organisation
tree, the importing user's scope, the rest of the file and the database; unless
it is a dry run, and only when no row has an error, it writes every row in one
transaction with ``bulk_create`` (all or nothing), audits it, and queues the new
members for the search index (``index_later``, on commit).

Messages are English msgids translated to Chinese; ID numbers and mobile
numbers appear in reports only masked. An ID number held by a member the user
may not see gets a neutral refusal, and the attempt is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import BuildingGroupPage, Gender, GridBranchPage, Member, PartyPost
from branches.visibility import pages_in_scope
from portal.crypto import keyed_hash, keyed_hashes
from portal.duplicates import ID_NUMBER_HELD_ELSEWHERE_IMPORT, held_elsewhere_audit, held_hashes
from portal.imports.checking import (
    RowChecker,
    chunks,
    clean_id_number,
    field_limit,
    parse_bool,
    parse_choice,
    parse_date,
    parse_id_number,
    parse_list,
    parse_mobile,
    rows_check,
)
from portal.imports.kinds import ImportColumn, register_import_kind
from portal.imports.reading import ImportRow
from portal.imports.writing import BATCH_SIZE, ImportResult, import_finish
from portal.masking import mask_id_number
from search.tasks import index_later

MEMBERS = "members"

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

MEMBER_EXAMPLES = [
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
]

register_import_kind(MEMBERS, MEMBER_COLUMNS, MEMBER_EXAMPLES)


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

# The post names an error message lists.
_POST_NAMES = [k for k in _POSTS if not k.isascii()]


# --- The import -------------------------------------------------------------------------


def member_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every member row; unless ``dry_run``, and only if no row has an error,
    create all of them in one transaction and write an audit entry.

    Rows must be inside the user's scope (their branches). Duplicate ID numbers,
    within the file or against existing members, are errors."""
    file = _MemberFile(user, rows)
    members, errors = rows_check(MEMBERS, rows, file.check)
    held_elsewhere_audit(
        user=user,
        qs=Member.objects.all(),
        field="id_number",
        masked=file.hidden_hits,
        where=f"import file={source}" if source else "import",
    )
    return import_finish(
        kind=MEMBERS,
        total=len(rows),
        errors=errors,
        dry_run=dry_run,
        write=lambda: _member_write(members),
        user=user,
        model=Member,
        source=source,
    )


class _MemberFile:
    """What checking a file of members looks up once for the whole file (the
    branches and groups it names, the ID numbers members already hold), and
    the ID numbers met so far."""

    def __init__(self, user, rows: Sequence[ImportRow]):
        self.branches = _BranchResolver(user, {r.values.get("branch", "") for r in rows})
        group_titles = {r.values.get("building_group", "") for r in rows} - {""}
        self.groups: dict[str, list[BuildingGroupPage]] = {}
        group_pages = BuildingGroupPage.objects.filter(title__in=group_titles)
        for page in group_pages.only("pk", "path", "title"):
            self.groups.setdefault(page.title, []).append(page)
        # Members the user may see are named as duplicates; others only get a neutral
        # refusal (no membership oracle) and the hit is audited.
        self.existing_hashes, self.hidden_hashes = held_hashes(
            user=user,
            qs=Member.objects.all(),
            hash_field="id_number_hash",
            hashes=_existing_member_hashes(rows),
        )
        self.hidden_hits: list[str] = []
        self.seen_ids: dict[str, int] = {}

    def check(self, checker: RowChecker) -> dict:
        """One row's member fields (the checker holds its errors)."""
        name = checker.max_length("name", checker.required("name"), field_limit(Member, "name"))
        gender = parse_choice(checker, "gender", _GENDERS) if checker.required("gender") else None
        id_number = self.id_number(checker)
        birth_date = _birth_date(checker, id_number)
        phone = parse_mobile(checker, "phone")
        join_date = parse_date(checker, "join_date")
        status = parse_choice(checker, "status", _STATUSES, default=Member.Status.FULL)
        employed = parse_bool(checker, "employed_elsewhere")
        employer = checker.max_length(
            "employer", checker.value("employer"), field_limit(Member, "employer")
        )
        branch = self.branches.resolve(checker, "branch") if checker.required("branch") else None
        group = _resolve_group(checker, self.groups, branch)
        posts = _parse_posts(checker, "party_posts")
        return dict(
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

    def id_number(self, checker: RowChecker) -> str:
        """A valid ID number that no other row and no member holds."""
        id_number = parse_id_number(checker, "id_number")
        if not id_number:
            return id_number
        digest = keyed_hash(id_number)
        if digest in self.seen_ids:
            checker.error(
                "id_number",
                "duplicate_in_file",
                _("This ID number is also on row %(row)d.") % {"row": self.seen_ids[digest]},
            )
        elif digest in self.existing_hashes:
            checker.error(
                "id_number", "duplicate_in_db", _("A member with this ID number already exists.")
            )
        elif digest in self.hidden_hashes:
            checker.error("id_number", "not_importable", ID_NUMBER_HELD_ELSEWHERE_IMPORT)
            self.hidden_hits.append(f"row {checker.row.number} {mask_id_number(id_number)}")
        self.seen_ids.setdefault(digest, checker.row.number)
        return id_number


def _birth_date(checker: RowChecker, id_number: str) -> date | None:
    """The birth date column, which must agree with the ID number; the ID
    number's when the column is empty."""
    birth_date = parse_date(checker, "birth_date")
    if not id_number:
        return birth_date
    id_birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    if birth_date and birth_date != id_birth:
        checker.error(
            "birth_date",
            "birth_date_mismatch",
            _("The birth date differs from the one in the ID number."),
        )
    return birth_date or id_birth


def _parse_posts(checker: RowChecker, key: str) -> list[str]:
    return parse_list(
        checker,
        key,
        lambda part: _POSTS.get(part.lower()),
        code="bad_choice",
        message=_("“%(value)s” is not a party post. Allowed: %(choices)s"),
        allowed=_POST_NAMES,
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


# --- Writing ------------------------------------------------------------------------------


def _member_write(members: list[dict]) -> int:
    # bulk_create runs each field's pre_save, so the keyed hashes are filled in.
    created = Member.objects.bulk_create([Member(**m) for m in members], batch_size=BATCH_SIZE)
    # bulk_create sends no post_save: index the new members once this commits.
    index_later(Member, [m.pk for m in created])
    return len(members)
