"""The demo generator's state and its tree: ``DemoDistrict`` (what the steps
share, with the one random source) and the timed ``Result``; the district page
(the site's root), and the grids, branches and building groups of the plan
(branches/demo_plan.py), written in bulk by ``PageWriter`` with their treebeard
paths (base-36, step 4) and one published revision each; ``existing_demo`` (which
demo, if any, a database holds). The private records under the tree are in
branches/demo_records.py; branches/demo.py runs the steps in order.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from modelcluster.models import get_all_child_relations, get_serializable_data_for_fields
from wagtail.models import Locale, Page, Revision, Site

from branches.demo_plan import (
    COMMUNITY_WORDS,
    DISTRICT_SLUG,
    DISTRICT_TITLE,
    ESTATE_SUFFIXES,
    SEED,
    SURNAMES,
    Numbers,
    Scale,
    grid_plan,
    split,
)
from branches.models import BuildingGroupPage, DistrictPage, GridBranchPage, GridPage
from portal.links import site_host_and_port

# --- Bulk page insertion -------------------------------------------------------------------


class PageWriter:
    """Places pages in the treebeard tree and writes them in bulk."""

    def __init__(self, now):
        self.now = now
        self.pages: list[Page] = []
        self.next_step: Counter = Counter()
        self.locale_id = Locale.get_default().pk
        self.numchild: Counter = Counter()

    def add(self, parent: Page, page: Page, rng: random.Random) -> Page:
        self.next_step[parent.path] += 1
        step = self.next_step[parent.path]
        page.depth = parent.depth + 1
        page.path = Page._get_path(parent.path, page.depth, step)
        page.numchild = 0
        page.url_path = f"{parent.url_path}{page.slug}/"
        page.draft_title = page.title
        page.live = True
        page.has_unpublished_changes = False
        page.first_published_at = page.last_published_at = self.now
        page.latest_revision_created_at = self.now
        page.locale_id = self.locale_id
        page.translation_key = uuid.UUID(int=rng.getrandbits(128), version=4)
        page.content_type_id = ContentType.objects.get_for_model(type(page)).pk
        self.numchild[parent.path] += 1
        self.pages.append(page)
        return page

    def write(self, district: Page) -> None:
        for page in self.pages:
            page.numchild = self.numchild[page.path]
        Page.objects.filter(pk=district.pk).update(numchild=self.numchild[district.path])
        district.numchild = self.numchild[district.path]
        Page.objects.bulk_create(self.pages, batch_size=500)
        by_model = defaultdict(list)
        for page in self.pages:
            page.page_ptr_id = page.id
            by_model[type(page)].append(page)
        for model, objs in by_model.items():
            fields = model._meta.local_concrete_fields
            size = max(1, 900 // len(fields))
            for start in range(0, len(objs), size):
                model._base_manager._insert(
                    objs[start : start + size], fields=fields, using=connection.alias
                )
            for obj in objs:
                obj._state.adding = False
                obj._state.db = connection.alias
        self._write_revisions(district)

    def _write_revisions(self, district: Page) -> None:
        """One published revision per page, as the editor's "publish" leaves it."""
        base_ct = ContentType.objects.get_for_model(Page).pk
        child_relations = {}
        revisions = []
        for page in self.pages:
            model = type(page)
            if model not in child_relations:
                child_relations[model] = [
                    r.get_accessor_name() for r in get_all_child_relations(page)
                ]
            content = get_serializable_data_for_fields(page)
            for name in child_relations[model]:
                content[name] = []
            revisions.append(
                Revision(
                    content_type_id=page.content_type_id,
                    base_content_type_id=base_ct,
                    object_id=str(page.pk),
                    created_at=self.now,
                    object_str=page.title,
                    content=content,
                )
            )
        Revision.objects.bulk_create(revisions, batch_size=500)
        for page, revision in zip(self.pages, revisions, strict=True):
            page.latest_revision_id = page.live_revision_id = revision.pk
        Page.objects.bulk_update(self.pages, ["latest_revision", "live_revision"], batch_size=500)


# --- The generator ---------------------------------------------------------------------------


@dataclass
class Result:
    scale: str
    timings: list[tuple[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Timer:
    def __init__(self, result: Result, out=None):
        self.result = result
        self.out = out
        self.start = self.last = time.perf_counter()

    def phase(self, name: str):
        now = time.perf_counter()
        self.result.timings.append((name, now - self.last))
        if self.out:
            self.out(f"  {name:<36} {now - self.last:8.2f} s")
        self.last = now

    @property
    def total(self):
        return time.perf_counter() - self.start


def existing_demo() -> str | None:
    """'small' / 'seed' when a demo district is loaded, 'other' for a real district,
    None for an empty site."""
    district = DistrictPage.objects.first()
    if district is None:
        return None
    if district.slug != DISTRICT_SLUG:
        return "other"
    level1 = GridPage.objects.filter(level=GridPage.Level.FIRST).count()
    return "seed" if level1 == SEED.level1 and GridPage.objects.count() > 1000 else "small"


def _district_intro(rng):
    return (
        "<p>示范区以党建引领网格化治理，划分一级、二级、三级和微网格，"
        "每个三级网格建立网格党支部，每栋楼建立楼栋党小组。</p>"
    )


def _leader_name(rng, title="书记"):
    return f"{rng.choice(SURNAMES)}{title}"


def _contact_hours(rng):
    return rng.choice(
        ("工作日 9:00–17:00", "周一至周六 8:30–17:30", "工作日 8:30–12:00，14:00–17:30")
    )


@dataclass
class DemoDistrict:
    """What the generator's steps share: the scale and the random source, and
    what each step plans or inserts for the later ones."""

    scale: Scale
    rng: random.Random
    numbers: Numbers
    now: object
    timer: Timer
    branches: object = None
    buildings: object = None
    care_tags: object = None
    central: object = None
    ch_objs: object = None
    district: object = None
    groups_of: object = None
    households: object = None
    households_of_group: object = None
    links: object = None
    member_group: object = None
    members: object = None
    members_of_branch: object = None
    plan: object = None
    residents: object = None
    tag_links: object = None
    visits: object = None
    writer: object = None


def district_page_add(d: DemoDistrict) -> None:
    """District page (replaces Wagtail's welcome page as the site root)."""
    rng, timer = d.rng, d.timer
    root = Page.get_first_root_node()
    district = DistrictPage(
        title=DISTRICT_TITLE,
        slug=DISTRICT_SLUG,
        title_en="Demonstration District",
        area="东至滨江路，西至环城西路，南至南湖大道，北至北辰路",
        leader_public_name="区委组织部",
        contact_hours="工作日 9:00–17:00",
        intro=_district_intro(rng),
        intro_en="The demonstration district: party building leads grid governance.",
    )
    root.add_child(instance=district)
    district.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    old_root_id = site.root_page_id if site else None
    if site is None:
        hostname, port = site_host_and_port() or ("localhost", 80)  # PUBLIC_BASE_URL's
        site = Site(hostname=hostname, port=port, is_default_site=True)
    site.root_page = district
    site.site_name = "同心 · 示范区"
    site.save()
    if old_root_id and old_root_id != district.pk:
        old = Page.objects.filter(pk=old_root_id, depth=2).first()
        if old is not None and not isinstance(old.specific, DistrictPage):
            old.delete()
    district.refresh_from_db()
    timer.phase("district page + site")
    d.district = district


def tree_pages_add(d: DemoDistrict) -> None:
    """Grids, branches and building groups."""
    district, now, rng, scale, timer = d.district, d.now, d.rng, d.scale, d.timer
    plan = grid_plan(scale, rng)
    writer = PageWriter(now)
    grid_pages: dict[int, GridPage] = {}
    for spec in plan:
        parent = district if spec.parent is None else grid_pages[spec.parent]
        page = GridPage(
            title=spec.title,
            slug=f"grid-{spec.code.lower()}",
            title_en=spec.title_en,
            level=spec.level,
            dedicated_kind=spec.kind,
            code=spec.code,
            area=f"{spec.title.removesuffix('网格')}辖区",
            leader_public_name=_leader_name(rng, "网格长" if spec.level == "micro" else "书记"),
            contact_hours=_contact_hours(rng),
            intro=f"<p>{spec.title}负责辖区内的党建引领、联系服务群众和矛盾纠纷化解。</p>",
        )
        page._parent = parent
        grid_pages[spec.index] = writer.add(parent, page, rng)

    level3 = [grid_pages[s.index] for s in plan if s.level == GridPage.Level.THIRD]
    if scale.groups_total is not None:
        groups_per_branch = split(scale.groups_total, len(level3), rng)
    else:
        groups_per_branch = [rng.randint(*scale.groups_per_branch) for _ in level3]
    branches: list[GridBranchPage] = []
    groups_of: dict[int, list[BuildingGroupPage]] = {}
    for grid, n_groups in zip(level3, groups_per_branch, strict=True):
        base = grid.title.removesuffix("网格")
        branch = GridBranchPage(
            title=f"{base}网格党支部",
            slug="branch",
            area=grid.area,
            leader_public_name=_leader_name(rng),
            contact_hours=_contact_hours(rng),
            intro=f"<p>{base}网格党支部团结带领党员亮身份、践承诺，服务网格内居民。</p>",
        )
        writer.add(grid, branch, rng)
        branch._grid = grid
        branches.append(branch)
        groups_of[id(branch)] = []
        estate = rng.choice(COMMUNITY_WORDS) + rng.choice(ESTATE_SUFFIXES)
        number = 0
        for g in range(n_groups):
            n_buildings = rng.randint(*scale.buildings_per_group)
            numbers_here = list(range(number + 1, number + n_buildings + 1))
            number += n_buildings
            label = "、".join(str(n) for n in numbers_here) + "号楼"
            group = BuildingGroupPage(
                title=f"{estate}{label}党小组",
                slug=f"group-{g + 1}",
                area=f"{estate}{label}",
                leader_public_name=_leader_name(rng, "组长"),
                contact_hours="每周六 9:00–11:00",
                intro=f"<p>{estate}{label}党小组联系本楼居民、服务楼内群众。</p>",
            )
            group._estate = estate
            group._building_numbers = numbers_here
            writer.add(branch, group, rng)
            groups_of[id(branch)].append(group)
    timer.phase("plan pages")
    writer.write(district)
    timer.phase(f"insert pages ({len(writer.pages)})")
    d.branches, d.groups_of, d.plan, d.writer = branches, groups_of, plan, writer
