"""`turnout simulate`: a realistic election with its ground truth, written as NDJSON or sent.

With `--speed`, the weeks before polling day (and, with `--start HH:MM`, polling day up to that
time) are sent at once, then polling day is paced, so `turnout watch` shows a day unfolding
within seconds of starting; the progress line shows the simulated clock.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from streams.errors import ConfigError
from streams.settings import Settings

if TYPE_CHECKING:
    from streams.cli.client import ApiClient
    from streams.sim import SimulationConfig


def add_simulate_command(
    sub: Any, settings: Callable[[], Settings], console: Console, err_console: Console
) -> None:
    """Register `turnout simulate` on the CLI's subparsers."""
    sim = sub.add_parser("simulate", help="generate a realistic election and send it")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--electors", type=int, default=100_000)
    sim.add_argument("--wards", type=int, default=20)
    sim.add_argument(
        "--speed", type=float, default=0.0,
        help="pace polling day at this many simulated seconds per second (600: the day in "
        "90 s); the weeks before are sent at once first. 0 (default) = no pauses",
    )  # fmt: skip
    sim.add_argument(
        "--start", metavar="HH:MM",
        help="with --speed: begin the paced part at this time of polling day (the election's "
        "local time); everything that happened earlier is sent at once",
    )  # fmt: skip
    sim.add_argument("--out", help="write NDJSON to this file instead of sending")
    sim.add_argument(
        "--truth", help="where to write the ground truth (default: under TURNOUT_HOME)"
    )
    sim.add_argument("--kafka", action="store_true", help="produce straight to Kafka")
    sim.add_argument("--no-noise", action="store_true", help="no duplicates, delays or junk")
    sim.add_argument("--wait", action="store_true", help="wait until the worker processed all")
    sim.set_defaults(fn=lambda args: simulate_command(args, settings(), console, err_console))


def pacing_options(args: argparse.Namespace) -> time_of_day | None:
    """Check --speed and --start before anything is simulated; the --start time, if any."""
    if args.speed < 0:
        raise ConfigError(f"--speed: {args.speed:g} is negative; give 0 (no pauses) or more")
    other = "--out" if args.out else "--kafka" if args.kafka else None
    if other and (args.speed or args.start is not None):
        option = "--start" if args.start is not None else "--speed"
        raise ConfigError(f"{option}: paces sending over HTTP; drop it, or drop {other}")
    if args.start is None:
        return None
    if not args.speed:
        raise ConfigError(
            "--start: says where the paced part of polling day begins; add --speed, "
            "e.g. --speed 600 --start 16:00"
        )
    from streams.sim import parse_start

    return parse_start(args.start)


def simulate_command(
    args: argparse.Namespace, settings: Settings, console: Console, err_console: Console
) -> None:
    from streams.cli.client import ApiClient
    from streams.cli.sender import post_batches, produce_direct
    from streams.sim import SimulationConfig, simulate, write_ndjson, write_truth

    start = pacing_options(args)
    config = SimulationConfig(seed=args.seed, electors=args.electors, wards=args.wards,
                              noise=not args.no_noise)  # fmt: skip
    with err_console.status(f"simulating {config.electors} electors in {config.wards} wards…"):
        sim = simulate(config)
    simulations = settings.home / "simulations"
    truth_path = Path(args.truth or simulations / f"{config.election_id}.truth.json")
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    write_truth(sim, truth_path)
    console.print(
        f"{len(sim.events)} events for {config.election_id} ({sim.malformed} malformed); "
        f"ground truth in {truth_path}"
    )
    if args.out:
        write_ndjson(sim.events, args.out)
        console.print(f"wrote {args.out}")
        return
    if args.kafka:
        produce_direct(settings, sim.events, len(sim.events), err_console)
    elif args.speed:
        send_live(ApiClient(settings), sim.events, config, args.speed, start, console, err_console)
    else:
        summary = post_batches(ApiClient(settings), [sim.events], len(sim.events), err_console)
        summary.print(console)
    if args.wait:
        ApiClient(settings).wait_caught_up(timeout=600)


def send_live(
    client: ApiClient,
    events: list[Any],
    config: SimulationConfig,
    speed: float,
    start: time_of_day | None,
    console: Console,
    err_console: Console,
) -> None:
    """The events before `start` on polling day at once, then the rest paced at `speed`."""
    from streams.cli.sender import post_batches, post_timed
    from streams.sim import ZONE, paced_timed, pacing_starts, split_at

    begins = pacing_starts(config.polling_date, ZONE, start)
    before, live = split_at(events, begins)
    console.print(f"sending {len(before)} events that happened before {begins:%a %d %b %H:%M}…")
    summary = post_batches(client, [before], len(before), err_console)
    console.print(
        f"then {len(live)} events at {speed:g}x: watch them arrive with "
        f"turnout watch --election {config.election_id}"
    )
    post_timed(client, clock_labels(paced_timed(live, speed)), len(live), err_console, summary)
    summary.print(console)


def clock_labels(
    batches: Iterator[tuple[float | None, list[Any]]],
) -> Iterator[tuple[str | None, list[Any]]]:
    """Each paced batch labelled with its simulated clock in the election's local time."""
    from streams.sim import ZONE

    for clock, batch in batches:
        label = None if clock is None else f"{datetime.fromtimestamp(clock, ZONE):%a %H:%M:%S %Z}"
        yield label, batch
