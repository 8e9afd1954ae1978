"""labstore.client.results: the lazy answer list behaves as the list it stands for."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from labstore.client.results import LazyResultList, ResultList

IDS = ["C", "A", "B"]


class Made:
    """Stands in for a model object: equal by id, counts how often it was made."""

    def __init__(self, ident: str) -> None:
        self.ident = ident

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Made) and other.ident == self.ident

    def __lt__(self, other: Made) -> bool:
        return self.ident < other.ident

    def __repr__(self) -> str:
        return f"Made({self.ident!r})"


class Maker:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, ids: Sequence[str]) -> list[Made]:
        self.calls += 1
        return [Made(i) for i in ids]


def lazy(ids: Sequence[str] = IDS) -> tuple[LazyResultList, Maker]:
    maker = Maker()
    return LazyResultList(list(ids), maker), maker


def made(ids: Sequence[str] = IDS) -> list[Made]:
    return [Made(i) for i in ids]


def test_length_and_truth_make_no_object() -> None:
    answer, maker = lazy()
    assert len(answer) == 3 and answer and isinstance(answer, list)
    assert isinstance(answer, ResultList)
    assert not LazyResultList([], maker)
    assert maker.calls == 0


def test_first_use_makes_every_object_once() -> None:
    answer, maker = lazy()
    assert answer[0] is answer[0]
    assert list(answer) == made() and [*answer] == made()
    assert maker.calls == 1


@pytest.mark.parametrize(
    "use",
    [
        lambda a: list(a),
        lambda a: a[1],
        lambda a: a[1:],
        lambda a: Made("A") in a,
        lambda a: list(reversed(a)),
        lambda a: repr(a),
        lambda a: a == made(),
        lambda a: made() == a,
        lambda a: a != made(),
        lambda a: a < made(),
        lambda a: a + [Made("D")],  # noqa: RUF005  (the operator is under test)
        lambda a: [Made("D")] + a,  # noqa: RUF005
        lambda a: a * 2,
        lambda a: 2 * a,
        lambda a: a.index(Made("B")),
        lambda a: a.count(Made("A")),
        lambda a: a.copy(),
        lambda a: sorted(a),
        lambda a: tuple(a),
        lambda a: set(map(repr, a)),
        lambda a: dict(enumerate(a)),
        lambda a: copy.copy(a),
        lambda a: copy.deepcopy(a),
        lambda a: pickle.loads(pickle.dumps(a)),
    ],
)
def test_every_reading_use_answers_as_the_built_list(use: Callable[[list[Any]], Any]) -> None:
    answer, maker = lazy()
    built = ResultList(made())
    assert use(answer) == use(built)
    assert maker.calls == 1
    assert answer == built and list.__len__(answer) == 3  # built in place, once


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.append(Made("D")),
        lambda a: a.extend([Made("D")]),
        lambda a: a.insert(0, Made("D")),
        lambda a: a.pop(),
        lambda a: a.remove(Made("A")),
        lambda a: a.sort(),
        lambda a: a.sort(key=repr, reverse=True),
        lambda a: a.reverse(),
        lambda a: a.clear(),
        lambda a: a.__setitem__(0, Made("D")),
        lambda a: a.__setitem__(slice(0, 2), [Made("D")]),
        lambda a: a.__delitem__(0),
        lambda a: a.__iadd__([Made("D")]),
        lambda a: a.__imul__(2),
    ],
)
def test_every_change_applies_to_the_built_list(change: Callable[[list[Any]], Any]) -> None:
    answer, _ = lazy()
    built = ResultList(made())
    assert change(answer) == change(built)
    assert answer == built and len(answer) == len(built)


def test_two_lazy_lists_compare_and_join_by_their_objects() -> None:
    first, _ = lazy()
    second, _ = lazy()
    assert first == second
    joined, _ = lazy()
    assert joined + lazy()[0] == made() + made()
    extended, _ = lazy()
    extended.extend(lazy()[0])
    assert extended == made() + made()


def test_reverse_order_stays_lazy_and_copies_pickle_as_plain_results() -> None:
    answer, maker = lazy()
    newest = answer._reverse_order()
    assert isinstance(newest, LazyResultList) and len(newest) == 3 and maker.calls == 0
    assert newest == made(IDS[::-1])
    assert answer._reverse_order()._reverse_order() == made()
    restored = pickle.loads(pickle.dumps(answer))
    assert type(restored) is ResultList and restored == made()
    assert type(copy.copy(answer)) is ResultList


def test_a_plain_result_list_reverses_too() -> None:
    assert ResultList(made())._reverse_order() == made(IDS[::-1])


def test_joined_ids_count_at_once_and_split_when_first_read() -> None:
    from labstore.client.store import ID_SEPARATOR, JoinedIds

    ids = JoinedIds(ID_SEPARATOR.join(IDS))
    answer = LazyResultList(ids, Maker())
    assert len(answer) == len(ids) == 3 and ids._ids is None  # counted, not split
    assert answer == made() and list(ids) == IDS and ids[1:] == IDS[1:] and ids[-1] == "B"
    assert answer._reverse_order() == made(IDS[::-1])
    for empty in (JoinedIds(None), JoinedIds("")):
        assert len(empty) == 0 and list(empty) == [] and not LazyResultList(empty, Maker())
    assert list(JoinedIds("ONE")) == ["ONE"] and repr(JoinedIds("A")) == "JoinedIds(['A'])"


def test_c_code_taking_any_sequence_sees_an_unused_answer_whole() -> None:
    import json

    import numpy
    import pandas

    def words() -> LazyResultList:
        return LazyResultList(list(IDS), lambda ids: [i.lower() for i in ids])

    assert json.dumps({"x": words()}) == '{"x": ["c", "a", "b"]}'
    assert numpy.array(words()).tolist() == ["c", "a", "b"]
    assert pandas.Series(words()).tolist() == ["c", "a", "b"]
    assert ",".join(words()) == "c,a,b" and "-".join([*words()]) == "c-a-b"
