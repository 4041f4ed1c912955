"""Importing records from Excel (.xlsx) or CSV files: the pieces every kind of
import shares, each in its own module and tested on its own.

* ``kinds``: what a kind of import declares — its columns (header texts in
  Chinese and English, required, private) and example rows — and the registry
  each app fills with ``register_import_kind``;
* ``reading``: the uploaded bytes to rows keyed by column (xlsx; CSV in UTF-8,
  UTF-8 with BOM or GBK; headers matched to columns, a title row or two skipped);
* ``checking``: ``RowChecker`` and the ``parse_*`` helpers check one row's values,
  collecting errors labelled by column with private values masked;
  ``rows_check`` runs a kind's row check over a file;
* ``writing``: ``import_finish`` writes every row in one transaction (all or
  nothing, only when no row has an error and it is not a dry run) and audits it;
* ``examples``: a kind's example file, built from its columns;
* ``views`` and ``staging``: the admin pages (upload, dry-run report, confirm),
  the upload kept encrypted between the two steps; an app describes each of its
  imports with an ``ImportPage``.

The kinds themselves live with their records (branches/member_import.py,
branches/household_import.py, volunteers/dispatch/request_import.py).
"""
