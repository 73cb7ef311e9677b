"""Loading landing files into the `raw` schema: ledger, quarantine, one read per batch of a family's files,
one transaction per file."""

from orchestration.lib.loads.load_batch import FileReport
from orchestration.lib.loads.load_table import LoadReport, load_table, load_tables

__all__ = ["FileReport", "LoadReport", "load_table", "load_tables"]
