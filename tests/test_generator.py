"""The source-data generator: deterministic, its files carry the BG/NBD and Gamma-Gamma model it claims,
every dirty-data class is present at about its documented rate, and every file matches raw_schema."""

from __future__ import annotations

import functools
import gzip
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from orchestration.lib.raw_schema import RAW_TABLES
from seeds.config import CHANNEL_PARAMS, DirtyRates, GeneratorConfig
from seeds.generate import generate, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "seeds" / "sample"
SAMPLE_ARGS = ["--customers", "3000", "--seed", "42", "--start", "2023-01-01", "--end", "2025-12-31"]
START, END = date(2023, 1, 1), date(2025, 12, 31)
WINDOW_END = pd.Timestamp("2026-01-01", tz="UTC")
RATES = DirtyRates()


def files(landing: Path, source: str, family: str) -> list[Path]:
    return sorted((landing / source / family).glob(f"{family}_*"))


def read_csv(landing: Path, source: str, family: str) -> pd.DataFrame:
    frames = []
    for path in files(landing, source, family):
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=False)
        df["_file"] = path.name
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


@functools.cache
def read_sample_jsonl(source: str, family: str) -> tuple[dict, ...]:
    """The committed sample's records, parsed once per test session."""
    return tuple(read_jsonl(SAMPLE / "landing", source, family))


def read_jsonl(landing: Path, source: str, family: str) -> list[dict]:
    records = []
    for path in files(landing, source, family):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as fh:
            for line in fh:
                record = json.loads(line)
                record["_file"] = path.name
                records.append(record)
    return records


def utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")


def period_of(file_name: str) -> str:
    return re.search(r"_(\d{4}-\d{2}(?:-\d{2})?)\.", file_name).group(1)


def normalise(emails: pd.Series) -> pd.Series:
    return emails.str.strip().str.lower()


def about(observed: float, expected: float) -> bool:
    """A count within Poisson noise of its expectation (4 sigma, plus a little slack for tiny counts)."""
    return abs(observed - expected) <= 4 * np.sqrt(expected) + 3


# ---------------------------------------------------------------- determinism


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_sample_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    readme = (ROOT / "seeds" / "README.md").read_text()
    assert " ".join(SAMPLE_ARGS) in readme, "README must show the command that made the sample"
    assert main([*SAMPLE_ARGS, "--out", str(tmp_path)]) == 0
    for part in ("landing", "truth"):
        committed, fresh = tree_bytes(SAMPLE / part), tree_bytes(tmp_path / part)
        assert sorted(committed) == sorted(fresh)
        changed = [name for name in committed if committed[name] != fresh[name]]
        assert not changed, f"regenerated files differ: {changed[:5]}"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def run(seed: int, out: str) -> dict[str, bytes]:
        config = GeneratorConfig(300, seed, date(2024, 1, 1), date(2024, 1, 31), tmp_path / out, period="day")
        return tree_bytes(generate(config))

    first, again, other = run(5, "a"), run(5, "b"), run(6, "c")
    assert first == again
    assert len(first) > 150  # daily files
    shared = set(first) & set(other)
    assert sum(first[k] != other[k] for k in shared if "products" not in k) > 0.9 * len(shared) - 10


def test_refuses_to_overwrite_without_flag(tmp_path: Path) -> None:
    config = GeneratorConfig(50, 1, date(2024, 1, 1), date(2024, 1, 31), tmp_path)
    generate(config)
    with pytest.raises(FileExistsError):
        generate(config)
    assert generate(config, overwrite=True) == tmp_path


# ---------------------------------------------------------------- the model, on a clean population


ORDER_COLUMNS = {
    "order_id": "VARCHAR", "customer_id": "VARCHAR", "email": "VARCHAR", "created_at": "VARCHAR",
    "status": "VARCHAR", "currency": "VARCHAR", "subtotal": "DOUBLE", "discount_total": "DOUBLE",
}  # fmt: skip


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("clean20k")
    generate(GeneratorConfig(20_000, 11, START, END, out, clean=True, compress=False))
    truth = pd.read_csv(out / "truth" / "customers.csv.gz", keep_default_na=False, na_values=[""])
    params = json.loads((out / "truth" / "parameters.json").read_text())
    landing = out / "landing"
    contacts = read_csv(landing, "crm", "contacts")
    # clean data: an order is exported again only when cancelled, so "cancelled in any export" is its status
    columns = ", ".join(f"{k}: '{v}'" for k, v in ORDER_COLUMNS.items())
    orders = duckdb.sql(f"""
        select order_id, any_value(customer_id) as customer_id, any_value(email) as email,
            any_value(created_at) as created_at, min(status) as status, any_value(currency) as currency,
            any_value(subtotal) as subtotal, any_value(discount_total) as discount_total
        from read_json('{landing}/orders/orders/*.jsonl', format='newline_delimited', columns={{{columns}}})
        group by order_id order by order_id""").df()
    rates = read_csv(landing, "orders", "exchange_rates").astype({"usd_per_unit": float})
    data = {"truth": truth, "params": params, "contacts": contacts, "orders": orders, "rates": rates}
    data["resolved"] = resolved_orders(data)
    return data


def test_clean_run_has_no_dirty_data_and_no_experience_effect(clean: dict) -> None:
    assert clean["params"]["experience_effect"]["dropout_increase"] == 0.0
    assert all(v == 0 for v in clean["params"]["dirty_rates"].values())
    assert not clean["truth"]["is_internal"].any()
    assert clean["orders"]["created_at"].str.endswith("Z").all()


@pytest.mark.parametrize("channel", list(CHANNEL_PARAMS))
def test_latent_parameters_match_their_distributions(clean: dict, channel: str) -> None:
    c = CHANNEL_PARAMS[channel]
    t = clean["truth"][clean["truth"]["acquisition_channel"] == channel]
    n = len(t)
    lam_sd = np.sqrt(c.r) / c.alpha
    assert abs(t["lambda"].mean() - c.r / c.alpha) < 4 * lam_sd / np.sqrt(n)
    p_sd = np.sqrt(c.a * c.b / ((c.a + c.b) ** 2 * (c.a + c.b + 1)))
    assert abs(t["dropout_p"].mean() - c.a / (c.a + c.b)) < 4 * p_sd / np.sqrt(n)
    nu_sd = np.sqrt(c.gg_q) / c.gg_gamma
    assert abs(t["nu"].mean() - c.gg_q / c.gg_gamma) < 4 * nu_sd / np.sqrt(n)
    assert abs(t["is_prospect"].mean() - c.prospect_share) < 4 * np.sqrt(c.prospect_share / n)


def test_share_still_alive_matches_bgnbd(clean: dict) -> None:
    """Under BG/NBD a customer is alive T weeks after the first purchase with probability exp(-lambda p T)."""
    t = clean["truth"][clean["truth"]["n_purchases"] > 0]
    weeks = (WINDOW_END - utc(t["first_purchase_at"])).dt.total_seconds() / (7 * 86400)
    p_alive = np.exp(-t["lambda"] * t["dropout_p"] * weeks)
    sd = np.sqrt((p_alive * (1 - p_alive)).sum())
    assert abs(t["alive_at_end"].sum() - p_alive.sum()) < 4 * sd
    assert 0.3 < 1 - t["alive_at_end"].mean() < 0.8  # a real share left within the window
    left = t[~t["alive_at_end"]]
    months = (utc(left["dropout_at"]) - utc(left["first_purchase_at"])).dt.days / 30.44
    assert months.max() > 12 and (left["dropout_at"].notna()).all()


def resolved_orders(clean: dict) -> pd.DataFrame:
    """Completed orders with their CRM contact: customer_id, else the contact with that normalised email."""
    orders = clean["orders"]
    email_to_contact = (
        clean["contacts"]
        .assign(e=lambda d: normalise(d["email"]))
        .drop_duplicates("e")
        .set_index("e")["contact_id"]
    )
    who = orders["customer_id"].fillna(normalise(orders["email"]).map(email_to_contact))
    return orders.assign(contact=who)[orders["status"] == "completed"]


def test_landing_orders_are_exactly_the_simulated_purchases(clean: dict) -> None:
    orders = clean["resolved"]
    truth = clean["truth"].set_index("customer_id")
    counts = orders.groupby("contact").size().reindex(truth.index, fill_value=0)
    assert (counts == truth["n_purchases"]).all()
    first = utc(orders["created_at"]).groupby(orders["contact"]).min()
    expected_first = utc(truth.loc[first.index, "first_purchase_at"])
    assert (first == expected_first).all()
    assert 8 <= counts[counts > 0].mean() <= 12  # orders per buying customer over ~3 years


def expected_repeat_purchases(r: float, alpha: float, a: float, b: float, t: np.ndarray) -> np.ndarray:
    """BG/NBD E[X(t)] (Fader, Hardie and Lee 2005, eq. 9)."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


@pytest.mark.parametrize("channel", list(CHANNEL_PARAMS))
def test_repeat_purchases_in_files_match_bgnbd_expectation(clean: dict, channel: str) -> None:
    c = CHANNEL_PARAMS[channel]
    orders = clean["resolved"]
    chan = clean["truth"].set_index("customer_id")["acquisition_channel"]
    orders = orders[orders["contact"].map(chan) == channel]
    when = utc(orders["created_at"])
    per = pd.DataFrame(
        {"n": when.groupby(orders["contact"]).size(), "first": when.groupby(orders["contact"]).min()}
    )
    weeks = ((WINDOW_END - per["first"]).dt.total_seconds() / (7 * 86400)).to_numpy()
    expected = expected_repeat_purchases(c.r, c.alpha, c.a, c.b, weeks)
    diff = (per["n"].to_numpy() - 1) - expected
    assert abs(diff.mean()) < 4 * diff.std() / np.sqrt(len(diff)), (diff.mean(), expected.mean())


@pytest.mark.parametrize("channel", list(CHANNEL_PARAMS))
def test_order_values_in_files_match_gamma_gamma_mean(clean: dict, channel: str) -> None:
    """Per customer, mean order value (net of discount, USD at the day's rate) has mean p*gamma/(q-1)."""
    c = CHANNEL_PARAMS[channel]
    orders = clean["resolved"]
    chan = clean["truth"].set_index("customer_id")["acquisition_channel"]
    orders = orders[orders["contact"].map(chan) == channel]
    rates = clean["rates"].set_index(["rate_date", "currency"])["usd_per_unit"]
    day = utc(orders["created_at"]).dt.strftime("%Y-%m-%d")
    rate = rates.reindex(pd.MultiIndex.from_arrays([day, orders["currency"]])).to_numpy()
    usd = (orders["subtotal"] - orders["discount_total"]).to_numpy() * rate
    per_customer = pd.Series(usd).groupby(orders["contact"].to_numpy()).mean()
    se = per_customer.std() / np.sqrt(len(per_customer))
    assert abs(per_customer.mean() - c.mean_order_value) < 4 * se, (per_customer.mean(), c.mean_order_value)


def test_experience_effect_is_recorded_and_nonzero_by_default() -> None:
    params = json.loads((SAMPLE / "truth" / "parameters.json").read_text())
    assert params["experience_effect"]["dropout_increase"] > 0
    generator = {"customers": 3000, "seed": 42, "start": "2023-01-01", "end": "2025-12-31", "period": "month"}
    assert params["generator"] == {**generator, "clean": False}


# ---------------------------------------------------------------- dirty data in the committed sample


@pytest.fixture(scope="module")
def sample() -> dict:
    landing = SAMPLE / "landing"
    records = read_sample_jsonl("orders", "orders")
    lines = pd.DataFrame([{**li, "order_id": r["order_id"]} for r in records for li in r["line_items"]])
    return {
        "contacts": read_csv(landing, "crm", "contacts"),
        "orders": pd.DataFrame(records).drop(columns=["line_items"]),
        "lines": lines,
        "tickets": read_csv(landing, "support", "tickets"),
        "truth": pd.read_csv(SAMPLE / "truth" / "customers.csv.gz"),
        "counts": json.loads((SAMPLE / "truth" / "parameters.json").read_text())["counts"],
    }


def junk(orders: pd.DataFrame) -> pd.Series:
    return utc(orders["created_at"]).isna() | (orders["currency"] == "XXX")


def test_duplicate_order_exports(sample: dict) -> None:
    orders = sample["orders"][~junk(sample["orders"])]
    both_statuses = orders.groupby("order_id")["status"].nunique().gt(1).sum()
    duplicates = len(orders) - orders["order_id"].nunique() - both_statuses
    n = orders["order_id"].nunique()
    assert duplicates > 0 and about(duplicates, RATES.duplicate_order_export * n)
    assert both_statuses > 0  # cancellations arrive as a second export of the order


def test_email_variants(sample: dict) -> None:
    for frame, column in (
        (sample["contacts"], "email"),
        (sample["orders"], "email"),
        (sample["tickets"], "requester_email"),
    ):
        variant = (frame[column] != normalise(frame[column])).sum()
        assert variant > 0 and about(variant, RATES.email_variant * len(frame)), (column, variant, len(frame))


def test_non_utc_offsets_are_the_same_instant(sample: dict) -> None:
    contacts = sample["contacts"]
    offset = ~contacts["updated_at"].str.endswith("Z")
    assert about(offset.sum(), RATES.non_utc_offset * len(contacts))
    assert contacts["updated_at"][offset].str.contains(r"[+-]\d\d:\d\d$").all()
    truth = sample["truth"].set_index("customer_id")["created_at"]
    first_version = contacts.drop_duplicates("contact_id")
    assert (utc(first_version["created_at"]) == utc(first_version["contact_id"].map(truth))).all()


def test_late_orders_land_in_a_later_file(sample: dict) -> None:
    orders = sample["orders"][~junk(sample["orders"])]
    first_file = orders.groupby("order_id")["_file"].min().map(period_of)
    created = utc(orders.groupby("order_id")["created_at"].first()).dt.strftime("%Y-%m")
    late = (first_file > created.reindex(first_file.index)).sum()
    n = len(first_file)
    # 1% are exported 1-40 days late; most, not all, of them cross into the next month's file
    assert late > 0 and 0.4 * RATES.late_order * n - 3 <= late <= RATES.late_order * n + 4 * np.sqrt(n * 0.01)
    assert (first_file >= created.reindex(first_file.index)).all()  # never exported before it happened


def test_phone_column_only_from_july_2024() -> None:
    for path in files(SAMPLE / "landing", "crm", "contacts"):
        with gzip.open(path, "rt") as fh:
            header = fh.readline().strip().split(",")
        assert ("phone" in header) == (period_of(path.name) >= "2024-07"), path.name


def test_internal_accounts_place_orders(sample: dict) -> None:
    contacts = sample["contacts"]
    internal = contacts[
        (contacts["is_internal"] == "true")
        | normalise(contacts["email"]).str.endswith("@example-internal.test")
    ]
    ids = set(internal["contact_id"])
    assert about(len(ids), RATES.internal_account * 3000 + 3)
    assert sample["orders"]["customer_id"].isin(ids).sum() > 0
    assert set(sample["truth"].loc[sample["truth"]["is_internal"], "customer_id"]) == ids


def test_tickets_from_unknown_requesters(sample: dict) -> None:
    tickets = sample["tickets"].drop_duplicates("ticket_id")
    known = set(normalise(sample["contacts"]["email"]))
    unknown = tickets["customer_id"].isna() & ~normalise(tickets["requester_email"]).isin(known)
    assert unknown.sum() > 0 and about(unknown.sum(), RATES.unknown_requester_ticket * len(tickets))


def test_malformed_rows_are_rare_and_present(sample: dict) -> None:
    orders, lines, tickets = sample["orders"], sample["lines"], sample["tickets"]
    n_orders = sample["counts"]["orders"]
    bad_date = utc(orders["created_at"]).isna().sum()
    bad_currency = (orders["currency"] == "XXX").sum()
    negative = (lines["quantity"] < 0).sum()
    bad_ticket = utc(tickets["created_at"]).isna().sum()
    assert bad_date > 0 and about(bad_date, RATES.malformed_date_order * n_orders)
    assert bad_currency > 0 and about(bad_currency, RATES.unknown_currency_order * n_orders)
    assert negative > 0 and about(negative, RATES.negative_quantity_line * len(lines))
    assert bad_ticket > 0 and about(bad_ticket, RATES.malformed_date_ticket * len(tickets))
    malformed = bad_date + bad_currency + negative + bad_ticket
    assert malformed / (len(orders) + len(lines) + len(tickets)) < 0.005


# ---------------------------------------------------------------- every file matches raw_schema


@pytest.mark.parametrize("table", [t for t in RAW_TABLES if t.unnest is None], ids=lambda t: t.name)
def test_files_match_raw_schema(table) -> None:
    landing = SAMPLE / "landing"
    paths = files(landing, table.source, table.file_family)
    assert paths, f"no files for {table.name}"
    assert all(p.name.endswith(f".{table.format}.gz") for p in paths)
    names = [c.name for c in table.columns]
    required = [c.name for c in table.columns if c.required]
    if table.format == "csv":
        for path in paths:
            with gzip.open(path, "rt") as fh:
                header = fh.readline().strip().split(",")
            assert set(required) <= set(header) <= set(names), path.name
            assert header == [n for n in names if n in header], (
                f"{path.name}: columns out of documented order"
            )
        frame = read_csv(landing, table.source, table.file_family)
    else:
        records = read_sample_jsonl(table.source, table.file_family)
        assert all(set(required) <= set(r) for r in records)
        frame = pd.DataFrame(records)
    deliberate = junk(frame) if table.name == "shop_orders" else pd.Series(False, index=frame.index)
    assert deliberate.mean() < 0.005
    check_values(table, frame[~deliberate])
    if table.name == "shop_orders":
        check_values(
            next(t for t in RAW_TABLES if t.name == "shop_order_lines"), order_lines(frame[~deliberate])
        )


def order_lines(orders: pd.DataFrame) -> pd.DataFrame:
    orders = orders.drop_duplicates("order_id")
    rows = [
        {**li, "order_id": oid}
        for oid, items in zip(orders["order_id"], orders["line_items"], strict=True)
        for li in items
    ]
    lines = pd.DataFrame(rows)
    assert set(lines.columns) == {"order_id", "line_id", "product_id", "quantity", "unit_price"}
    cents = (lines["quantity"] * (lines["unit_price"] * 100).round()).groupby(lines["order_id"]).sum()
    subtotal = (orders.drop_duplicates("order_id").set_index("order_id")["subtotal"] * 100).round()
    negative = lines.loc[lines["quantity"] < 0, "order_id"].unique()
    ok = subtotal.drop(negative)
    assert (cents.reindex(ok.index) == ok).all(), "line items must sum to the subtotal"
    return lines[lines["quantity"] >= 0]  # the deliberate negative quantities are checked elsewhere


def check_values(table, frame: pd.DataFrame) -> None:
    for col in table.columns:
        if col.name not in frame:
            assert not col.required and col.name == "phone", f"{table.name}.{col.name} missing"
            continue
        values = frame[col.name]
        if col.required:
            assert values.notna().all(), f"{table.name}.{col.name} has nulls"
        present = values.dropna()
        if col.allowed:
            assert present.isin(col.allowed).all(), (
                f"{table.name}.{col.name}: {set(present) - set(col.allowed)}"
            )
        if col.type in ("DOUBLE", "BIGINT"):
            numbers = pd.to_numeric(present)
            if col.min_value is not None:
                assert (numbers >= col.min_value).all(), f"{table.name}.{col.name} below {col.min_value}"
            if col.max_value is not None:
                assert (numbers <= col.max_value).all(), f"{table.name}.{col.name} above {col.max_value}"
        if col.type == "TIMESTAMPTZ":
            bad = utc(present).isna()
            limit = 0.002 if table.name == "support_tickets" and col.name == "created_at" else 0.0
            assert bad.mean() <= limit, f"{table.name}.{col.name}: {present[bad].head().tolist()}"
        if col.type == "BOOLEAN":
            assert present.isin(["true", "false"]).all()
        if col.type == "DATE":
            assert pd.to_datetime(present, format="%Y-%m-%d", errors="coerce").notna().all()
