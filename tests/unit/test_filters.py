"""labstore.query: Django-style filters into the AST, ordering, and keyset cursors."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labstore.errors import InvalidInput, QueryValidationError
from labstore.query.ast import TRUE, And, Condition, Not, OrderKey, Related
from labstore.query.filters import parse_filters, parse_order
from labstore.query.pagination import decode_cursor, encode_cursor
from labstore.schema.packs import builtin_registry

REGISTRY = builtin_registry()
SUBJECT = REGISTRY.model("experiment/subject")
EXPERIMENT = REGISTRY.model("experiment/experiment")
LAB = REGISTRY.model("experiment/lab")
DATASET = REGISTRY.model("experiment/dataset")
ITEM = REGISTRY.model("inventory/item")


def query_error(model: Any, filters: dict[str, Any], **kwargs: Any) -> QueryValidationError:
    with pytest.raises(QueryValidationError) as info:
        parse_filters(REGISTRY, model, filters, **kwargs)
    return info.value


# --- the AST --------------------------------------------------------------------------------


def test_plain_field_is_an_exact_condition() -> None:
    assert parse_filters(REGISTRY, SUBJECT, {"nickname": "x"}) == Condition(
        "nickname", "exact", "x"
    )


def test_field_with_lookup() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"nickname__istartswith": "ZM"})
    assert node == Condition("nickname", "istartswith", "ZM")


def test_several_keys_make_an_and() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"nickname": "x", "sex": "M"})
    assert node == And((Condition("nickname", "exact", "x"), Condition("sex", "exact", "M")))


def test_no_filters_is_an_empty_and() -> None:
    assert parse_filters(REGISTRY, SUBJECT, {}) == And(())


def test_forward_relation_becomes_related() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"lab__name__icontains": "c"})
    assert node == Related("lab", Condition("name", "icontains", "c"))


def test_keys_through_one_relation_are_grouped_under_one_related() -> None:
    """Both conditions must hold for the same lab, so they share one Related node."""
    node = parse_filters(
        REGISTRY, SUBJECT, {"lab__name__icontains": "c", "nickname": "n", "lab__institution": "i"}
    )
    assert node == And(
        (
            Condition("nickname", "exact", "n"),
            Related(
                "lab",
                And((Condition("name", "icontains", "c"), Condition("institution", "exact", "i"))),
            ),
        )
    )


def test_different_relations_get_their_own_related() -> None:
    node = parse_filters(REGISTRY, EXPERIMENT, {"subject__nickname": "a", "lab__name": "b"})
    assert node == And(
        (
            Related("subject", Condition("nickname", "exact", "a")),
            Related("lab", Condition("name", "exact", "b")),
        )
    )


def test_reverse_relation_by_plural() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"experiments__date__gt": "2024-01-01"})
    assert node == Related("experiments", Condition("date", "gt", dt.date(2024, 1, 1)))


def test_reverse_relation_keys_share_one_related() -> None:
    node = parse_filters(
        REGISTRY, SUBJECT, {"experiments__date__gt": "2024-01-01", "experiments__number": "2"}
    )
    assert node == Related(
        "experiments",
        And((Condition("date", "gt", dt.date(2024, 1, 1)), Condition("number", "exact", 2))),
    )


def test_nested_paths_group_at_every_level() -> None:
    node = parse_filters(
        REGISTRY,
        DATASET,
        {"experiment__subject__nickname": "a", "experiment__subject__sex": "F", "name": "n"},
    )
    assert node == And(
        (
            Condition("name", "exact", "n"),
            Related(
                "experiment",
                Related(
                    "subject",
                    And((Condition("nickname", "exact", "a"), Condition("sex", "exact", "F"))),
                ),
            ),
        )
    )


def test_path_mixing_reverse_and_forward_relations() -> None:
    node = parse_filters(REGISTRY, LAB, {"subjects__experiments__qc": "PASS"})
    assert node == Related("subjects", Related("experiments", Condition("qc", "exact", "PASS")))


def test_relation_across_packs() -> None:
    node = parse_filters(REGISTRY, DATASET, {"file__sha256": "ab"})
    assert node == Related("file", Condition("sha256", "exact", "ab"))
    node = parse_filters(REGISTRY, REGISTRY.model("core/file"), {"datasets__name": "x"})
    assert node == Related("datasets", Condition("name", "exact", "x"))


def test_common_fields_are_filterable_through_relations() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"lab__owner": "alice", "id": "X1"})
    assert node == And(
        (Condition("id", "exact", "X1"), Related("lab", Condition("owner", "exact", "alice")))
    )


def test_reverse_relation_isnull_asks_whether_any_child_exists() -> None:
    assert parse_filters(REGISTRY, SUBJECT, {"experiments__isnull": "true"}) == Not(
        Related("experiments", TRUE)
    )
    assert parse_filters(REGISTRY, SUBJECT, {"experiments__isnull": False}, strict=True) == (
        Related("experiments", TRUE)
    )


def test_reverse_relation_isnull_behind_a_relation_is_grouped() -> None:
    node = parse_filters(
        REGISTRY, EXPERIMENT, {"lab__subjects__isnull": "1", "lab__name": "x", "number": "1"}
    )
    assert node == And(
        (
            Condition("number", "exact", 1),
            Related("lab", And((Not(Related("subjects", TRUE)), Condition("name", "exact", "x")))),
        )
    )


def test_reverse_relation_isnull_refuses_other_values() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, SUBJECT, {"experiments__isnull": "sometimes"})
    assert info.value.details["path"] == "experiments__isnull"


# --- relations compared directly ----------------------------------------------------------


@pytest.mark.parametrize("raw", ["experiment/lab/ABC", "ABC", {"location": "experiment/lab/ABC"}])
def test_relation_compared_to_a_location_or_id(raw: Any) -> None:
    assert parse_filters(REGISTRY, SUBJECT, {"lab": raw}) == Condition("lab", "exact", "ABC")


def test_relation_compared_to_an_object_with_a_location() -> None:
    class Obj:
        location = "experiment/lab/ABC"

    assert parse_filters(REGISTRY, SUBJECT, {"lab": Obj()}) == Condition("lab", "exact", "ABC")


def test_relation_exact_lookup_spelled_out() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"lab__exact": "experiment/lab/ABC"})
    assert node == Condition("lab", "exact", "ABC")


@pytest.mark.parametrize("raw", ["core/file/ABC", "experiment/subject/ABC", "lab/ABC"])
def test_relation_compared_to_a_location_of_another_model_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, SUBJECT, {"lab": raw})
    assert info.value.details["path"] == "lab"
    assert "experiment/lab" in info.value.message


@pytest.mark.parametrize("raw", ["", 5])
def test_relation_compared_to_a_non_id_is_refused(raw: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, SUBJECT, {"lab": raw})
    assert info.value.details["path"] == "lab"


def test_null_means_empty_only_for_equality_and_in_lists() -> None:
    assert parse_filters(REGISTRY, SUBJECT, {"lab": None}) == Condition("lab", "exact", None)
    node = parse_filters(REGISTRY, SUBJECT, {"nickname__in": ["a", None]}, strict=True)
    assert node == Condition("nickname", "in", ("a", None))
    for lookup in ("gt", "iexact", "icontains", "startswith"):
        with pytest.raises(QueryValidationError) as info:
            parse_filters(REGISTRY, SUBJECT, {f"nickname__{lookup}": None})
        assert info.value.details["path"] == f"nickname__{lookup}"


def test_relation_in_takes_ids_and_locations() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"lab__in": "experiment/lab/A,B"})
    assert node == Condition("lab", "in", ("A", "B"))


def test_relation_of_a_related_model_compared_directly() -> None:
    node = parse_filters(REGISTRY, DATASET, {"experiment__subject": "experiment/subject/S1"})
    assert node == Related("experiment", Condition("subject", "exact", "S1"))


def test_relation_isnull() -> None:
    assert parse_filters(REGISTRY, SUBJECT, {"lab__isnull": "true"}) == Condition(
        "lab", "isnull", True
    )


# --- value typing ---------------------------------------------------------------------------


def test_in_splits_a_lone_comma_separated_value() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"nickname__in": "a,b,c"})
    assert node == Condition("nickname", "in", ("a", "b", "c"))
    node = parse_filters(REGISTRY, SUBJECT, {"nickname__in": ["a,b"]})
    assert node == Condition("nickname", "in", ("a", "b"))


def test_in_keeps_repeated_values_whole() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"nickname__in": ["a,b", "c"]})
    assert node == Condition("nickname", "in", ("a,b", "c"))


def test_in_is_never_split_in_strict_mode() -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"nickname__in": "a,b"}, strict=True)
    assert node == Condition("nickname", "in", ("a,b",))


def test_in_types_every_value() -> None:
    node = parse_filters(REGISTRY, EXPERIMENT, {"number__in": "1,2,3"})
    assert node == Condition("number", "in", (1, 2, 3))
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, EXPERIMENT, {"number__in": "1,x"})
    assert info.value.details["path"] == "number__in[1]"


@pytest.mark.parametrize("raw", ["", ",", [], ",,"])
def test_in_needs_a_value(raw: Any) -> None:
    err = query_error(SUBJECT, {"nickname__in": raw})
    assert err.details["path"] == "nickname__in"


def test_range_takes_two_typed_values() -> None:
    node = parse_filters(REGISTRY, EXPERIMENT, {"date__range": "2024-01-01,2024-02-01"})
    assert node == Condition("date", "range", (dt.date(2024, 1, 1), dt.date(2024, 2, 1)))
    node = parse_filters(REGISTRY, EXPERIMENT, {"number__range": [1, 5]}, strict=True)
    assert node == Condition("number", "range", (1, 5))


@pytest.mark.parametrize("raw", ["1", "1,2,3", ["1"], ["1", "2", "3"]])
def test_range_needs_exactly_two_values(raw: Any) -> None:
    err = query_error(EXPERIMENT, {"number__range": raw})
    assert err.details["path"] == "number__range"
    assert "two" in err.message


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("false", False), ("1", True), ("0", False)]
)
def test_isnull_takes_true_or_false(raw: str, value: bool) -> None:
    node = parse_filters(REGISTRY, SUBJECT, {"birth_date__isnull": raw})
    assert node == Condition("birth_date", "isnull", value)


def test_isnull_refuses_other_values() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, SUBJECT, {"birth_date__isnull": "perhaps"})
    assert info.value.details["path"] == "birth_date__isnull"
    with pytest.raises(InvalidInput):
        parse_filters(REGISTRY, SUBJECT, {"birth_date__isnull": "true"}, strict=True)


def test_values_are_typed_by_field_kind() -> None:
    node = parse_filters(
        REGISTRY,
        EXPERIMENT,
        {"date__gt": "2024-01-02", "number": "3", "created__lt": "2024-01-02T03:04:05Z"},
    )
    assert node == And(
        (
            Condition("date", "gt", dt.date(2024, 1, 2)),
            Condition("number", "exact", 3),
            Condition("created", "lt", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        )
    )
    node = parse_filters(REGISTRY, ITEM, {"in_use": "false", "version__gte": "2"})
    assert node == And((Condition("in_use", "exact", False), Condition("version", "gte", 2)))


def test_strict_mode_wants_json_types() -> None:
    node = parse_filters(REGISTRY, EXPERIMENT, {"number": 3}, strict=True)
    assert node == Condition("number", "exact", 3)
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, EXPERIMENT, {"number": "3"}, strict=True)
    assert info.value.details["path"] == "number"


@pytest.mark.parametrize(
    ("key", "raw"),
    [("number", "three"), ("date__gt", "soon"), ("created__gte", "2024-99-01"), ("number", "1.5")],
)
def test_bad_values_are_invalid_input_at_their_key(key: str, raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filters(REGISTRY, EXPERIMENT, {key: raw})
    assert info.value.details["path"] == key
    assert key in info.value.message


def test_json_contains_takes_text() -> None:
    node = parse_filters(REGISTRY, EXPERIMENT, {"projects__contains": "ibl"})
    assert node == Condition("projects", "contains", "ibl")


def test_one_value_in_a_list_is_that_value() -> None:
    assert parse_filters(REGISTRY, SUBJECT, {"nickname": ["x"]}) == Condition(
        "nickname", "exact", "x"
    )


def test_a_key_given_twice_is_refused_except_for_in() -> None:
    err = query_error(SUBJECT, {"nickname": ["x", "y"]})
    assert err.details["path"] == "nickname"
    assert "__in" in err.message


# --- errors ---------------------------------------------------------------------------------


def test_query_validation_error_is_invalid_input() -> None:
    assert issubclass(QueryValidationError, InvalidInput)


def test_unknown_field_names_the_known_ones() -> None:
    err = query_error(SUBJECT, {"nick": "x"})
    assert err.details["path"] == "nick"
    assert err.path == "nick"
    assert "'nick'" in err.message
    known = err.details["known"]
    assert {"nickname", "lab", "experiments", "id", "created", "owner"} <= set(known)
    assert known == sorted(known)


def test_unknown_field_behind_a_relation_names_that_model() -> None:
    err = query_error(SUBJECT, {"lab__nam": "x"})
    assert err.details["path"] == "lab__nam"
    assert err.details["model"] == "experiment/lab"
    assert "name" in err.details["known"]
    assert "nickname" not in err.details["known"]


@pytest.mark.parametrize("key", ["nickname__foo", "nickname__icontains__x", "nickname__like"])
def test_unknown_lookup(key: str) -> None:
    err = query_error(SUBJECT, {key: "x"})
    assert err.details["path"] == key
    assert "lookup" in err.message
    assert "icontains" in err.details["allowed"]


@pytest.mark.parametrize(
    ("model", "key"),
    [
        (EXPERIMENT, "number__icontains"),
        (EXPERIMENT, "number__startswith"),
        (DATASET, "default_revision__gt"),
        (ITEM, "in_use__in"),
        (SUBJECT, "birth_date__contains"),
        (EXPERIMENT, "projects__exact"),
        (EXPERIMENT, "projects__gt"),
        (SUBJECT, "lab__gt"),
        (SUBJECT, "lab__icontains"),
    ],
)
def test_lookup_not_valid_for_the_kind(model: Any, key: str) -> None:
    err = query_error(model, {key: "1"})
    assert err.details["path"] == key
    assert "does not apply" in err.message
    assert key.rsplit("__", 1)[1] not in err.details["allowed"]


def test_plural_without_a_field_after_it() -> None:
    err = query_error(SUBJECT, {"experiments": "x"})
    assert err.details["path"] == "experiments"
    assert "experiments__" in err.message


def test_plural_followed_by_a_lookup_is_refused() -> None:
    err = query_error(SUBJECT, {"experiments__in": "x"})
    assert err.details["path"] == "experiments__in"


@pytest.mark.parametrize("key", ["a____b", "nickname__", "__nickname", "lab____name", "__"])
def test_malformed_keys(key: str) -> None:
    err = query_error(SUBJECT, {key: "x"})
    assert err.details["path"] == key
    assert "malformed" in err.message


def test_empty_key_is_malformed() -> None:
    err = query_error(SUBJECT, {"": "x"})
    assert "malformed" in err.message
    # The path is shown in words for an empty key.
    assert err.details["path"] in ("", "(empty)")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=30))
def test_any_key_parses_or_raises_query_validation_error(key: str) -> None:
    try:
        parse_filters(REGISTRY, SUBJECT, {key: "1"})
    except QueryValidationError as err:
        assert err.details["path"] in (key, "(empty)")
    except InvalidInput as err:
        # A well-formed key whose value did not fit its field.
        assert err.details["path"].startswith(key)


# --- ordering -------------------------------------------------------------------------------


def test_order_string_ends_with_id() -> None:
    keys = parse_order(REGISTRY, EXPERIMENT, "-date,number")
    assert keys == (OrderKey("date", True), OrderKey("number", False), OrderKey("id", False))


def test_order_list_and_whitespace() -> None:
    keys = parse_order(REGISTRY, EXPERIMENT, [" number ", "-created"])
    assert keys == (OrderKey("number"), OrderKey("created", True), OrderKey("id", True))


@pytest.mark.parametrize("order", [None, "", " , ", []])
def test_default_order_is_created_then_id(order: Any) -> None:
    assert parse_order(REGISTRY, EXPERIMENT, order) == (OrderKey("created"), OrderKey("id"))


def test_order_ending_in_id_is_not_extended() -> None:
    assert parse_order(REGISTRY, EXPERIMENT, "-id") == (OrderKey("id", True),)


def test_order_by_a_relation_or_common_field() -> None:
    keys = parse_order(REGISTRY, EXPERIMENT, "subject,-modified")
    assert keys[:2] == (OrderKey("subject"), OrderKey("modified", True))


@pytest.mark.parametrize(
    ("order", "bad"),
    [
        ("nope", "nope"),
        ("-nope", "nope"),
        ("date,projects", "projects"),
        ("datasets", "datasets"),
        ("subject__nickname", "subject__nickname"),
    ],
)
def test_order_by_unknown_or_json_field_is_refused(order: str, bad: str) -> None:
    with pytest.raises(QueryValidationError) as info:
        parse_order(REGISTRY, EXPERIMENT, order)
    assert info.value.details["path"] == f"order_by.{bad}"
    assert "date" in info.value.details["known"]


# --- cursors --------------------------------------------------------------------------------

ORDER = parse_order(REGISTRY, EXPERIMENT, "-date,number,created")


def test_cursor_round_trip() -> None:
    values = [dt.date(2024, 1, 2), 3, dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), "ABC"]
    cursor = encode_cursor(REGISTRY, EXPERIMENT, ORDER, values)
    assert isinstance(cursor, str)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(REGISTRY, EXPERIMENT, ORDER, cursor) == values


def test_cursor_round_trip_default_order() -> None:
    keys = parse_order(REGISTRY, SUBJECT, None)
    values = [dt.datetime(2023, 5, 6, tzinfo=dt.UTC), "Z9"]
    cursor = encode_cursor(REGISTRY, SUBJECT, keys, values)
    assert decode_cursor(REGISTRY, SUBJECT, keys, cursor) == values


@given(
    st.datetimes(
        min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 1, 1), timezones=st.just(dt.UTC)
    ),
    # Stored strings never hold NUL (the schema refuses it), so neither do cursors.
    st.text(max_size=40).filter(lambda t: "\x00" not in t),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.dates(),
)
def test_cursor_round_trip_property(
    created: dt.datetime, ident: str, number: int, date: dt.date
) -> None:
    values = [date, number, created, ident]
    cursor = encode_cursor(REGISTRY, EXPERIMENT, ORDER, values)
    assert decode_cursor(REGISTRY, EXPERIMENT, ORDER, cursor) == values


def assert_refused(keys: Any, cursor: Any, model: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_cursor(REGISTRY, model, keys, cursor)
    assert info.value.details["path"] == "cursor"


def test_cursor_for_another_order_is_refused() -> None:
    cursor = encode_cursor(
        REGISTRY,
        EXPERIMENT,
        ORDER,
        [dt.date(2024, 1, 2), 3, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "A"],
    )
    assert_refused(parse_order(REGISTRY, EXPERIMENT, "date,number,created"), cursor, EXPERIMENT)
    assert_refused(parse_order(REGISTRY, EXPERIMENT, "-date,number"), cursor, EXPERIMENT)
    # The cursor itself is good for its own order.
    assert decode_cursor(REGISTRY, EXPERIMENT, ORDER, cursor)[1] == 3


def test_cursor_for_another_model_is_refused() -> None:
    keys = parse_order(REGISTRY, SUBJECT, None)
    cursor = encode_cursor(REGISTRY, SUBJECT, keys, [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "A"])
    assert_refused(keys, cursor, model=LAB)
    assert_refused(keys, cursor, model=EXPERIMENT)


def forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_truncated_cursor_is_refused() -> None:
    keys = parse_order(REGISTRY, SUBJECT, None)
    cursor = encode_cursor(REGISTRY, SUBJECT, keys, [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "A"])
    for cut in range(len(cursor)):
        assert_refused(keys, cursor[:cut], model=SUBJECT)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not a cursor",
        "====",
        "abc",
        "e30",
        forge([1, 2]),
        forge("x"),
        forge(3),
        forge({"v": []}),
        forge({"o": "x"}),
        forge(None),
        "\x00\xff",
        "🙂",
    ],
)
def test_garbage_cursor_is_refused(cursor: str) -> None:
    assert_refused(parse_order(REGISTRY, SUBJECT, None), cursor, SUBJECT)


def test_non_string_cursor_is_refused() -> None:
    assert_refused(parse_order(REGISTRY, SUBJECT, None), None, SUBJECT)
    assert_refused(parse_order(REGISTRY, SUBJECT, None), 12, SUBJECT)


def signed_payload(values: Any) -> dict[str, Any]:
    keys = parse_order(REGISTRY, SUBJECT, None)
    good = encode_cursor(REGISTRY, SUBJECT, keys, [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "A"])
    payload = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    payload["v"] = values
    return payload


@pytest.mark.parametrize(
    "values",
    [
        ["yesterday", "A"],
        [5, "A"],
        ["2024-01-01T00:00:00Z"],
        ["2024-01-01T00:00:00Z", "A", "B"],
        ["2024-01-01T00:00:00Z", 7],
        3,
        None,
        {"a": 1, "b": 2},
    ],
)
def test_tampered_cursor_values_are_refused(values: Any) -> None:
    """A cursor with the right signature but values that do not fit the order is refused."""
    assert_refused(parse_order(REGISTRY, SUBJECT, None), forge(signed_payload(values)), SUBJECT)


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_cursor_with_out_of_range_datetime_is_refused(created: str) -> None:
    """Tampered values that parse but overflow in UTC are still just a bad cursor."""
    assert_refused(
        parse_order(REGISTRY, SUBJECT, None), forge(signed_payload([created, "A"])), SUBJECT
    )


def test_deeply_nested_cursor_is_refused() -> None:
    """A cursor is client input: a JSON bomb must be a 400, not a RecursionError."""
    cursor = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    assert_refused(parse_order(REGISTRY, SUBJECT, None), cursor, SUBJECT)


@given(st.text(max_size=200))
def test_random_text_never_decodes_to_another_exception(text: str) -> None:
    keys = parse_order(REGISTRY, SUBJECT, None)
    try:
        decode_cursor(REGISTRY, SUBJECT, keys, text)
    except InvalidInput as err:
        assert err.details["path"] == "cursor"


@given(st.binary(max_size=200))
def test_random_base64_never_decodes_to_another_exception(data: bytes) -> None:
    keys = parse_order(REGISTRY, SUBJECT, None)
    try:
        decode_cursor(REGISTRY, SUBJECT, keys, base64.urlsafe_b64encode(data).decode())
    except InvalidInput as err:
        assert err.details["path"] == "cursor"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_random_json_cursor_values_never_raise_another_exception(values: Any) -> None:
    keys = parse_order(REGISTRY, SUBJECT, None)
    try:
        decode_cursor(REGISTRY, SUBJECT, keys, forge(signed_payload(values)))
    except InvalidInput as err:
        assert err.details["path"] == "cursor"
