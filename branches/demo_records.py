"""The demo district's private records, planned under the tree the earlier
steps wrote (branches/demo_tree.py) and then inserted in bulk: buildings and
households, members (who head their own households), central households and
their contact households and visits, residents (heads and, at small scale,
families) and care tags. Every value is drawn from the generator's one random
source, in a fixed order, so a seed always gives the same records. Private
fields are encrypted and hashed by their model fields on insert.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from branches.demo_plan import (
    BADGE_TITLES,
    CARE_TAGS,
    DISTRICT_TITLE,
    EMPLOYERS,
    SUBDISTRICTS,
)
from branches.demo_tree import DemoDistrict
from branches.models import (
    Building,
    BuildingGroupPage,
    CareTag,
    CentralHousehold,
    Gender,
    Household,
    HouseholdVisit,
    Member,
    PartyPost,
    Resident,
)


def homes_plan(d: DemoDistrict) -> None:
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


def members_plan(d: DemoDistrict) -> None:
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


def central_households_choose(d: DemoDistrict) -> None:
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


def residents_plan(d: DemoDistrict) -> None:
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
        head = _head_resident(household, numbers)
        residents.append(head)
        age = (date(2026, 1, 1) - head.birth_date).days // 365
        alone = age >= 70 and rng.random() < 0.35
        if alone:
            tag_links.append((household, care_tags[0]))
        if rng.random() < 0.02:
            tag_links.append((household, care_tags[1]))
        if rng.random() < 0.03:
            tag_links.append((household, care_tags[2]))
        if scale.family_residents and not alone:
            residents.extend(_family_residents(household, head, age, numbers, rng))
    timer.phase(f"plan residents ({len(residents)})")


def _head_resident(household: Household, numbers) -> Resident:
    """The member who heads the household, else a new person (who also gives
    the household its head's name and phone)."""
    head = getattr(household, "_head", None)
    if head is not None:
        return Resident(
            household=household,
            name=head.name,
            gender=head.gender,
            birth_date=head.birth_date,
            relation="户主",
            id_number=head.id_number,
            phone=head.phone,
        )
    name, gender, birth = numbers.person(min_age=22, max_age=90)
    household.head_name = name
    household.phone = numbers.mobile()
    return Resident(
        household=household,
        name=name,
        gender=gender,
        birth_date=birth,
        relation="户主",
        id_number=numbers.id_number(birth, gender),
        phone=household.phone,
    )


def _family_residents(household: Household, head: Resident, age: int, numbers, rng) -> list:
    """Often a spouse of about the head's age; below 60, often a child."""
    family = []
    surname = head.name[0]
    if rng.random() < 0.75:
        sname, sgender, sbirth = numbers.person(
            min_age=max(20, age - 5),
            max_age=min(90, age + 5),
            gender=Gender.FEMALE if head.gender == Gender.MALE else Gender.MALE,
        )
        family.append(
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
        family.append(
            Resident(
                household=household,
                name=surname + cname[1:],
                gender=cgender,
                birth_date=cbirth,
                relation="子女",
                id_number=numbers.id_number(cbirth, cgender),
            )
        )
    return family


def records_insert(d: DemoDistrict) -> None:
    """Insert the planned records, then the central households and their visits."""
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
