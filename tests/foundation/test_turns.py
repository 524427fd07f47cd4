"""KeyedTurns: one caller per key at a time, first come first served, each
waiting at most its budget; Slots: at most N callers at once, the same way
(flowpilot/runtime/turns.py)."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

import pytest

from flowpilot.runtime.errors import Aborted, ResourceExhausted
from flowpilot.runtime.turns import KeyedTurns, Slots


def too_many() -> ResourceExhausted:
    return ResourceExhausted("TOO_MANY", "too many at once")


async def holding(
    entry: AbstractAsyncContextManager[None],
) -> tuple[asyncio.Task[None], asyncio.Event]:
    """A caller inside `entry` (a turn, a slot), or waiting for it, until the
    event is set."""
    release = asyncio.Event()

    async def hold() -> None:
        async with entry:
            await release.wait()

    task = asyncio.create_task(hold())
    await asyncio.sleep(0)
    return task, release


async def test_callers_of_one_key_go_one_at_a_time_in_arrival_order() -> None:
    turns = KeyedTurns(budget_seconds=5)
    inside: list[int] = []
    order: list[int] = []

    async def caller(number: int) -> None:
        async with turns.turn("session"):
            inside.append(number)
            assert len(inside) == 1, inside
            order.append(number)
            await asyncio.sleep(0.01)
            inside.remove(number)

    tasks = []
    for number in range(5):
        tasks.append(asyncio.create_task(caller(number)))
        await asyncio.sleep(0)  # each reaches its turn in this order
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert turns.waiting("session") == 0


async def test_other_keys_do_not_wait() -> None:
    turns = KeyedTurns(budget_seconds=5)
    holder, release = await holding(turns.turn("a"))
    async with asyncio.timeout(1), turns.turn("b"):
        assert turns.waiting("a") == 1 and turns.waiting("b") == 1
    release.set()
    await holder


async def test_a_turn_not_granted_within_the_budget_is_resource_busy() -> None:
    turns = KeyedTurns(budget_seconds=0.05)
    holder, release = await holding(turns.turn("session"))
    with pytest.raises(Aborted) as refused:
        async with turns.turn("session"):
            pytest.fail("got a turn the holder still has")
    assert refused.value.reason == "RESOURCE_BUSY"
    # The refused caller left the line; the holder still has its turn.
    assert turns.waiting("session") == 1
    release.set()
    await holder
    assert turns.waiting("session") == 0
    async with turns.turn("session"):  # free again at once
        pass


async def test_an_error_or_a_cancellation_gives_the_turn_back() -> None:
    turns = KeyedTurns(budget_seconds=5)
    with pytest.raises(RuntimeError):
        async with turns.turn("session"):
            raise RuntimeError("the write failed")
    assert turns.waiting("session") == 0

    holder, release = await holding(turns.turn("session"))
    waiter, _ = await holding(turns.turn("session"))
    assert turns.waiting("session") == 2
    waiter.cancel()  # a client gone while it waited
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert turns.waiting("session") == 1
    release.set()
    await holder
    assert turns.waiting("session") == 0


async def test_slots_let_at_most_their_count_in_at_once_in_arrival_order() -> None:
    slots = Slots(2, budget_seconds=5, busy=too_many)
    inside: list[int] = []
    most = 0
    order: list[int] = []

    async def caller(number: int) -> None:
        nonlocal most
        async with slots.taken():
            inside.append(number)
            most = max(most, len(inside))
            order.append(number)
            await asyncio.sleep(0.01)
            inside.remove(number)

    tasks = []
    for number in range(6):
        tasks.append(asyncio.create_task(caller(number)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert most == 2
    assert order == [0, 1, 2, 3, 4, 5]


async def test_a_slot_not_free_within_the_budget_is_the_chosen_refusal() -> None:
    slots = Slots(1, budget_seconds=0.05, busy=too_many)
    holder, release = await holding(slots.taken())
    with pytest.raises(ResourceExhausted) as refused:
        async with slots.taken():
            pytest.fail("got the slot the holder still has")
    assert refused.value.reason == "TOO_MANY"
    release.set()
    await holder
    async with asyncio.timeout(1), slots.taken():  # free again at once
        pass


async def test_an_error_or_a_cancellation_gives_the_slot_back() -> None:
    slots = Slots(1, budget_seconds=5, busy=too_many)
    with pytest.raises(RuntimeError):
        async with slots.taken():
            raise RuntimeError("the read failed")
    holder, release = await holding(slots.taken())
    waiter, _ = await holding(slots.taken())
    waiter.cancel()  # a client gone while it waited
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    async with asyncio.timeout(1), slots.taken():
        pass
