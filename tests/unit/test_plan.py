"""The sweep's plan: --workers parsed, the runs' order, plan.json and resuming under it, and
the spark_sweep role's default plan against Python's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from sparksweep import settings
from sparksweep.errors import PlanError
from sparksweep.plan import (
    PLAN_FILE,
    SweepPlan,
    default_runs,
    parse_workers,
    read_plan,
    resolve_plan,
    workers_text,
    write_plan,
)

ROLE = Path(__file__).resolve().parents[2] / "roles" / "spark_sweep"


# --- --workers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("1", (1,)),
        ("4", (1, 2, 3, 4)),
        ("16", tuple(range(1, 17))),
        ("1,2,4,8", (1, 2, 4, 8)),
        ("1-4,8", (1, 2, 3, 4, 8)),
        ("2-2", (2,)),
        ("3,5-7,16", (3, 5, 6, 7, 16)),
        ("08", tuple(range(1, 9))),
    ],
)
def test_workers_is_n_or_an_ascending_list(text: str, counts: tuple[int, ...]) -> None:
    assert parse_workers(text, 16) == counts


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0", "worker counts start at 1, got 0"),
        ("0,1", "worker counts start at 1, got 0 in '0,1'"),
        ("17", "a worker count goes up to 16 (sparksweep_workers_max), got 17"),
        ("1,17", "goes up to 16 (sparksweep_workers_max), got 17 in '1,17'"),
        ("1-1000000", "got 1000000 in '1-1000000'"),
        ("9" * 50, f"goes up to 16 (sparksweep_workers_max), got {'9' * 50}"),
        ("9" * 5000, "or 1-4,8, got 5000 characters"),
        ("1,2,2", "worker count 2 is listed twice in '1,2,2'; list it once"),
        ("1-4,3", "worker count 3 is listed twice in '1-4,3'"),
        ("4,2", "worker counts must be ascending: 2 comes after 4 in '4,2'"),
        ("8,1-4", "worker counts must be ascending: 1 comes after 8"),
        ("4-1", "the range 4-1 in '4-1' goes down (write 1-4)"),
        ("٣", "expected N (sweeps 1..N) or ascending worker counts like 1,2,4,8 or 1-4,8, got"),
        ("1,٣", "got '1,٣'"),
        ("1_0", "got '1_0'"),
        ("abc", "got 'abc'"),
        ("-1", "got '-1'"),
        ("2.5", "got '2.5'"),
        (" 3", "got ' 3'"),
        ("1,,2", "got '1,,2'"),
        ("1,2,", "got '1,2,'"),
        ("", "got ''"),
    ],
)
def test_bad_workers_are_refused_naming_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(PlanError) as refused:
        parse_workers(text, 16)

    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_workers_text_reads_back() -> None:
    for text in ("5", "1,2,4,8", "2,3"):
        assert workers_text(parse_workers(text, 16)) == text
    assert workers_text((1, 2, 3, 4, 8)) == "1,2,3,4,8"


# --- the order ---------------------------------------------------------------------------


def test_the_default_order_interleaves_every_count_once_per_round() -> None:
    plan = SweepPlan.new((1, 2, 4), repeats=2)

    assert plan.run_ids() == ["w1-r1", "w2-r1", "w4-r1", "w1-r2", "w2-r2", "w4-r2"]
    assert plan.order == "interleaved"
    assert plan.seed is None
    assert plan.extravar()[:2] == [{"workers": 1, "repeat": 1}, {"workers": 2, "repeat": 1}]
    assert SweepPlan.new(3, repeats=1).run_ids() == ["w1-r1", "w2-r1", "w3-r1"]


def test_the_random_order_shuffles_each_round_and_a_seed_repeats_it() -> None:
    counts = tuple(range(1, 9))
    plan = SweepPlan.new(counts, repeats=3, order="random", seed=7)

    rounds = [plan.runs[i * 8 : (i + 1) * 8] for i in range(3)]
    for repeat, runs in enumerate(rounds, start=1):
        assert sorted(w for w, _ in runs) == list(counts)
        assert {r for _, r in runs} == {repeat}
    assert any([w for w, _ in runs] != list(counts) for runs in rounds)
    assert SweepPlan.new(counts, repeats=3, order="random", seed=7) == plan
    assert SweepPlan.new(counts, repeats=3, order="random", seed=8).runs != plan.runs


def test_a_random_order_without_a_seed_draws_one_and_keeps_it() -> None:
    plan = SweepPlan.new((1, 2, 3), repeats=2, order="random")

    assert isinstance(plan.seed, int)
    assert plan.options()[-2:] == ["--seed", str(plan.seed)]
    assert SweepPlan.new((1, 2, 3), repeats=2, order="random", seed=plan.seed) == plan


def test_a_seed_without_the_random_order_is_refused() -> None:
    with pytest.raises(PlanError, match="--seed shuffles the runs of --order random only"):
        SweepPlan.new(3, order="interleaved", seed=1)


def test_options_spell_the_plan_out() -> None:
    assert SweepPlan.new(4, 2).options() == [
        *("--workers", "4", "--repeats", "2", "--order", "interleaved")
    ]
    assert SweepPlan.new((1, 4), 1, "random", 9).options() == [
        *("--workers", "1,4", "--repeats", "1", "--order", "random", "--seed", "9")
    ]


# --- plan.json and resuming ---------------------------------------------------------------


def a_run(folder: Path, run_id: str = "w1-r1") -> None:
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    (folder / "runs" / f"{run_id}.json").write_text("{}")


def test_plan_json_holds_the_order_the_seed_and_the_worker_list(tmp_path: Path) -> None:
    plan = SweepPlan.new((1, 2, 4), repeats=2, order="random", seed=3)
    path = write_plan(tmp_path / "sweep", plan)

    data = json.loads(path.read_text())
    assert path == tmp_path / "sweep" / PLAN_FILE
    assert data == {
        "plan_version": 1,
        "workers": [1, 2, 4],
        "repeats": 2,
        "order": "random",
        "seed": 3,
        "runs": plan.extravar(),
    }
    assert read_plan(tmp_path / "sweep") == plan
    assert not list((tmp_path / "sweep").glob(".*.tmp"))


def test_a_resume_keeps_the_recorded_order_and_seed(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    first = resolve_plan(folder, (1, 2, 3), 2, "random")
    write_plan(folder, first)
    a_run(folder)

    # Without --seed, the recorded one.
    assert resolve_plan(folder, (1, 2, 3), 2, "random") == first
    assert resolve_plan(folder, (1, 2, 3), 2, "random", first.seed) == first


def test_a_resume_keeps_the_recorded_runs_even_should_the_shuffle_change(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "sweep"
    plan = SweepPlan.new((1, 2, 3), 1, "random", seed=5)
    data = plan.as_dict()
    data["runs"] = [{"workers": w, "repeat": 1} for w in (3, 1, 2)]
    folder.mkdir()
    (folder / PLAN_FILE).write_text(json.dumps(data))
    a_run(folder)

    assert resolve_plan(folder, (1, 2, 3), 1, "random", 5).run_ids() == ["w3-r1", "w1-r1", "w2-r1"]


@pytest.mark.parametrize(
    ("asked", "says"),
    [
        (((1, 2, 4), 2, "interleaved", None), "not workers 1,2,4, 2 repeat(s), interleaved order"),
        (((1, 2), 3, "random", None), "not workers 2, 3 repeat(s), random order"),
        (((1, 2, 3), 2, "interleaved", None), "not workers 3, 2 repeat(s), interleaved order"),
        (((1, 2, 3), 2, "random", 99), "random order, seed 99"),
    ],
    ids=["other-workers", "other-workers-more-repeats", "other-order", "other-seed"],
)
def test_a_resume_that_asks_for_another_plan_is_refused(
    tmp_path: Path, asked: tuple[Any, ...], says: str
) -> None:
    folder = tmp_path / "sweep"
    write_plan(folder, SweepPlan.new((1, 2, 3), 2, "random", seed=4))
    a_run(folder)
    before = (folder / PLAN_FILE).read_bytes()

    with pytest.raises(PlanError) as refused:
        resolve_plan(folder, *asked)

    message = str(refused.value)
    assert message.startswith(
        "sweep sweep was planned as workers 3, 2 repeat(s), random order, seed 4, "
    )
    assert says in message
    assert message.endswith(
        "resume it with --workers 3 --repeats 2 --order random --seed 4, or give a new --sweep-id"
    )
    assert (folder / PLAN_FILE).read_bytes() == before


@pytest.mark.parametrize(("order", "seed"), [("interleaved", None), ("random", 4)])
def test_a_resume_with_more_repeats_extends_the_recorded_plan(
    tmp_path: Path, order: str, seed: int | None
) -> None:
    folder = tmp_path / "sweep"
    write_plan(folder, SweepPlan.new((1, 2, 4, 8), 1, order, seed))
    a_run(folder)
    recorded = read_plan(folder)
    assert recorded is not None

    # A resume without --seed takes the recorded one, as for the same repeats.
    extended = resolve_plan(folder, (1, 2, 4, 8), 3, order)

    assert extended.runs[:4] == recorded.runs
    assert (extended.repeats, extended.order, extended.seed) == (3, order, seed)
    for repeat in (2, 3):
        round_runs = extended.runs[(repeat - 1) * 4 : repeat * 4]
        assert sorted(round_runs) == [(w, repeat) for w in (1, 2, 4, 8)]
    # Extended from 1 to 3, or from 1 to 2 and then to 3: the plan of 3 from the start.
    assert extended == SweepPlan.new((1, 2, 4, 8), 3, order, seed)
    write_plan(folder, resolve_plan(folder, (1, 2, 4, 8), 2, order, seed))
    assert resolve_plan(folder, (1, 2, 4, 8), 3, order) == extended


def test_an_extension_keeps_the_recorded_runs_as_they_are(tmp_path: Path) -> None:
    # Recorded in an order the shuffle would not give now: kept, and only new rounds drawn.
    folder = tmp_path / "sweep"
    data = SweepPlan.new((1, 2, 3), 1, "random", seed=5).as_dict()
    data["runs"] = [{"workers": w, "repeat": 1} for w in (3, 1, 2)]
    folder.mkdir()
    (folder / PLAN_FILE).write_text(json.dumps(data))
    a_run(folder)

    extended = resolve_plan(folder, (1, 2, 3), 2, "random", 5)

    assert extended.run_ids()[:3] == ["w3-r1", "w1-r1", "w2-r1"]
    assert extended.runs[3:] == SweepPlan.new((1, 2, 3), 2, "random", seed=5).runs[3:]


def test_a_random_round_depends_only_on_the_seed_and_its_number() -> None:
    counts = tuple(range(1, 9))
    long = SweepPlan.new(counts, 5, "random", seed=11)

    for repeats in range(1, 5):
        short = SweepPlan.new(counts, repeats, "random", seed=11)
        assert long.runs[: len(short.runs)] == short.runs
        assert short.extended(5) == long


def test_a_resume_with_fewer_repeats_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    write_plan(folder, SweepPlan.new((1, 2, 3), 2, "random", seed=4))
    a_run(folder)
    before = (folder / PLAN_FILE).read_bytes()

    with pytest.raises(PlanError) as refused:
        resolve_plan(folder, (1, 2, 3), 1, "random")

    assert str(refused.value) == (
        "sweep sweep has 2 repeat(s) recorded; a resume cannot ask for fewer (1): resume it "
        "with --repeats 2 or more, or report on the runs recorded with: sparksweep report "
        f"{folder}"
    )
    assert (folder / PLAN_FILE).read_bytes() == before


def test_a_plan_without_runs_is_replaced(tmp_path: Path) -> None:
    # A sweep refused before its first run (a preflight, say) measured nothing in its order.
    folder = tmp_path / "sweep"
    write_plan(folder, SweepPlan.new((1, 2, 3), 2))

    assert resolve_plan(folder, (1, 4), 1).run_ids() == ["w1-r1", "w4-r1"]


def test_a_sweep_from_before_plan_json_is_resumed_under_the_plan_asked_for(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "sweep"
    a_run(folder)

    assert resolve_plan(folder, 2, 1).run_ids() == ["w1-r1", "w2-r1"]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"plan_version": 2}),
        json.dumps({**SweepPlan.new(2).as_dict(), "runs": [{"workers": 1, "repeat": 1}]}),
        json.dumps({**SweepPlan.new(2).as_dict(), "seed": 3}),
    ],
    ids=["not-json", "version", "runs-missing-one", "seed-with-interleaved"],
)
def test_a_damaged_plan_is_refused_in_one_line(tmp_path: Path, text: str) -> None:
    folder = tmp_path / "sweep"
    a_run(folder)
    (folder / PLAN_FILE).write_text(text)

    with pytest.raises(PlanError, match=r"plan\.json: cannot read the sweep's plan .*delete it"):
        resolve_plan(folder, 2, 1)


# --- the role's default plan --------------------------------------------------------------


def role_plan(**extravars: Any) -> list[dict[str, Any]]:
    """spark_sweep_plan as the role's defaults and vars render it with these extra vars."""
    variables: dict[str, Any] = {"sparksweep_workers_max": settings.workers_max()}
    for name in ("defaults/main.yml", "vars/main.yml"):
        for key, value in yaml.safe_load((ROLE / name).read_text()).items():
            variables[key] = trust_as_template(value) if isinstance(value, str) else value
    variables.update(extravars)
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ spark_sweep_plan }}"))


@pytest.mark.parametrize(("workers", "repeats"), [(1, 1), (3, 2), ("5", "3"), (16, 1)])
def test_the_roles_default_plan_is_pythons(workers: int | str, repeats: int | str) -> None:
    # -e workers=N from the command line arrives as text.
    expected = SweepPlan.new(int(workers), int(repeats)).extravar()

    assert role_plan(workers=workers, repeats=repeats) == expected
    assert [(r["workers"], r["repeat"]) for r in expected] == default_runs(
        range(1, int(workers) + 1), int(repeats)
    )


def test_the_roles_default_plan_stops_at_the_limit_for_the_preflight_to_refuse() -> None:
    # Rendered by the argument spec before the preflight's check of workers runs.
    assert len(role_plan(workers="1000000", repeats=1)) == settings.workers_max()


def test_the_role_takes_the_plan_it_is_given_as_it_is() -> None:
    plan = SweepPlan.new((1, 2, 8), 2, "random", seed=1).extravar()

    assert role_plan(workers=3, sweep_plan=plan) == plan
