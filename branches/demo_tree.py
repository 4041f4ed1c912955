"""The demo district's organisation tree and private records, for both scales:
the grid plan, the pages (written in bulk with their treebeard paths), and the
buildings, households, residents, members and central households, drawn from
one random source so that a seed always gives the same district (see
branches/demo.py for the whole demo).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from modelcluster.models import get_all_child_relations, get_serializable_data_for_fields
from wagtail.models import Locale, Page, Revision, Site

from branches.models import (
    Building,
    BuildingGroupPage,
    CareTag,
    CentralHousehold,
    DistrictPage,
    Gender,
    GridBranchPage,
    GridPage,
    Household,
    HouseholdVisit,
    Member,
    PartyPost,
    Resident,
)
from portal.links import site_host_and_port
from portal.validators import id_check_digit

DISTRICT_SLUG = "shifanqu"
DISTRICT_TITLE = "示范区"

CARE_TAGS = ("独居老人", "残疾人", "低保户")


@dataclass(frozen=True)
class Scale:
    name: str
    level1: int
    level2: int
    level3: int
    micro: int
    dedicated: int
    # Building groups: either a total spread over the branches, or a range per branch.
    groups_total: int | None = None
    groups_per_branch: tuple[int, int] = (2, 3)
    buildings_per_group: tuple[int, int] = (1, 1)
    households_per_building: tuple[int, int] = (6, 10)
    members_per_group: tuple[int, int] = (4, 6)
    # Residents besides the head (spouse, children, parents) - skipped at seed scale.
    family_residents: bool = True
    # Share of building groups that run central households.
    central_household_share: float = 0.5
    visits_per_central_household: tuple[int, int] = (0, 2)
    dedicated_kinds: tuple[str, ...] = ()


SMALL = Scale(
    name="small",
    level1=2,
    level2=3,
    level3=5,
    micro=4,
    dedicated=2,
    groups_per_branch=(2, 3),
    buildings_per_group=(1, 2),
    households_per_building=(8, 12),
    members_per_group=(4, 6),
    dedicated_kinds=("school", "market"),
)
SEED = Scale(
    name="seed",
    level1=8,
    level2=104,
    level3=685,
    micro=2009,
    dedicated=125,
    groups_total=2857,  # one per residential building: ~200,000 households / ~70
    buildings_per_group=(1, 1),
    households_per_building=(50, 90),
    members_per_group=(4, 10),
    family_residents=False,
    central_household_share=0.6,
    visits_per_central_household=(0, 2),
)
SCALES = {"small": SMALL, "seed": SEED}


# --- Names and numbers ---------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
)
MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文峰德昊然博立新海洋晨"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英梅琳燕红雪婷慧颖洁佳欣怡琪倩晶月凤兰萍春丹璐瑶雯"
SUBDISTRICTS = ("东湖", "西城", "南苑", "北辰", "中山", "和平", "长青", "临江", "新华", "光明")
COMMUNITY_WORDS = (
    "幸福",
    "和谐",
    "阳光",
    "锦绣",
    "枫林",
    "桃源",
    "翠竹",
    "金桥",
    "春晖",
    "育才",
    "友谊",
    "安康",
    "映月",
    "望湖",
    "朝阳",
    "丰收",
    "清河",
    "梧桐",
    "兴旺",
    "晓园",
    "嘉禾",
    "润泽",
    "书香",
    "彩虹",
)
ESTATE_SUFFIXES = ("小区", "花园", "苑", "家园", "新村", "公寓")
CN_NUMERALS = "零一二三四五六七八九十"
DEDICATED_NAMES = {
    "school": ("实验小学", "第一中学", "育英学校", "职业技术学院"),
    "hospital": ("区人民医院", "中医院", "社区卫生服务中心"),
    "park": ("滨江公园", "湿地公园", "人民公园"),
    "market": ("农贸市场", "商业街", "综合市场"),
    "other": ("产业园区", "商务楼宇", "交通枢纽"),
}
EMPLOYERS = (
    "区教育局",
    "区人民医院",
    "区税务局",
    "市供电公司",
    "区市场监管局",
    "第一中学",
    "某科技有限公司",
    "市建设银行支行",
    "区城管局",
    "市自来水公司",
)
BADGE_TITLES = ("党员示范岗", "党员先锋岗", "党员责任区", "党员志愿服务岗")
REGION_CODES = ("330102", "330105", "330106", "330108", "330110")
MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 "
    "166 176 177 178 180 181 182 183 185 186 187 188 189 198 199"
).split()
LEADER_TITLES = ("书记", "主任", "组长")


def cn_number(n: int) -> str:
    if n <= 10:
        return CN_NUMERALS[n]
    if n < 20:
        return "十" + (CN_NUMERALS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_NUMERALS[n // 10] + "十" + (CN_NUMERALS[n % 10] if n % 10 else "")
    return str(n)


class Numbers:
    """Unique, valid ID numbers and mobile numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.ids: set[str] = set()
        self.phones: set[str] = set()

    def person(self, *, min_age=18, max_age=85, gender=None):
        rng = self.rng
        gender = gender or rng.choice((Gender.MALE, Gender.FEMALE))
        surname = rng.choice(SURNAMES)
        chars = MALE_CHARS if gender == Gender.MALE else FEMALE_CHARS
        given = "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))
        birth = date(2026, 1, 1) - timedelta(days=rng.randint(min_age * 365, max_age * 365))
        return surname + given, gender, birth

    def id_number(self, birth: date, gender: str) -> str:
        while True:
            seq = self.rng.randint(0, 499) * 2 + (1 if gender == Gender.MALE else 0)
            first17 = f"{self.rng.choice(REGION_CODES)}{birth:%Y%m%d}{seq:03d}"
            value = first17 + id_check_digit(first17)
            if value not in self.ids:
                self.ids.add(value)
                return value

    def mobile(self) -> str:
        while True:
            value = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if value not in self.phones:
                self.phones.add(value)
                return value


# --- The grid plan (pure) ----------------------------------------------------------------


@dataclass
class GridSpec:
    index: int
    level: str
    parent: int | None  # index of the parent grid; None = directly under the district
    kind: str = ""
    code: str = ""
    title: str = ""
    # Units keep their Chinese name in English too (a proper name): no made-up
    # English name such as "Grid 01" for the demo.
    title_en: str = ""


def split(total: int, buckets: int, rng: random.Random) -> list[int]:
    """``total`` items over ``buckets`` buckets, each at least one when possible,
    the rest spread at random."""
    if buckets == 0:
        return []
    base = [1 if total >= buckets else 0] * buckets
    for _ in range(total - sum(base)):
        base[rng.randrange(buckets)] += 1
    return base


def grid_plan(scale: Scale, rng: random.Random) -> list[GridSpec]:
    """Every grid of the district in tree order: level 1, 2, 3, micro, dedicated."""
    grids: list[GridSpec] = []

    def add(level, parent, count_by_parent, parents):
        for parent_spec, count in zip(parents, count_by_parent, strict=True):
            for i in range(count):
                spec = GridSpec(index=len(grids), level=level, parent=parent_spec.index)
                spec.code = (
                    f"{parent_spec.code}{i + 1:02d}"
                    if level != "micro"
                    else (f"{parent_spec.code}-{i + 1:02d}")
                )
                grids.append(spec)

    level1 = []
    for i in range(scale.level1):
        word = SUBDISTRICTS[i % len(SUBDISTRICTS)]
        spec = GridSpec(
            index=len(grids), level=GridPage.Level.FIRST, parent=None, code=f"{i + 1:02d}"
        )
        spec.title = f"{word}街道网格" + (f"（{i // len(SUBDISTRICTS) + 1}）" if i >= 10 else "")
        grids.append(spec)
        level1.append(spec)
    add(GridPage.Level.SECOND, None, split(scale.level2, len(level1), rng), level1)
    level2 = [g for g in grids if g.level == GridPage.Level.SECOND]
    add(GridPage.Level.THIRD, None, split(scale.level3, len(level2), rng), level2)
    level3 = [g for g in grids if g.level == GridPage.Level.THIRD]
    add(GridPage.Level.MICRO, None, split(scale.micro, len(level3), rng), level3)

    by_index = {g.index: g for g in grids}
    used_names: Counter = Counter()
    for g in grids:
        if g.level == GridPage.Level.SECOND:
            parent = by_index[g.parent]
            word = COMMUNITY_WORDS[rng.randrange(len(COMMUNITY_WORDS))]
            used_names[word] += 1
            suffix = cn_number(used_names[word]) if used_names[word] > 1 else ""
            g.title = f"{word}{suffix}社区网格"
        elif g.level == GridPage.Level.THIRD:
            parent = by_index[g.parent]
            g.title = parent.title.removesuffix("网格") + f"第{cn_number(int(g.code[-2:]))}网格"
        elif g.level == GridPage.Level.MICRO:
            parent = by_index[g.parent]
            g.title = parent.title + f"微网格{int(g.code[-2:])}"

    # Dedicated grids hang off every level (and the district itself).
    by_level = defaultdict(list)
    for g in grids:
        by_level[g.level].append(g)
    choices = [
        None,
        GridPage.Level.FIRST,
        GridPage.Level.SECOND,
        GridPage.Level.THIRD,
        GridPage.Level.MICRO,
    ]
    weights = [1, 3, 5, 6, 2]
    kinds = scale.dedicated_kinds or tuple(GridPage.DedicatedKind.values)
    counter_by_parent: Counter = Counter()
    for i in range(scale.dedicated):
        if scale.dedicated_kinds:
            kind = kinds[i % len(kinds)]
            level = choices[1 + i % 2]
        else:
            kind = rng.choices(kinds, weights=[4, 2, 2, 3, 1][: len(kinds)])[0]
            level = rng.choices(choices, weights=weights)[0]
        parent = None if level is None else rng.choice(by_level[level])
        spec = GridSpec(
            index=len(grids),
            level=GridPage.Level.DEDICATED,
            parent=parent.index if parent else None,
            kind=kind,
        )
        key = parent.index if parent else None
        counter_by_parent[key] += 1
        prefix = parent.code if parent else "00"
        spec.code = f"{prefix}-Z{counter_by_parent[key]:02d}"
        place = rng.choice(DEDICATED_NAMES[kind])
        spec.title = f"{rng.choice(COMMUNITY_WORDS)}{place}专属网格"
        grids.append(spec)
    return grids


def plan_counts(grids: list[GridSpec]) -> dict[str, int]:
    return dict(Counter(g.level for g in grids))


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


@transaction.atomic
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


def _district_page(d: DemoDistrict) -> None:
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


def _tree_pages(d: DemoDistrict) -> None:
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


def _homes(d: DemoDistrict) -> None:
    """Buildings, households, residents."""
    branches, groups_of, rng, scale, timer = d.branches, d.groups_of, d.rng, d.scale, d.timer
    care_tags = [CareTag.objects.get_or_create(name=name)[0] for name in CARE_TAGS]
    buildings: list[Building] = []
    households_of_group: dict[int, list[Household]] = defaultdict(list)
    households: list[Household] = []
    residents: list[Resident] = []
    tag_links = []
    district_name = DISTRICT_TITLE
    for branch in branches:
        subdistrict = SUBDISTRICTS[int(branch._grid.code[:2]) % len(SUBDISTRICTS)]
        for group in groups_of[id(branch)]:
            for number in group._building_numbers:
                building = Building(
                    branch=branch, building_group=group, estate=group._estate, name=f"{number}号楼"
                )
                buildings.append(building)
                for h in range(rng.randint(*scale.households_per_building)):
                    unit = h // 12 + 1
                    floor = (h % 12) // 2 + 1
                    room = f"{unit}单元{floor}0{h % 2 + 1}"
                    household = Household(
                        building=building,
                        room=room,
                        address=f"{district_name}{subdistrict}街道{group._estate}{number}号楼{room}室",
                    )
                    households.append(household)
                    households_of_group[id(group)].append(household)
    # Heads (and at small scale their families) are drawn after the member
    # households are chosen, so members head their own households.
    timer.phase("plan buildings/households")
    d.buildings, d.care_tags, d.households, d.households_of_group, d.residents, d.tag_links = (
        buildings,
        care_tags,
        households,
        households_of_group,
        residents,
        tag_links,
    )


def _members(d: DemoDistrict) -> None:
    """Members."""
    branches, groups_of, households_of_group, numbers, rng, scale = (
        d.branches,
        d.groups_of,
        d.households_of_group,
        d.numbers,
        d.rng,
        d.scale,
    )
    members: list[Member] = []
    member_group: dict[int, BuildingGroupPage] = {}
    members_of_branch: dict[int, list[Member]] = defaultdict(list)
    for branch in branches:
        for group in groups_of[id(branch)]:
            pool = households_of_group[id(group)]
            n = min(rng.randint(*scale.members_per_group), len(pool))
            homes = rng.sample(pool, n)
            group_members = []
            for home in homes:
                name, gender, birth = numbers.person(min_age=20, max_age=85)
                employed = rng.random() < 0.2
                adult = birth + timedelta(days=18 * 366)
                span = max(0, (date(2025, 6, 1) - adult).days)
                join = adult + timedelta(days=rng.randint(0, span))
                member = Member(
                    name=name,
                    gender=gender,
                    birth_date=birth,
                    id_number=numbers.id_number(birth, gender),
                    phone=numbers.mobile(),
                    join_date=join,
                    status=Member.Status.PROBATIONARY
                    if rng.random() < 0.05
                    else Member.Status.FULL,
                    employed_elsewhere=employed,
                    employer=rng.choice(EMPLOYERS) if employed else "",
                    branch=branch,
                    building_group=group,
                    household=home,
                    party_posts=[],
                )
                home.head_name = member.name
                home.phone = member.phone
                home._head = member
                group_members.append(member)
                member_group[id(member)] = group
            if group_members:
                group_members[-1].party_posts.append(PartyPost.GROUP_LEADER)
            members.extend(group_members)
            members_of_branch[id(branch)].extend(group_members)
        free = [m for m in members_of_branch[id(branch)] if not m.party_posts]
        for member, post in zip(
            free,
            (PartyPost.SECRETARY, PartyPost.DEPUTY_SECRETARY, PartyPost.COMMITTEE_MEMBER),
            strict=False,
        ):
            member.party_posts.append(post)
    d.member_group, d.members, d.members_of_branch = member_group, members, members_of_branch


def _central_choice(d: DemoDistrict) -> None:
    """Central households (chosen among members without a branch or group post)."""
    (
        branches,
        groups_of,
        households_of_group,
        member_group,
        members,
        members_of_branch,
        rng,
        scale,
        timer,
    ) = (
        d.branches,
        d.groups_of,
        d.households_of_group,
        d.member_group,
        d.members,
        d.members_of_branch,
        d.rng,
        d.scale,
        d.timer,
    )
    central: list[tuple[Member, Household, list[Household]]] = []
    for b_index, branch in enumerate(branches):
        for group in groups_of[id(branch)]:
            if b_index > 0 and rng.random() >= scale.central_household_share:
                continue
            hh = households_of_group[id(group)]
            candidates = [
                m
                for m in members_of_branch[id(branch)]
                if member_group[id(m)] is group and not m.party_posts
            ]
            cap = max(1, math.ceil(len(hh) / 12))
            own = {id(m.household) for m in candidates[:cap]}
            pool = [h for h in hh if id(h) not in own]
            rng.shuffle(pool)
            for member in candidates[:cap]:
                k = rng.randint(10, 15)
                if len(pool) < 10:
                    break
                contacts, pool = pool[:k], pool[k:]
                member.party_posts.append(PartyPost.CENTRAL_HOUSEHOLD_HEAD)
                central.append((member, member.household, contacts))

    for member in members:
        if rng.random() < 0.3 or PartyPost.CENTRAL_HOUSEHOLD_HEAD in member.party_posts:
            member.public_badge = True
            if PartyPost.CENTRAL_HOUSEHOLD_HEAD in member.party_posts:
                member.badge_title = "党员中心户"
            elif PartyPost.SECRETARY in member.party_posts:
                member.badge_title = "网格党支部书记"
            elif PartyPost.GROUP_LEADER in member.party_posts:
                member.badge_title = "楼栋党小组长"
            else:
                member.badge_title = rng.choice(BADGE_TITLES)
                if member.badge_title == "党员示范岗":
                    member.party_posts.append(PartyPost.DEMO_POST_HOLDER)
    timer.phase(f"plan members ({len(members)})")
    d.central = central


def _residents(d: DemoDistrict) -> None:
    """Household heads and families."""
    care_tags, households, numbers, residents, rng, scale, tag_links, timer = (
        d.care_tags,
        d.households,
        d.numbers,
        d.residents,
        d.rng,
        d.scale,
        d.tag_links,
        d.timer,
    )
    for household in households:
        head = getattr(household, "_head", None)
        if head is not None:
            residents.append(
                Resident(
                    household=household,
                    name=head.name,
                    gender=head.gender,
                    birth_date=head.birth_date,
                    relation="户主",
                    id_number=head.id_number,
                    phone=head.phone,
                )
            )
        else:
            name, gender, birth = numbers.person(min_age=22, max_age=90)
            household.head_name = name
            household.phone = numbers.mobile()
            residents.append(
                Resident(
                    household=household,
                    name=name,
                    gender=gender,
                    birth_date=birth,
                    relation="户主",
                    id_number=numbers.id_number(birth, gender),
                    phone=household.phone,
                )
            )
        head_birth = residents[-1].birth_date
        age = (date(2026, 1, 1) - head_birth).days // 365
        alone = age >= 70 and rng.random() < 0.35
        if alone:
            tag_links.append((household, care_tags[0]))
        if rng.random() < 0.02:
            tag_links.append((household, care_tags[1]))
        if rng.random() < 0.03:
            tag_links.append((household, care_tags[2]))
        if scale.family_residents and not alone:
            surname = residents[-1].name[0]
            if rng.random() < 0.75:
                sname, sgender, sbirth = numbers.person(
                    min_age=max(20, age - 5),
                    max_age=min(90, age + 5),
                    gender=Gender.FEMALE if residents[-1].gender == Gender.MALE else Gender.MALE,
                )
                residents.append(
                    Resident(
                        household=household,
                        name=sname,
                        gender=sgender,
                        birth_date=sbirth,
                        relation="配偶",
                        id_number=numbers.id_number(sbirth, sgender),
                        phone=numbers.mobile(),
                    )
                )
            if age < 60 and rng.random() < 0.6:
                cname, cgender, cbirth = numbers.person(min_age=2, max_age=max(3, age - 22))
                residents.append(
                    Resident(
                        household=household,
                        name=surname + cname[1:],
                        gender=cgender,
                        birth_date=cbirth,
                        relation="子女",
                        id_number=numbers.id_number(cbirth, cgender),
                    )
                )
    timer.phase(f"plan residents ({len(residents)})")


def _insert_records(d: DemoDistrict) -> None:
    """Insert the planned records, then the central households and their visits.."""
    buildings, central, households, members, residents, rng, scale, tag_links, timer = (
        d.buildings,
        d.central,
        d.households,
        d.members,
        d.residents,
        d.rng,
        d.scale,
        d.tag_links,
        d.timer,
    )
    Building.objects.bulk_create(buildings, batch_size=500)
    timer.phase(f"insert buildings ({len(buildings)})")
    Household.objects.bulk_create(households, batch_size=500)
    through = Household.care_tags.through
    through.objects.bulk_create(
        [through(household_id=h.pk, caretag_id=t.pk) for h, t in tag_links], batch_size=900
    )
    timer.phase(f"insert households ({len(households)})")
    Resident.objects.bulk_create(residents, batch_size=500)
    timer.phase(f"insert residents ({len(residents)})")
    Member.objects.bulk_create(members, batch_size=500)
    timer.phase(f"insert members ({len(members)})")

    ch_objs = [CentralHousehold(member=m, household=h) for m, h, _ in central]
    CentralHousehold.objects.bulk_create(ch_objs, batch_size=500)
    ch_through = CentralHousehold.contact_households.through
    links = [
        ch_through(centralhousehold_id=ch.pk, household_id=h.pk)
        for ch, (_, _, contacts) in zip(ch_objs, central, strict=True)
        for h in contacts
    ]
    ch_through.objects.bulk_create(links, batch_size=900)
    visits = []
    notes = (
        "上门走访，了解生活近况",
        "电话联系，提醒防范电信诈骗",
        "帮助代购药品",
        "反映楼道照明问题，已转网格员",
    )
    for ch, (_, _, contacts) in zip(ch_objs, central, strict=True):
        for _ in range(rng.randint(*scale.visits_per_central_household)):
            visits.append(
                HouseholdVisit(
                    central_household=ch,
                    household=rng.choice(contacts),
                    visited_on=date(2025, 12, 31) - timedelta(days=rng.randint(0, 180)),
                    note=rng.choice(notes),
                )
            )
    HouseholdVisit.objects.bulk_create(visits, batch_size=500)
    timer.phase(f"insert central households ({len(ch_objs)})")
    d.ch_objs, d.links, d.visits = ch_objs, links, visits


def build_district(scale: Scale, rng: random.Random, now, timer: Timer) -> DemoDistrict:
    """The district page, the tree and its private records, inserted; the steps
    in this order, each drawing from the one random source."""
    d = DemoDistrict(scale=scale, rng=rng, numbers=Numbers(rng), now=now, timer=timer)
    _district_page(d)
    _tree_pages(d)
    _homes(d)
    _members(d)
    _central_choice(d)
    _residents(d)
    _insert_records(d)
    return d
