"""The demo district's plan, for both scales: its name, the scales (small, and
the seed scale of DESIGN.md), the names and numbers people and places are drawn
from, and the grid plan (pure: every grid of the district in tree order, from
one random source, so a seed always gives the same plan). The generator that
writes it is in branches/demo_tree.py and branches/demo_records.py.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from branches.models import Gender, GridPage
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
    _grids_name(grids, rng)
    _dedicated_grids_add(grids, scale, rng)
    return grids


def _grids_name(grids: list[GridSpec], rng: random.Random) -> None:
    """Second-level grids after a community word (numbered when a word repeats),
    third-level and micro-grids after their parent."""
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


def _dedicated_grids_add(grids: list[GridSpec], scale: Scale, rng: random.Random) -> None:
    """Dedicated grids hang off every level (and the district itself)."""
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


def plan_counts(grids: list[GridSpec]) -> dict[str, int]:
    return dict(Counter(g.level for g in grids))
