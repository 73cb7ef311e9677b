"""What dbt puts in the Jinja context, for sqlfluff's jinja templater (dbt_project/.sqlfluff, library_path).

The models are linted without compiling them through dbt (no database, no manifest): sqlfluff's dbt builtins
give ref, source, config and is_incremental, and this file adds the rest the models and macros call, rendered
as DuckDB SQL: `var` with the real defaults of dbt_project.yml, the `dbt.*` cross-database macros,
`adapter.dispatch` for the project's dispatched macros, and `execute = False` (parse time: no previous build).
Only for linting; dbt itself never reads this folder.
"""

from pathlib import Path
from types import SimpleNamespace

import yaml

_VARS = yaml.safe_load((Path(__file__).parents[1] / "dbt_project.yml").read_text())["vars"]


def var(name, default=None):
    return _VARS.get(name, default)


execute = False

target = SimpleNamespace(database="warehouse", schema="main", type="duckdb")

dbt = SimpleNamespace(
    type_string=lambda: "varchar",
    type_bigint=lambda: "bigint",
    type_int=lambda: "integer",
    type_float=lambda: "float",
    type_boolean=lambda: "boolean",
    type_timestamp=lambda: "timestamp",
    datediff=lambda first, second, part: f"date_diff('{part}', {first}, {second})",
    dateadd=lambda part, number, date: f"({date} + ({number}) * interval 1 {part})",
    date_trunc=lambda part, date: f"date_trunc('{part}', {date})",
    last_day=lambda date, part: f"last_day({date})",
    hash=lambda field: f"md5(cast({field} as varchar))",
    bool_or=lambda expression: f"bool_or({expression})",
    replace=lambda field, old, new: f"replace({field}, {old}, {new})",
    generate_series=lambda upper: f"select range + 1 as generated_number from range({upper})",
    date_spine=lambda part, start, end: (
        f"select cast(range as date) as date_{part} from range({start}, {end}, interval 1 {part})"
    ),
)

# The project's adapter-dispatched macros, as their duckdb__ implementations render.
_DISPATCHED = {
    "utc_timestamp": lambda column: f"timezone('UTC', {column})",
    "type_double": lambda: "double",
}


def _raise(message):
    raise RuntimeError(message)


adapter = SimpleNamespace(dispatch=lambda name, *_: _DISPATCHED[name], get_relation=lambda **_: None)

exceptions = SimpleNamespace(raise_compiler_error=_raise)
