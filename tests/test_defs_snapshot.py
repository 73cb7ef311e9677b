"""The loaded Definitions match the committed snapshot: every asset (group, deps, kinds, owners, checks),
every check, job, schedule, sensor and resource. A change to the graph shows up as a diff of
tests/snapshots/definitions.json; after an intended change run `make snapshot` and commit the file."""

from __future__ import annotations

import json

from defs_snapshot import SNAPSHOT, snapshot

from orchestration.definitions import defs


def test_definitions_match_the_committed_snapshot():
    expected = json.loads(SNAPSHOT.read_text())
    actual = snapshot(defs)
    for part in expected.keys() | actual.keys():
        assert actual.get(part) == expected.get(part), (
            f"{part} changed; if intended, run `make snapshot` and commit tests/snapshots/definitions.json"
        )
