"""The second relevance set: real long Chinese text of the field that nobody here
wrote (tests/search/data/policy_paragraphs.txt: government work reports, street
Party-building and grid-governance work news from government websites), loaded
as notices, one paragraph per notice, under one branch.

Most queries are *mechanical*: the relevant notices are every notice whose text
(title and body) contains the query as a substring, computed from the file, not
written by hand. Many of them are two or three characters inside a longer word
that jieba keeps whole (党组 in 党组织, 下沉 in 资源下沉, 微网 in 微网格). The
*hand-judged* queries are several words, typed with spaces, and list the
paragraphs a reader would want.

Two figures per query: ``recall@10`` (as in relevance_queries) and ``contained``,
the share of the notices that contain the query which appear anywhere in the
results (the goal: 1.0 for every query of two or more Chinese characters).

Nothing here imports Django at module level."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "policy_paragraphs.txt"
K = 10


@dataclass(frozen=True)
class Paragraph:
    source: str  # document title
    n: int  # 1-based paragraph number within the source
    text: str

    @property
    def title(self) -> str:
        return f"{self.source}（{self.n}）"


def paragraphs() -> list[Paragraph]:
    out, source, n = [], "", 0
    for line in DATA.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or (line.startswith("#") and not line.startswith("## ")):
            continue
        if line.startswith("## "):
            source, n = line[3:].split(" | ")[0].strip(), 0
            continue
        n += 1
        out.append(Paragraph(source, n, line))
    return out


@dataclass(frozen=True)
class PolicyQuery:
    text: str
    cls: str  # "substring" (mechanical) or "judged"
    # Hand-judged: (source prefix, paragraph number) of each relevant paragraph.
    judged: tuple[tuple[str, int], ...] = ()


# Two to four characters, many of them inside a longer word of jieba's dictionary
# or ours (search/data/dictionary.txt).
SUBSTRING = (
    "网格",
    "微网",
    "三级网格",
    "单元网格",
    "网格化",
    "共建",
    "建共",
    "党建联盟",
    "联盟",
    "党工委",
    "党组",
    "党组织",
    "联络员",
    "资源清单",
    "需求清单",
    "清单",
    "老旧小区",
    "加装电梯",
    "城市更新",
    "城市治理",
    "社会治理",
    "基层治理",
    "精细化",
    "下沉",
    "资源下沉",
    "街长",
    "三定",
    "定岗",
    "六员",
    "经纬网",
    "全覆盖",
    "美丽乡村",
    "户厕",
    "种业",
    "菜篮子",
    "对口支援",
    "群防群治",
    "西城大妈",
    "冬奥",
    "红墙",
    "法治政府",
    "四个自信",
    "副县长",
    "揭牌",
    "聘书",
    "垃圾桶",
    "供需",
    "驻区",
    "留抵退税",
    "可支配收入",
    "地区生产总值",
    "优势互补",
)

JUDGED = (
    PolicyQuery(
        "网格化 治理",
        "judged",
        (("东风路街道", 1), ("东风路街道", 2)),
    ),
    PolicyQuery("老旧小区 加装电梯", "judged", (("北京市政府工作报告（2023年）今后", 3),)),
    PolicyQuery("党建联盟 协议", "judged", (("党建引领聚合力", 2),)),
    PolicyQuery("冬奥会 保障", "judged", (("西城区", 5),)),
    PolicyQuery("共建单位 资源清单", "judged", (("地区党建工作协调委员会", 2),)),
    PolicyQuery("村庄 污水", "judged", (("北京市政府工作报告（2023年）", 2),)),
    PolicyQuery("法治政府 效能政府", "judged", (("镇巴县", 2),)),
    PolicyQuery("网格 街长", "judged", (("东风路街道", 4),)),
)

QUERIES: tuple[PolicyQuery, ...] = tuple(PolicyQuery(t, "substring") for t in SUBSTRING) + JUDGED


def _key(p: Paragraph) -> tuple[str, int]:
    return (p.source, p.n)


def relevant(query: PolicyQuery, paras: list[Paragraph]) -> set[tuple[str, int]]:
    if query.cls == "judged":
        out = set()
        for prefix, n in query.judged:
            exact = [p for p in paras if p.source == prefix and p.n == n]
            (match,) = exact or [p for p in paras if p.source.startswith(prefix) and p.n == n]
            out.add(_key(match))
        return out
    needle = query.text.lower()
    return {_key(p) for p in paras if needle in (p.title + " " + p.text).lower()}


# --- loading and evaluation (Django set up) ------------------------------------------


def load(parent) -> dict:
    """Publish every paragraph as a notice under ``parent`` (a unit page); returns
    {notice page id (str): (source, n)}."""
    from portal.publishing import NoticePage
    from tests.factories import publish

    pages = {}
    for p in paragraphs():
        page = publish(
            parent,
            NoticePage(
                title=p.title[:255],
                body=[("text", f"<p>{p.text}</p>")],
            ),
        )
        pages[str(page.pk)] = _key(p)
    return pages


@dataclass
class Row:
    query: PolicyQuery
    n_relevant: int
    recall: float | None  # recall@10
    contained: float | None  # relevant found anywhere in the results
    total: int
    missed: list


def evaluate(user, pages: dict, paras=None) -> list[Row]:
    from search.query import search

    paras = paras or paragraphs()
    rows = []
    for q in QUERIES:
        wanted = relevant(q, paras)
        result = search(user=user, text=q.text, doc_types=("notice",), per_page=50)
        found = [pages.get(h.object_id) for h in result.results.hits if h.doc_type == "notice"]
        top = found[:K]
        recall = len(set(top) & wanted) / min(len(wanted), K) if wanted else None
        contained = len(set(found) & wanted) / len(wanted) if wanted else None
        rows.append(
            Row(
                q,
                len(wanted),
                recall,
                contained,
                result.results.total,
                sorted(wanted - set(found))[:3],
            )
        )
    return rows


def summary(rows: list[Row]) -> dict:
    out = {}
    for name, subset in [("overall", rows)] + [
        (c, [r for r in rows if r.query.cls == c]) for c in ("substring", "judged")
    ]:
        recalls = [r.recall for r in subset if r.recall is not None]
        contained = [r.contained for r in subset if r.contained is not None]
        out[name] = {
            "queries": len(subset),
            "recall": statistics.fmean(recalls) if recalls else None,
            "contained": statistics.fmean(contained) if contained else None,
        }
    return out


def format_table(rows: list[Row]) -> str:
    def pad(text, width):
        w = sum(2 if ord(c) > 0x2E80 else 1 for c in text)
        return text + " " * max(0, width - w)

    def fmt(v):
        return "   —" if v is None else f"{v:4.2f}"

    lines = [pad("query", 22) + pad("class", 10) + " rel.  hits  r@10  contained  missed"]
    for r in rows:
        lines.append(
            pad(r.query.text, 22)
            + pad(r.query.cls, 10)
            + f"{r.n_relevant:4d}  {r.total:4d}  {fmt(r.recall)}  {fmt(r.contained)}"
            + (f"       {r.missed}" if r.missed else "")
        )
    lines += ["", pad("class", 10) + " queries  recall@10  contained"]
    for name, s in summary(rows).items():
        lines.append(
            pad(name, 10) + f" {s['queries']:7d}  {fmt(s['recall'])}       {fmt(s['contained'])}"
        )
    return "\n".join(lines)
