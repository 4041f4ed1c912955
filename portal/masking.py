"""Masks for private values wherever they are listed, printed, logged or indexed."""

import re


def mask_id_number(value: str | None) -> str:
    """``110101199001011234`` → ``110***********1234``."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str | None) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# Where the private part of an address begins: the first digit of any script
# (ASCII, full-width, ...), or a number in Chinese numerals or letters followed by a
# house-number marker (三组, 十五号, A座, 五栋, 二单元).
_ADDRESS_PRIVATE_PART = re.compile(
    r"\d|[〇零一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾A-Za-zＡ-Ｚａ-ｚ]+"
    r"(?:号|栋|幢|座|单元|门|层|楼|室|户|组|排|弄|巷|期|区)"
)


def mask_address(value: str | None) -> str:
    """Keep the place names before the first house number, hide everything from it on:
    ``幸福里小区3号楼2单元501`` → ``幸福里小区****``, ``丰收社区东风路12号5栋`` →
    ``丰收社区东风路****``, ``东风路12号402室（丰收社区）`` → ``东风路****``.

    The masked form always ends in ``****`` (never the original). An address with no
    house number keeps only its first third."""
    if not value:
        return ""
    found = _ADDRESS_PRIVATE_PART.search(value)
    keep = found.start() if found else len(value) // 3
    return value[:keep].rstrip(" ,，、-—(（[【") + "****"


def mask_name(value: str | None) -> str:
    """``张伟`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``: for public certificates."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


# ID-number-like and mobile-like digit runs in free text (a log line, a URL, an
# error report): 18-character and old 15-digit ID numbers; mainland mobiles with
# or without +86, spaces, dashes or their URL encodings (137+0000+0003, %20, %2B).
_SEPARATOR = r"(?:[-\s+]|%20|%2B)?"
_MOBILE_LIKE = r"(?:(?:\+|%2B)?86S)?1[3-9]\dS\d{4}S\d{4}".replace("S", _SEPARATOR)
_PRIVATE_NUMBER = re.compile(
    # Not inside a longer digit run; right after a %XX escape is a start, though.
    r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))(?:\d{17}[\dXx]|\d{15}|" + _MOBILE_LIKE + r")(?!\d)",
    re.IGNORECASE,
)


def contains_private_number(text: str | None) -> bool:
    """Whether ``text`` holds something that looks like a full ID or mobile number."""
    return bool(text) and _PRIVATE_NUMBER.search(text) is not None


def mask_private_numbers(text: str) -> str:
    """Mask every ID-number-like and mobile-like run in ``text`` as the record masks
    do (first three and last four characters kept): ``GET /search/?q=13812345678``
    → ``GET /search/?q=138****5678``. For logs, error reports, URLs and exports."""
    if not text:
        return text
    return _PRIVATE_NUMBER.sub(_mask_number, text)


# How each private field is shown masked, by field name (a phone number's mask
# for any other).
MASKS = {"id_number": mask_id_number, "phone": mask_phone, "address": mask_address}


def _mask_number(found: re.Match) -> str:
    number = found.group()
    if number.isalnum() and len(number) in (15, 18):
        return mask_id_number(number)
    return number[:3] + "****" + number[-4:]
