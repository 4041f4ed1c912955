"""Backup sets' media part: MEDIA_ROOT as a tar archive, unpacked only if every member is safe."""

import os
import posixpath
import tarfile
from pathlib import Path

from django.utils.translation import gettext as _

from portal.backups import BackupError

# --- Media ------------------------------------------------------------------------


def media_pack(*, media_root: Path, target: Path) -> dict:
    """Every file under ``media_root`` into a tar.gz (links to files stored as
    the files). Returns the counts for the manifest and what was left out."""
    files = size = 0
    skipped = []
    with tarfile.open(target, "w:gz", compresslevel=6, dereference=True) as tar:
        if media_root.is_dir():
            for dirpath, dirnames, filenames in os.walk(media_root):
                dirnames.sort()
                here = Path(dirpath)
                for name in list(dirnames):
                    if (here / name).is_symlink():
                        skipped.append((here / name).relative_to(media_root).as_posix())
                        dirnames.remove(name)
                    else:
                        path = here / name
                        tar.add(path, path.relative_to(media_root).as_posix(), recursive=False)
                for name in sorted(filenames):
                    path = here / name
                    arcname = path.relative_to(media_root).as_posix()
                    if not path.is_file():
                        skipped.append(arcname)
                        continue
                    try:
                        tar.add(path, arcname, recursive=False)
                    except FileNotFoundError:  # deleted while we walked
                        continue
                    files += 1
                    size += tar.getmember(arcname).size
    return {"files": files, "bytes": size, "skipped": skipped}


def _unsafe(member: tarfile.TarInfo) -> bool:
    name = member.name
    parts = name.split("/")
    return (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
        or not (member.isfile() or member.isdir())
    )


def media_members(*, archive: Path) -> list[tarfile.TarInfo]:
    """The members of a media archive, refused as a whole when one of them is
    not a plain file or folder inside the media folder (absolute paths, ``..``,
    links, devices)."""
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
    unsafe = [m.name for m in members if _unsafe(m)]
    if unsafe:
        raise BackupError(
            _(
                "媒体归档含有不安全的条目，拒绝恢复 / The media archive has unsafe entries (absolute paths, '..' or links), refused: %(names)s"
            )
            % {"names": ", ".join(repr(n) for n in unsafe[:5])}
        )
    return members


def media_check(*, archive: Path, media_root: Path) -> list[tarfile.TarInfo]:
    """The members of a safe media archive none of which would overwrite a
    file already in ``media_root``; refused as a whole otherwise."""
    members = media_members(archive=archive)
    existing = []
    for member in members:
        path = media_root / posixpath.normpath(member.name)
        if path.is_symlink() or (path.exists() and not (member.isdir() and path.is_dir())):
            existing.append(member.name)
    if existing:
        raise BackupError(
            _(
                "媒体目录中已有 %(count)d 个同名文件，恢复不会覆盖 / %(count)d files already exist in MEDIA_ROOT and would be overwritten: %(names)s"
            )
            % {"count": len(existing), "names": ", ".join(existing[:5])}
        )
    return members


def media_unpack(*, archive: Path, media_root: Path) -> int:
    """Unpack a checked media archive into ``media_root``; the number of files."""
    members = media_check(archive=archive, media_root=media_root)
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        # The "data" filter refuses again whatever media_check let through by mistake.
        tar.extractall(media_root, members=members, filter="data")
    return sum(1 for m in members if m.isfile())
