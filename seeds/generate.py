"""Generate raw CRM, shop and help-desk exports (and the truth behind them), deterministically.

    .venv/bin/python -m seeds.generate --customers 3000 --seed 42 --start 2023-01-01 --end 2025-12-31 \
        --out seeds/sample --overwrite

Writes `<out>/landing/<source>/<family>/<family>_<period>.<ext>[.gz]` in the shape of
`orchestration/lib/raw_schema.py`, and `<out>/truth/` (parameters.json, customers.csv.gz). The same
arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import time
from datetime import date
from pathlib import Path

from seeds import catalog, crm, orders, purchases, support, truth
from seeds.config import GeneratorConfig
from seeds.landing import Periods
from seeds.population import build_population

log = logging.getLogger("seeds.generate")


def generate(config: GeneratorConfig, overwrite: bool = False) -> Path:
    """Write landing files and truth under `config.out`; returns `config.out`."""
    landing, truth_dir = config.out / "landing", config.out / "truth"
    for d in (landing, truth_dir):
        if d.exists() and any(d.iterdir()):
            if not overwrite:
                raise FileExistsError(f"{d} is not empty; pass overwrite=True (--overwrite) to replace it")
            shutil.rmtree(d)
    periods = Periods(config.period)
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        log.info("%-28s %6.1f s  (peak RSS %5.0f MB)", name, now - clock, peak_mb)
        clock = now

    pop = build_population(config)
    versions = crm.build_contact_versions(config, pop)
    step("contacts")
    bought, problems, outcome = purchases.simulate(config, pop)
    step(f"purchases ({len(bought.who):,})")
    cat = catalog.build_catalog(config)
    rates = catalog.build_rates(config)
    shop = orders.build_orders(config, pop, versions, bought, rates)
    step(f"orders ({len(shop.at_d):,})")
    tickets = support.build_tickets(config, pop, versions, shop, problems, bought.who, bought.at_d)
    step(f"tickets ({len(tickets.who):,})")

    crm.write_contacts(config, pop, versions, landing, periods)
    crm.write_leads(config, pop, landing, periods)
    crm.write_activities(config, pop, landing, periods)
    step("write crm")
    catalog.write_products(config, cat, landing, periods)
    catalog.write_rates(config, rates, landing, periods)
    order_out = orders.write_orders(config, pop, shop, cat, landing, periods)
    step("write orders")
    refund_out = orders.write_refunds(config, shop, problems, landing, periods)
    ticket_out = support.write_tickets(config, pop, shop, tickets, landing, periods)
    csat_out = support.write_csat(config, tickets, landing, periods)
    nps_out = support.write_nps(config, pop, versions, outcome, tickets, landing, periods)
    step("write refunds and support")

    stats = {
        "contacts": pop.n,
        "contact_versions": len(versions.who),
        "buyers": int((outcome.n_purchases > 0).sum()),
        "internal_accounts": int(pop.internal.sum()),
        "purchases": len(bought.who),
        "problems": len(problems.purchase),
        **order_out["stats"],
        "cancelled_orders": int(shop.cancelled.sum()),
        "guest_checkout_orders": int(shop.guest_checkout.sum()),
        "referral_codes": int((shop.referrer >= 0).sum()),
        **refund_out["stats"],
        **ticket_out["stats"],
        **csat_out["stats"],
        **nps_out["stats"],
    }
    truth.write_customers(config, pop, outcome, truth_dir)
    truth.write_parameters(config, stats, truth_dir)
    step("write truth")
    return config.out


def parse_args(
    argv: list[str] | None = None, prog: str = "python -m seeds.generate"
) -> tuple[GeneratorConfig, bool]:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, required=True, help="CRM contacts to simulate")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--clean", action="store_true", help="no dirty data, no experience effect on dropout")
    parser.add_argument(
        "--period", choices=("month", "day"), default="month", help="one file per export period"
    )
    parser.add_argument("--no-gzip", action="store_true", help="write plain .csv/.jsonl")
    parser.add_argument("--overwrite", action="store_true", help="replace <out>/landing and <out>/truth")
    args = parser.parse_args(argv)
    config = GeneratorConfig(
        customers=args.customers, seed=args.seed, start=args.start, end=args.end, out=args.out,
        clean=args.clean, period=args.period, compress=not args.no_gzip,
    )  # fmt: skip
    return config, args.overwrite


def main(argv: list[str] | None = None, prog: str = "python -m seeds.generate") -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config, overwrite = parse_args(argv, prog)
    generate(config, overwrite=overwrite)
    log.info("wrote %s", config.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
