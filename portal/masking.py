"""Masks for private values wherever they are listed, printed, logged or indexed."""


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


def mask_address(value: str | None) -> str:
    """Keep the estate, hide the building, unit and room: ``幸福里小区3号楼2单元501`` →
    ``幸福里小区****``."""
    if not value:
        return ""
    for marker in ("小区", "社区", "花园", "公寓", "大院", "村"):
        at = value.find(marker)
        if at != -1:
            return value[: at + len(marker)] + "****"
    return value[: max(1, len(value) // 3)] + "****"


def mask_name(value: str | None) -> str:
    """``张伟`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``: for public certificates."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
