"""manage.py import_statement FILE --format stripe|adyen|paypal_stl|alipay|wechat_pay|generic_csv|ledger"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reconciliation.importers import FORMATS
from reconciliation.services import import_file


class Command(BaseCommand):
    help = "Import a gateway statement or ledger export (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--kind", choices=["statement", "ledger"])
        parser.add_argument("--mapping", help="ColumnMapping name (generic_csv).")
        parser.add_argument("--channel", help="Channel code the statement belongs to.")
        parser.add_argument("--max-bytes", type=int, default=None)

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        record = import_file(data=path.read_bytes(), format=options["format"], kind=options["kind"],
                             filename=path.name, mapping=options["mapping"], channel=options["channel"],
                             max_bytes=options["max_bytes"])
        if record.status != "imported":
            for error in record.errors:
                self.stderr.write(f"line {error['line']}: {error['error']}")
            raise CommandError(f"Refused: import #{record.pk} ({len(record.errors)} errors); nothing imported.")
        self.stdout.write(f"import #{record.pk}: {record.imported_count} lines imported, "
                          f"{record.duplicate_count} already known")
