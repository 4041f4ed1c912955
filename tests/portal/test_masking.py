"""Address masking never shows the house number, building, unit or room (issue 12)."""

from hypothesis import given
from hypothesis import strategies as st

from portal.masking import mask_address

# Place-name characters: no numerals and no marker characters, so any digit or
# "<numeral><marker>" in the masked form can only come from the hidden part.
NAME_CHARS = "东风幸福丰收光明和平新华建设人民解放胜利长江黄河春晖桃园翠竹锦绣清泉阳"
ASCII_DIGITS = "0123456789"
WIDE_DIGITS = "０１２３４５６７８９"
CHINESE_NUMERALS = "一二三四五六七八九十"

names = st.text(alphabet=NAME_CHARS, min_size=2, max_size=4)


@st.composite
def numerals(draw):
    """A number as a resident writes it: ASCII, full-width or Chinese numerals."""
    value = draw(st.integers(min_value=1, max_value=2999))
    style = draw(st.sampled_from(["ascii", "wide", "chinese"]))
    if style == "ascii":
        return str(value)
    if style == "wide":
        return "".join(WIDE_DIGITS[int(c)] for c in str(value))
    return "".join(draw(st.sampled_from(CHINESE_NUMERALS)) for _ in range(len(str(value))))


@st.composite
def house_parts(draw):
    """The private tail: house number, building, unit, floor, room; or 组/号 in a village."""
    rural = draw(st.booleans())
    if rural:
        markers = draw(st.sampled_from([["组", "号"], ["组"], ["号"], ["组", "号", "室"]]))
    else:
        markers = draw(
            st.lists(
                st.sampled_from(["号", "号楼", "栋", "幢", "座", "单元", "层", "楼", "室", ""]),
                min_size=1,
                max_size=5,
            )
        )
    parts = [(draw(numerals()), marker) for marker in markers]
    # A bare room number ("501") only makes sense in digits.
    return [
        (number if marker or number[0] not in CHINESE_NUMERALS else "501", marker)
        for number, marker in parts
    ]


def community_words(draw):
    return draw(names) + draw(st.sampled_from(["社区", "小区", "花园", "公寓", "大院", "新村"]))


def bracketed(draw, text):
    left, right = draw(st.sampled_from([("（", "）"), ("(", ")"), ("【", "】")]))
    return left + text + right


@st.composite
def addresses(draw):
    """(address, shape, shown prefix, private parts) for every shape a form receives."""
    road = draw(names) + draw(st.sampled_from(["路", "街", "大道", "巷"]))
    village = draw(names) + "村"
    community = community_words(draw)
    parts = draw(house_parts())
    tail = "".join(number + marker for number, marker in parts)
    shape = draw(
        st.sampled_from(
            [
                "community_first",
                "community_last",
                "community_last_bracketed",
                "community_first_bracketed",
                "community_missing",
                "estate_only",
                "rural",
            ]
        )
    )
    if shape == "community_first":
        return community + road + tail, shape, community, parts
    if shape == "community_first_bracketed":
        head = bracketed(draw, community) + road
        return head + tail, shape, head, parts
    if shape == "community_last":
        return road + tail + community, shape, road, parts
    if shape == "community_last_bracketed":
        return road + tail + bracketed(draw, community), shape, road, parts
    if shape == "community_missing":
        return road + tail, shape, road, parts
    if shape == "estate_only":
        return community + tail, shape, community, parts
    return village + tail, shape, village, parts


def test_community_after_the_room_is_not_a_cut_point():
    masked = mask_address("东风路12号5栋3单元402室（丰收社区）")
    assert masked == "东风路****"


def test_community_first_keeps_the_community_and_road():
    assert mask_address("丰收社区东风路12号5栋3单元402室") == "丰收社区东风路****"


def test_full_width_digits_are_hidden():
    assert mask_address("幸福里小区３号楼２单元５０１") == "幸福里小区****"


def test_chinese_numerals_before_a_marker_are_hidden():
    assert mask_address("张家村三组十五号") == "张家村****"


@given(addresses())
def test_masked_address_never_shows_the_house_number_or_room(generated):
    address, shape, shown, parts = generated
    masked = mask_address(address)
    assert masked != address
    assert not any(c in masked for c in ASCII_DIGITS + WIDE_DIGITS), (address, masked)
    for number, marker in parts:
        assert number + marker not in masked, (address, masked)
        assert number not in masked, (address, masked)
    assert masked.endswith("****")


@given(addresses())
def test_masked_address_still_tells_addresses_apart(generated):
    address, shape, shown, parts = generated
    assert mask_address(address).startswith(shown), (address, mask_address(address))


@given(st.text(max_size=40))
def test_any_text_is_masked(value):
    masked = mask_address(value)
    if value:
        assert masked != value and masked.endswith("****")
    else:
        assert masked == ""
