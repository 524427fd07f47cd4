"""What the benchmark reads from wrk (bench/wrk.py) and what it prints from it
(bench/run.py): pure code, on samples of wrk's real output."""

from __future__ import annotations

import pytest

from bench import run as bench_run
from bench.cpu import MachineShare, machine_ticks
from bench.run import CHAIN, GET, INLINE, PATCH, Report, as_json, render
from bench.wrk import WrkError, WrkResult, parse_wrk_output, wrk_command

CLEAN = """\
Running 10s test @ http://127.0.0.1:41023
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.94ms    4.12ms  61.20ms   78.31%
    Req/Sec   621.40     71.33   797.00     70.50%
  Latency Distribution
     50%   12.31ms
     75%   14.77ms
     90%   17.89ms
     99%   25.64ms
  12391 requests in 10.01s, 5.31MB read
Requests/sec:   1237.86
Transfer/sec:    543.02KB
flowpilot-wrk requests=12391 duration_us=10010012 p50_us=12310 p90_us=17890 p99_us=25640 \
max_us=61200 non2xx=0 connect_errors=0 read_errors=0 write_errors=0 timeouts=0 statuses=-
"""

# Two threads' counts of the same status, as wrk.lua's done() prints them.
WITH_ERRORS = """\
Running 1s test @ http://127.0.0.1:18777
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.02ms    1.91ms  16.97ms   87.14%
    Req/Sec     1.18k   249.71     1.76k    63.64%
  Latency Distribution
     50%    1.34ms
     75%    2.19ms
     90%    4.57ms
     99%    9.74ms
  2592 requests in 1.10s, 1.29MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 2592
Requests/sec:   2355.15
Transfer/sec:      1.17MB
flowpilot-wrk requests=2592 duration_us=1100568 p50_us=1342 p90_us=4568 p99_us=9736 \
max_us=16972 non2xx=2592 connect_errors=0 read_errors=2 write_errors=0 timeouts=3 \
statuses=404:1293,404:1298,503:1
"""


def test_a_clean_run() -> None:
    result = parse_wrk_output(CLEAN)
    assert result.requests == 12391
    assert result.rps == pytest.approx(1237.86, abs=0.01)  # what wrk itself says
    assert (result.p50_ms, result.p99_ms) == (12.31, 25.64)
    assert result.non2xx == 0 and result.socket_errors == 0 and result.statuses == {}


def test_statuses_are_summed_over_threads_and_socket_errors_counted() -> None:
    result = parse_wrk_output(WITH_ERRORS)
    assert result.non2xx == 2592
    assert result.statuses == {404: 2591, 503: 1}
    assert result.socket_errors == 5


@pytest.mark.parametrize(
    "text",
    [
        "",
        CLEAN.split("flowpilot-wrk")[0],  # wrk ran without the script's done()
        CLEAN + CLEAN,  # two results: which one?
        CLEAN.replace("non2xx=0 ", ""),
        CLEAN.replace("p99_us=25640", "p99_us=fast"),
        CLEAN.replace("statuses=-", "statuses=404"),
        CLEAN.replace("timeouts=0", "timeouts"),
    ],
    ids=[
        "empty",
        "no-result-line",
        "two-lines",
        "missing-field",
        "not-a-number",
        "bad-status",
        "not-key-value",
    ],
)
def test_what_it_cannot_read_is_an_error(text: str) -> None:
    with pytest.raises(WrkError):
        parse_wrk_output(text)


def test_the_command_passes_the_mode_and_hides_nothing_else(tmp_path) -> None:
    command = wrk_command(
        "http://127.0.0.1:1", "get", tmp_path / "t", "tok", seconds=1, threads=2, connections=16
    )
    assert command[-5:-1] == ["get", str(tmp_path / "t"), "tok", "2"]
    # A run tag (wrk.lua puts it in the PATCH scripts), different for every run.
    again = wrk_command(
        "http://127.0.0.1:1", "get", tmp_path / "t", "tok", seconds=1, threads=2, connections=16
    )
    assert command[-1].isdigit() and again[-1].isdigit() and again[-1] != command[-1]
    assert "--latency" in command and "--connections=16" in command and "--duration=1s" in command
    with pytest.raises(ValueError):
        wrk_command("http://x", "delete", tmp_path, "t", seconds=1, threads=1, connections=1)


def _result(rps: float, p99_ms: float, non2xx: int = 0) -> WrkResult:
    requests = round(rps * 10)
    return WrkResult(
        requests=requests,
        duration_us=10_000_000,
        p50_us=round(p99_ms * 500),
        p90_us=round(p99_ms * 800),
        p99_us=round(p99_ms * 1000),
        max_us=round(p99_ms * 2000),
        non2xx=non2xx,
        connect_errors=0,
        read_errors=0,
        write_errors=0,
        timeouts=0,
        statuses={500: non2xx} if non2xx else {},
    )


def _report() -> Report:
    return Report(
        rounds=[
            {
                CHAIN: _result(1200, 24),
                PATCH: _result(900, 60),
                INLINE: _result(480, 70),
                GET: _result(1500, 20),
            },
            {
                CHAIN: _result(1250, 26),
                PATCH: _result(1000, 54),
                INLINE: _result(500, 65),
                GET: _result(1600, 18),
            },
        ],
        rss_peak_kb={"fixes": 90 * 1024, "gateway": 160 * 1024},
        cpu=[
            {CHAIN: {"bare-http": 3.0, "postgres": 6.0}, PATCH: {"gateway": 4.5}},
            {CHAIN: {"bare-http": 3.75, "postgres": 6.25}, PATCH: {"gateway": 5.0}},
        ],
    )


CONFIG = {"rounds": 2, "seconds": 10, "threads": 2, "connections": 16, "sessions": 1000}


def test_the_summary_shows_ranges_ratios_goals_and_memory() -> None:
    text = render(_report(), CONFIG)
    assert "| PATCH …/script | 900–1,000 | 30.0–27.0 |" not in text  # min first
    assert "| PATCH …/script | 900–1,000 | 27.0–30.0 | 54.0–60.0 | 0 |" in text
    assert "| chain PATCH | 1,200–1,250 |" in text
    # best against best: 1000/1250, 54/24; per round 900/1200..1000/1250
    assert "| PATCH …/script req/s vs chain | 0.80× (0.75–0.80) | ≥ 1× NOT met |" in text
    assert "| PATCH …/script p99 vs chain p99 | 2.25× (2.08–2.50) | ≤ 1.5× NOT met |" in text
    assert "| GET one fix req/s vs chain PATCH | 1.28× (1.25–1.28) | ≥ 1.2× met |" in text
    assert "fixes 90, gateway 160 (goal ≤ 150 MB: NOT met)" in text
    # CPU per request: 3 s / 12,000 and 3.75 s / 12,500 requests → median 0.27 ms
    chain = _report().cpu_ms_per_request(CHAIN)
    assert chain == {"bare-http": pytest.approx(0.275), "postgres": pytest.approx(0.5)}
    assert "| chain PATCH | 0.00 | 0.00 | 0.00 | 0.00 | 0.28 | 0.50 | 0.00 | 0.78 |" in text
    assert "| GET one fix | 0.00" not in text  # no CPU measured for GET


def test_json_and_cleanliness() -> None:
    report = _report()
    data = as_json(report, CONFIG)
    assert data["clean"] is True
    assert data["ratios"]["inline get-or-create req/s vs chain PATCH"]["met"] is False
    assert data["rounds"][1]["GET one fix"]["rps"] == 1600
    report.rounds[1][GET] = _result(1600, 18, non2xx=3)
    assert not report.clean()
    assert "non-2xx statuses: 500×3" in render(report, CONFIG)


def test_the_summary_says_what_each_sides_grpc_was_told() -> None:
    config = {**CONFIG, "grpc_experiments": {"chain": "", "system": "-event_engine_client"}}
    lines = render(_report(), config).splitlines()
    assert "GRPC_EXPERIMENTS: chain (grpc defaults)" in lines
    assert "GRPC_EXPERIMENTS: system -event_engine_client" in lines


@pytest.mark.parametrize("caller", [None, "", "-tcp_rcv_lowat"])
def test_the_chain_runs_with_the_callers_grpc_experiments(
    monkeypatch: pytest.MonkeyPatch, caller: str | None
) -> None:
    # The services' environment carries FlowPilot's choice; the yardstick keeps
    # what `python -m bench` was started with.
    monkeypatch.setattr(bench_run, "CALLER_GRPC_EXPERIMENTS", caller)
    env = {"PATH": "/bin", "GRPC_EXPERIMENTS": "-event_engine_client,-event_engine_listener"}
    chain = bench_run._chain_environment(env)
    assert chain.get("GRPC_EXPERIMENTS") == caller
    assert chain["PATH"] == "/bin"


def test_the_machines_share_is_read_from_its_tick_counts() -> None:
    # user nice system idle iowait irq softirq steal
    before = (1000, 0, 300, 500, 10, 0, 50, 100)
    after = (2200, 0, 600, 680, 30, 0, 70, 380)  # 2,000 ticks: 200 idle or waiting, 280 stolen
    share = MachineShare.between(before, after)
    assert share == MachineShare(idle=pytest.approx(0.10), steal=pytest.approx(0.14))
    assert MachineShare.between((), after) == MachineShare(0.0, 0.0)
    assert MachineShare.between(after, after) == MachineShare(0.0, 0.0)
    now = machine_ticks()  # this machine's own: eight counters that only grow
    assert len(now) == 8 and all(b >= a for a, b in zip(now, machine_ticks(), strict=True))


def test_the_summary_shows_how_the_machine_went_during_each_path() -> None:
    report = _report()
    assert "steal %" not in render(report, CONFIG)  # not measured: not shown
    report.machine = [
        {CHAIN: MachineShare(0.06, 0.02), PATCH: MachineShare(0.11, 0.15)},
        {CHAIN: MachineShare(0.08, 0.12), PATCH: MachineShare(0.09, 0.03)},
    ]
    text = render(report, CONFIG)
    assert "| chain PATCH | 6–8 | 2–12 |" in text
    assert "| PATCH …/script | 9–11 | 3–15 |" in text
    assert as_json(report, CONFIG)["machine"][1][PATCH] == {"idle": 0.09, "steal": 0.03}
