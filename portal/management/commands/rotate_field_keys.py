"""Re-encrypt every private value with the newest key and recompute every
keyed-hash column with the current hash key.

Rotation (README, Configuration): put the new Fernet key first in
FIELD_ENCRYPTION_KEY (keep the old one after it), set the new FIELD_HASH_KEY
and move the old one to FIELD_HASH_KEY_PREVIOUS, run this command, then remove
the old keys. Every ``EncryptedTextField`` and ``KeyedHashField`` of every
installed model is found by its class. Rows are read in primary-key order in
chunks, each chunk written in one transaction, and only the columns that change
are written: after an interruption a second run continues where the first
stopped (values already under the new keys are left alone).
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from portal.crypto import (
    EncryptedTextField,
    KeyedHashField,
    decrypt_for_rotation,
    keyed_hash,
)
from search.tasks import index_later


def private_models() -> list[tuple[type[models.Model], list, list]]:
    """(model, encrypted fields, keyed-hash fields) for every concrete model
    with at least one of them."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.local_concrete_fields if f.model is model]
        encrypted = [f for f in fields if isinstance(f, EncryptedTextField)]
        hashed = [f for f in fields if isinstance(f, KeyedHashField)]
        if encrypted or hashed:
            found.append((model, encrypted, hashed))
    return found


def rotate_row(row: dict, encrypted, hashed, by_name) -> dict:
    """The columns of one row that change: new ciphertexts and new digests."""
    changes = {}
    clear = {}
    for field in encrypted:
        token = row[field.attname]
        if not token:
            continue
        clear[field.name], rotated = decrypt_for_rotation(token)
        if rotated is not None:
            changes[field.attname] = models.Value(rotated, output_field=models.TextField())
    for field in hashed:
        source = by_name[field.source]
        value = (
            clear.get(source.name)
            if isinstance(source, EncryptedTextField)
            else row[source.attname]
        )
        digest = keyed_hash(value) if value else (None if field.null else "")
        if digest != row[field.attname]:
            changes[field.attname] = digest
    return changes


class Command(BaseCommand):
    help = "Re-encrypt private fields with the newest key and recompute the keyed hashes."
    # The key checks refuse the development keys: rotating away from them must still run.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=500, help="rows per transaction")
        parser.add_argument(
            "--model", action="append", dest="only", metavar="APP_LABEL.MODEL",
            help="only this model (repeatable); default: every model with private fields",
        )  # fmt: skip

    def handle(self, *args, chunk_size, only, **options):
        targets = private_models()
        if only:
            wanted = {m.lower() for m in only}
            targets = [t for t in targets if t[0]._meta.label_lower in wanted]
            if len(targets) != len(wanted):
                raise CommandError(f"no private fields in: {', '.join(sorted(wanted))}")
        total_changed = 0
        for model, encrypted, hashed in targets:
            total_changed += self.rotate_model(model, encrypted, hashed, max(1, chunk_size))
        self.stdout.write(f"Done: {total_changed} rows rewritten.")
        if total_changed:
            self.stdout.write("Their search documents are re-indexed as each chunk commits.")

    def rotate_model(self, model, encrypted, hashed, chunk_size) -> int:
        label = model._meta.label
        manager = model._base_manager
        total = manager.count()
        by_name = {f.name: f for f in model._meta.concrete_fields}
        # Read the stored ciphertext, not the decrypted value: cast to plain text.
        raw = {f.attname: Cast(f.attname, output_field=models.TextField()) for f in encrypted}
        columns = [f.attname for f in hashed]
        columns += [
            by_name[f.source].attname
            for f in hashed
            if not isinstance(by_name[f.source], EncryptedTextField)
        ]
        done = changed = 0
        last_pk = None
        while True:
            rows = manager.order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            rows = list(
                rows.annotate(**{f"raw_{name}": expr for name, expr in raw.items()}).values(
                    "pk", *[f"raw_{name}" for name in raw], *dict.fromkeys(columns)
                )[:chunk_size]
            )
            if not rows:
                break
            with transaction.atomic():
                rewritten = []
                for row in rows:
                    for name in raw:
                        row[name] = row.pop(f"raw_{name}")
                    changes = rotate_row(row, encrypted, hashed, by_name)
                    if changes:
                        manager.filter(pk=row["pk"]).update(**changes)
                        rewritten.append(row["pk"])
                # The index keeps the keyed hashes: re-index these rows on commit.
                index_later(model, rewritten)
                changed += len(rewritten)
            done += len(rows)
            last_pk = rows[-1]["pk"]
            percent = 100 * done // total if total else 100
            self.stdout.write(f"{label}: {done}/{total} rows ({percent}%), {changed} rewritten")
        if not done:
            self.stdout.write(f"{label}: no rows")
        return changed
