"""Serving the marts to BI: write-audit-publish into immutable builds behind an atomically swapped symlink."""
