"""Limits the quality checks enforce; each is a choice, and why it was chosen is next to it."""

from __future__ import annotations

# A file may lose a few records to quarantine (typos, a bad date); beyond 5% the export itself is broken.
MAX_QUARANTINED_SHARE = 0.05
# A record repeated inside one file is kept once by staging. Real exports repeat a few (the sample's
# worst month: 1.1% of order rows); when 5% of a file's rows are repeats, the export itself is broken.
MIN_DISTINCT_KEY_SHARE = 0.95
# Amounts that contradict each other in a record (a discount above the subtotal): at most 1% of a file.
MIN_CONSISTENT_SHARE = 0.99
# Volume: rows per day of a new file against the average of the files before it (same table, by file name;
# per day covered, so a daily delivery compares with monthly history).
RECENT_FILES = 6  # about half a year of monthly exports
MIN_ROWS_VS_RECENT = 0.2  # below: a truncated/collapsed export, blocks (ERROR)
MAX_ROWS_VS_RECENT = 5.0  # above: a jump worth a look, recorded (WARN)
# Below this many rows per recent file, counts and fill rates swing by chance (a shop with three orders a
# day, a hand-made fixture): the volume and emptied-column rules only judge files whose recent files
# average at least this many rows.
MIN_RECENT_ROWS = 50
# The share rules judge files of at least this many rows. Real exports carry a few bad or repeated records
# (1-2%): in a day's file of 16 order lines one bad record is already 6%. From 100 rows on, 5% means five
# or more bad records, which is an export problem, not chance. Smaller files are still counted,
# quarantined and reconciled.
MIN_ROWS_FOR_SHARES = 100
# Not periodic exports, so their file sizes say nothing: the catalogue arrives as a full file then
# deltas, NPS as survey waves of any size.
VOLUME_EXEMPT_TABLES = ("shop_products", "support_nps")
# A column emptied in a small file can be chance (no promo code in a day's ten orders): the rule judges a
# column only when the file should hold at least this many values of it at the earlier fill rate.
MIN_EXPECTED_FILLED = 20
# A column counts as "filled before" when at least half of the earlier files' rows had a value.
FILLED_BEFORE_SHARE = 0.5
# Money totals compared across layers may differ by float rounding only.
MONEY_TOLERANCE = 0.01
# Row-level validation of new raw rows runs in pandas on every row of a load up to this many, and on a
# uniform sample of this many beyond (an initial bulk load of millions of orders). The loader already
# enforces every row rule by quarantine; the suite checks that contract and the schema, which a sample
# shows. What must be exact (repeats, quarantine share, volume, emptied columns) is counted in SQL.
MAX_VALIDATED_ROWS = 200_000
