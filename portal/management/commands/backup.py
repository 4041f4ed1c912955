"""Write one backup set: the database, the media folder and a manifest.

See portal/backups.py for what a set holds. The keys are not part of it.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from portal.backups import BackupError
from portal.backups.sets import backup_create


class Command(BaseCommand):
    help = (
        "Write a backup set (database, MEDIA_ROOT with the private uploads, and a manifest "
        "with row counts and checksums of the decrypted private columns) into a new "
        "timestamped folder under DIR, or into DIR itself when it is empty. The keys "
        "(FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY, SECRET_KEY) are NOT in the set: back them up "
        "separately; without them the private fields cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to", dest="directory", required=True, type=Path, metavar="DIR",
            help="folder for the backup sets (a new tongxin-<time> folder is made in it)",
        )  # fmt: skip

    def handle(self, *args, directory, **options):
        try:
            target, manifest = backup_create(directory=directory)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:  # a full disk, a folder without write permission
            raise CommandError(_("备份失败 / Backup failed: %(error)s") % {"error": exc}) from exc
        database = target / manifest["database"]["file"]
        media = target / manifest["media"]["file"]
        self.stdout.write(
            _("备份集已写入 / Backup set written: %(path)s") % {"path": target}, self.style.SUCCESS
        )
        self.stdout.write(
            _(
                "  数据库 / database: %(engine)s, %(tables)d 张表 tables, %(rows)d 行 rows (%(file)s, %(size)s)"
            )
            % {
                "engine": manifest["engine"],
                "tables": len(manifest["tables"]),
                "rows": sum(manifest["tables"].values()),
                "file": database.name,
                "size": filesizeformat(database.stat().st_size),
            }
        )
        self.stdout.write(
            _("  媒体 / media: %(files)d 个文件 files (%(file)s, %(size)s)")
            % {
                "files": manifest["media"]["files"],
                "file": media.name,
                "size": filesizeformat(media.stat().st_size),
            }
        )
        self.stdout.write(
            _("  私密字段 / private columns: %(count)d（校验和见 / checksums in manifest.json）")
            % {"count": len(manifest["encrypted_columns"])}
        )
        if manifest["skipped_media"]:
            self.stderr.write(
                _(
                    "  未备份（目录链接或特殊文件）/ Not backed up (folder links or special files): %(names)s"
                )
                % {"names": ", ".join(manifest["skipped_media"][:10])}
            )
        self.stdout.write(
            _(
                "密钥不在备份集中：FIELD_ENCRYPTION_KEY、FIELD_HASH_KEY、SECRET_KEY 须另行保管（如区里的密码库），没有它们私密字段无法读取。 / The keys are NOT in this backup set: keep FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY and SECRET_KEY separately (e.g. in the district's password vault); without them the private fields cannot be read."
            ),
            self.style.WARNING,
        )
        unreadable = {
            column: info["undecryptable"]
            for column, info in manifest["encrypted_columns"].items()
            if info["undecryptable"]
        }
        if unreadable:
            # The set is kept (it is all there is), but someone must look.
            raise CommandError(
                _(
                    "备份已写入，但有私密数据无法用当前密钥解密 / The set is written, but private values do not decrypt with the configured keys: %(columns)s"
                )
                % {"columns": ", ".join(f"{c} ({n})" for c, n in sorted(unreadable.items()))}
            )
