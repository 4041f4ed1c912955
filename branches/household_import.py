"""Importing households: the kind's columns and example rows, its row check and
its write (the pieces every import shares: portal/imports/).

``household_import`` finds each row's building by estate and name among the
buildings in the importing user's scope, and checks the room against the rest
of the file and the database; unless it is a dry run, and only when no row has
an error, it writes every household (with its care tags) in one transaction
(all or nothing), audits it, and queues the new households for the search index.

Phones and addresses appear in reports only masked.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import Building, CareTag, GridBranchPage, Household
from branches.visibility import buildings_visible_to
from portal.imports.checking import (
    RowChecker,
    chunks,
    field_limit,
    parse_list,
    parse_mobile,
    rows_check,
)
from portal.imports.kinds import (
    ImportColumn,
    address_column,
    contact_phone_column,
    register_import_kind,
)
from portal.imports.reading import ImportRow
from portal.imports.writing import BATCH_SIZE, ImportResult, import_finish
from search.tasks import index_later

HOUSEHOLDS = "households"

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
    contact_phone_column("phone"),
    address_column("address"),
    ImportColumn(
        "care_tags", gettext_lazy("Care tags"), ("关怀标签", "关怀对象", "care tags", "tags")
    ),
    ImportColumn("branch", gettext_lazy("Branch"), ("所属支部", "党支部", "支部", "branch")),
)

HOUSEHOLD_EXAMPLES = [
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
]

register_import_kind(HOUSEHOLDS, HOUSEHOLD_COLUMNS, HOUSEHOLD_EXAMPLES)


def household_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every household row; unless ``dry_run``, and only if no row has an
    error, create all of them (with their care tags) in one transaction and audit it.

    A building is found by estate and name among the buildings in the user's scope
    (narrowed by the branch column when the file has one); a building and room
    already in the file or in the database is an error."""
    file = _HouseholdFile(user, rows)
    checked, errors = rows_check(HOUSEHOLDS, rows, file.check)
    return import_finish(
        kind=HOUSEHOLDS,
        total=len(rows),
        errors=errors,
        dry_run=dry_run,
        write=lambda: _household_write(checked),
        user=user,
        model=Household,
        source=source,
    )


class _HouseholdFile:
    """What checking a file of households looks up once for the whole file (the
    buildings it names, their rooms already taken, the care tags), and the
    rooms met so far."""

    def __init__(self, user, rows: Sequence[ImportRow]):
        self.buildings = _BuildingResolver(user, rows)
        self.existing_rooms = _existing_rooms(rows, self.buildings.ids)
        self.tags = {t.name: t for t in CareTag.objects.all()}
        self.tag_names = list(self.tags)
        self.seen_rooms: dict[tuple[int, str], int] = {}

    def check(self, checker: RowChecker) -> tuple[dict, list[CareTag]]:
        """One row's household fields and care tags (the checker holds its errors)."""
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
        row_tags = parse_list(
            checker,
            "care_tags",
            self.tags.get,
            code="bad_choice",
            message=_("“%(value)s” is not a care tag. Allowed: %(choices)s"),
            allowed=self.tag_names,
        )
        building = self.buildings.resolve(checker) if estate and building_name else None
        if building is not None and room:
            self.room_check(checker, (building.pk, room))
        if checker.failed:
            return {}, []
        fields = dict(
            building=building,
            room=room,
            head_name=head_name,
            phone=phone,
            address=address or f"{building.estate}{building.name}{room}",
        )
        return fields, row_tags

    def room_check(self, checker: RowChecker, key: tuple[int, str]) -> None:
        """A building and room that no other row and no household has."""
        if key in self.seen_rooms:
            checker.error(
                "room",
                "duplicate_in_file",
                _("This building and room are also on row %(row)d.")
                % {"row": self.seen_rooms[key]},
            )
        elif key in self.existing_rooms:
            checker.error(
                "room",
                "duplicate_in_db",
                _("A household in this building and room already exists."),
            )
        self.seen_rooms.setdefault(key, checker.row.number)


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


def _household_write(checked: list[tuple[dict, list[CareTag]]]) -> int:
    households = [Household(**fields) for fields, _tags in checked]
    Household.objects.bulk_create(households, batch_size=BATCH_SIZE)
    if any(h.pk is None for h in households):
        # Backends that cannot return ids from a bulk insert: look them up.
        rows = Household.objects.filter(
            building_id__in={h.building_id for h in households}
        ).values_list("building_id", "room", "pk")
        ids = {(building_id, room): pk for building_id, room, pk in rows}
        for household in households:
            household.pk = ids[(household.building_id, household.room)]
    through = Household.care_tags.through
    links = [
        through(household_id=household.pk, caretag_id=tag.pk)
        for household, (_fields, row_tags) in zip(households, checked, strict=True)
        for tag in row_tags
    ]
    if links:
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)
    # bulk_create sends no post_save: index the new households once this commits.
    index_later(Household, [h.pk for h in households])
    return len(households)
