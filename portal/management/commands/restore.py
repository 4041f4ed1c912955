"""Restore a backup set into the configured, empty database and MEDIA_ROOT,
then prove it: every table's row count and every private column's checksum
(over the decrypted values) against the set's manifest.

See portal/backups.py. The keys are not in a set: configure the ones the
backup was made with (FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY, SECRET_KEY) first.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from portal.backups import BackupError
from portal.backups.sets import backup_read, backup_restore, backup_verify


class Command(BaseCommand):
    help = (
        "Restore a backup set into the configured database, which must be empty, and into "
        "MEDIA_ROOT (no existing file is overwritten), then check row counts and the "
        "checksums of the decrypted private columns against the set's manifest. The keys are "
        "not in the set: set FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY and SECRET_KEY (from where "
        "they are kept, e.g. the district's password vault) before restoring."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="directory",
            required=True,
            type=Path,
            metavar="DIR",
            help="the backup set's folder (the one holding manifest.json)",
        )
        parser.add_argument(
            "--verify-only", action="store_true",
            help="restore nothing: only compare the configured database and MEDIA_ROOT "
            "with the set (e.g. after correcting a key)",
        )  # fmt: skip

    def handle(self, *args, directory, verify_only, **options):
        behind = []
        try:
            if verify_only:
                manifest = backup_read(directory=directory)
                result = backup_verify(manifest=manifest, directory=directory)
            else:
                result, behind = backup_restore(directory=directory)
                self.stdout.write(
                    _("已恢复 / Restored: %(path)s") % {"path": directory}, self.style.SUCCESS
                )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:  # a full disk, a folder without write permission
            raise CommandError(_("恢复失败 / Restore failed: %(error)s") % {"error": exc}) from exc
        self.stdout.write(
            _(
                "核对 / Checked: %(tables)d 张表 tables, %(rows)d 行 rows, %(columns)d 个私密字段 private columns, %(files)d 个媒体文件 media files"
            )
            % {
                "tables": result.tables,
                "rows": result.rows,
                "columns": result.columns,
                "files": result.media_files,
            }
        )
        if result.problems:
            if not verify_only:
                self.stderr.write(
                    _(
                        "数据已恢复，但核对未通过；纠正后（如配置正确的密钥）可运行 restore --verify-only 再次核对 / Restored, but the check failed; once corrected (e.g. the right keys configured) check again with restore --verify-only"
                    )
                )
            if len(result.problems) == 1:
                raise CommandError(result.problems[0])
            for problem in result.problems:
                self.stderr.write(f"  ✗ {problem}")
            raise CommandError(
                _(
                    "核对未通过，共 %(count)d 处不符（见上）/ Verification failed: %(count)d differences (see above)"
                )
                % {"count": len(result.problems)}
            )
        self.stdout.write(
            _(
                "核对通过：行数与私密字段校验和均与备份一致 / Verified: row counts and private-column checksums match the backup"
            ),
            self.style.SUCCESS,
        )
        if behind:
            self.stdout.write(
                _(
                    "代码有更新的迁移，请运行 / The code has newer migrations, run: python manage.py migrate (%(apps)s)"
                )
                % {"apps": ", ".join(behind)}
            )
