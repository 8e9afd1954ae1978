"""labstore.schema: the built-in packs, the registry's lookups, declaration checks and values."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labstore.errors import InvalidInput, NotFound
from labstore.schema import COMMON_FIELDS, Field, Model, Pack, Registry, Relation
from labstore.schema.packs import builtin_registry
from labstore.schema.types import RESERVED_NAMES
from labstore.schema.values import coerce_field, coerce_kind, to_json_value

REGISTRY = builtin_registry()

BUILTIN_KEYS = {
    "core/user",
    "core/project",
    "core/file",
    "experiment/lab",
    "experiment/subject",
    "experiment/experiment",
    "experiment/dataset",
    "inventory/sample_type",
    "inventory/sample",
    "inventory/object_type",
    "inventory/item",
}


def make_registry(*models: Model, pack: str = "p") -> Registry:
    return Registry([Pack(pack, models)])


# --- the built-in registry ----------------------------------------------------------------


def test_builtin_registry_has_every_documented_model() -> None:
    keys = {m.key for m in REGISTRY}
    assert keys >= BUILTIN_KEYS


@pytest.mark.parametrize("key", sorted(BUILTIN_KEYS))
def test_builtin_model_found_by_key_and_contained(key: str) -> None:
    model = REGISTRY.model(key)
    assert model.key == key
    assert key in REGISTRY
    pack, name = key.split("/")
    assert model.pack == pack
    assert model.name == name


def test_builtin_models_use_no_reserved_names() -> None:
    for model in REGISTRY:
        for member in (*model.fields, *model.relations):
            assert member.name not in RESERVED_NAMES, (model.key, member.name)


def test_inventory_item_keeps_its_place_in_storage_not_location() -> None:
    item = REGISTRY.model("inventory/item")
    assert item.field("storage") is not None
    assert item.field("location") is None


def test_core_user_and_project_are_read_only() -> None:
    assert REGISTRY.model("core/user").read_only
    assert REGISTRY.model("core/project").read_only
    assert not REGISTRY.model("core/file").read_only


# --- Registry.model lookups ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("subject", "experiment/subject"),
        ("experiment", "experiment/experiment"),
        ("sample_type", "inventory/sample_type"),
        ("SampleType", "inventory/sample_type"),
        ("sampletype", "inventory/sample_type"),
        ("SAMPLETYPE", "inventory/sample_type"),
        ("ObjectType", "inventory/object_type"),
        ("Subject", "experiment/subject"),
        ("Item", "inventory/item"),
        ("file", "core/file"),
    ],
)
def test_model_found_by_model_name_or_class_name(name: str, key: str) -> None:
    assert REGISTRY.model(name).key == key


@pytest.mark.parametrize(
    "name", ["nope", "experiment/nope", "inventory/subject", "", "Sample_Types"]
)
def test_unknown_model_raises_not_found_listing_known_models(name: str) -> None:
    with pytest.raises(NotFound) as info:
        REGISTRY.model(name)
    assert repr(name) in info.value.message
    assert set(info.value.details["known"]) == {m.key for m in REGISTRY}
    assert info.value.details["known"] == sorted(info.value.details["known"])


def test_bare_name_shared_by_two_packs_is_ambiguous() -> None:
    registry = Registry([Pack("a", (Model("thing"),)), Pack("b", (Model("thing"),))])
    with pytest.raises(NotFound, match="ambiguous") as info:
        registry.model("thing")
    assert "a/thing" in info.value.message and "b/thing" in info.value.message
    assert registry.model("a/thing").pack == "a"
    assert registry.model("b/thing").pack == "b"


# --- relations ------------------------------------------------------------------------------


def test_parent_resolves_relation_targets() -> None:
    subject = REGISTRY.model("subject")
    experiment = REGISTRY.model("experiment")
    dataset = REGISTRY.model("dataset")
    assert REGISTRY.parent(subject, "lab").key == "experiment/lab"
    assert REGISTRY.parent(experiment, "subject").key == "experiment/subject"
    # A target written "pack/model" reaches into another pack.
    assert REGISTRY.parent(dataset, "file").key == "core/file"
    item = REGISTRY.model("item")
    assert REGISTRY.parent(item, "object_type").key == "inventory/object_type"


def test_children_of_lab_are_listed_by_plural() -> None:
    children = REGISTRY.children(REGISTRY.model("lab"))
    assert set(children) == {"subjects", "experiments"}
    assert children["subjects"].child.key == "experiment/subject"
    assert children["subjects"].relation.name == "lab"
    assert children["experiments"].child.key == "experiment/experiment"
    assert children["experiments"].plural == "experiments"


def test_children_across_packs_and_default_plural() -> None:
    assert set(REGISTRY.children(REGISTRY.model("core/file"))) == {"datasets"}
    assert set(REGISTRY.children(REGISTRY.model("sample"))) == {"items"}
    assert set(REGISTRY.children(REGISTRY.model("sample_type"))) == {"samples", "object_types"}
    assert REGISTRY.children(REGISTRY.model("dataset")) == {}
    # Without an explicit plural the child's name plus "s" is used.
    registry = make_registry(
        Model("block"), Model("segment", relations=(Relation("block", "block"),))
    )
    assert set(registry.children(registry.model("block"))) == {"segments"}


# --- declaration checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["id", "version", "owner", "project", "created", "modified", "location", "tags", "model"],
)
def test_reserved_field_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        Model("thing", fields=(Field(name),))


def test_reserved_relation_name_is_refused() -> None:
    with pytest.raises(ValueError, match="reserved"):
        Model("thing", relations=(Relation("project", "other"),))


def test_duplicate_member_names_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Model("thing", fields=(Field("name"), Field("name", "int")))
    with pytest.raises(ValueError, match="twice"):
        Model("thing", fields=(Field("lab"),), relations=(Relation("lab", "lab"),))


def test_field_clashing_with_relation_column_is_refused() -> None:
    with pytest.raises(ValueError, match="column"):
        Model("thing", fields=(Field("lab_id"),), relations=(Relation("lab", "lab"),))


def test_duplicate_model_in_pack_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Pack("p", (Model("thing"), Model("thing")))


def test_duplicate_pack_model_in_registry_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Registry([Pack("p", (Model("thing"),)), Pack("p", (Model("thing"),))])


@pytest.mark.parametrize(
    "name", ["Name", "nAme", "a__b", "_a", "a_", "1a", "a-b", "a b", "", "é", "a.b"]
)
def test_bad_names_are_refused_everywhere(name: str) -> None:
    with pytest.raises(ValueError, match="lower case"):
        Field(name)
    with pytest.raises(ValueError, match="lower case"):
        Relation(name, "other")
    with pytest.raises(ValueError, match="lower case"):
        Model(name)
    with pytest.raises(ValueError, match="lower case"):
        Pack(name, ())


@pytest.mark.parametrize("name", ["a", "a1", "sample_type", "a_b_c", "x9_y"])
def test_good_names_are_accepted(name: str) -> None:
    assert Field(name).name == name
    assert Model(name).name == name


def test_unknown_field_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        Field("x", "integer")  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["nowhere", "q/other", "p/nowhere"])
def test_relation_to_unknown_model_is_refused(target: str) -> None:
    with pytest.raises(ValueError, match="unknown model"):
        make_registry(Model("thing", relations=(Relation("other", target),)))


def test_two_relations_with_the_same_plural_clash() -> None:
    with pytest.raises(ValueError, match="plural"):
        make_registry(
            Model("lab"),
            Model("subject", relations=(Relation("lab", "lab", plural="members"),)),
            Model("person", relations=(Relation("lab", "lab", plural="members"),)),
        )


def test_default_plurals_that_collide_clash() -> None:
    """Two relations from one model to one parent default to the same plural."""
    with pytest.raises(ValueError, match="plural"):
        make_registry(
            Model("cell"),
            Model("link", relations=(Relation("src", "cell"), Relation("dst", "cell"))),
        )


def test_plural_clashing_with_a_field_of_the_parent_is_refused() -> None:
    with pytest.raises(ValueError, match="plural"):
        make_registry(
            Model("lab", fields=(Field("subjects", "json"),)),
            Model("subject", relations=(Relation("lab", "lab", plural="subjects"),)),
        )


def test_plural_clashing_with_a_relation_of_the_parent_is_refused() -> None:
    with pytest.raises(ValueError, match="plural"):
        make_registry(
            Model("lab", relations=(Relation("boss", "person"),)),
            Model("person", relations=(Relation("lab", "lab", plural="boss"),)),
        )


@pytest.mark.parametrize("plural", ["id", "created", "owner", "version"])
def test_plural_clashing_with_a_common_field_is_refused(plural: str) -> None:
    """``lab.created`` cannot be both the creation time and a list of children.

    The filter parser looks up children before fields, so such a plural would silently turn
    ``created__gt`` on the parent into a reverse-relation filter.
    """
    with pytest.raises(ValueError, match="plural"):
        make_registry(
            Model("lab"),
            Model("subject", relations=(Relation("lab", "lab", plural=plural),)),
        )


@pytest.mark.parametrize("plural", ["Subjects", "sub__jects", "subjects_", "tags", "location"])
def test_plural_that_is_not_a_usable_name_is_refused(plural: str) -> None:
    """A plural is a filter key and an attribute, so it obeys the same naming rules."""
    with pytest.raises(ValueError):
        make_registry(
            Model("lab"),
            Model("subject", relations=(Relation("lab", "lab", plural=plural),)),
        )


def test_index_naming_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown 'nope'"):
        Model("thing", fields=(Field("a"),), indexes=(("a", "nope"),))
    with pytest.raises(ValueError, match="unknown"):
        Model("thing", fields=(Field("a"),), unique_together=(("nope",),))


def test_index_may_name_fields_and_relations() -> None:
    model = Model(
        "thing",
        fields=(Field("a"),),
        relations=(Relation("lab", "lab"),),
        indexes=(("a", "lab"),),
        unique_together=(("lab", "a"),),
    )
    assert model.indexes == (("a", "lab"),)


# --- names, keys, JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls_name"),
    [
        ("sample_type", "SampleType"),
        ("lab", "Lab"),
        ("object_type", "ObjectType"),
        ("a_b_c", "ABC"),
    ],
)
def test_cls_name_is_derived_from_the_model_name(name: str, cls_name: str) -> None:
    assert Model(name).cls_name == cls_name


def test_explicit_class_name_wins_and_is_an_alias() -> None:
    registry = make_registry(Model("analogsignal", class_name="AnalogSignal"))
    model = registry.model("analogsignal")
    assert model.cls_name == "AnalogSignal"
    assert registry.model("AnalogSignal") is model
    assert registry.model("analogSignal") is model


def test_pack_binds_itself_to_its_models() -> None:
    pack = Pack("lab_pack", (Model("thing"),))
    assert pack.models[0].pack == "lab_pack"
    assert pack.models[0].key == "lab_pack/thing"
    assert pack.models[0].table_name == "lab_pack_thing"
    assert pack.model("thing") is pack.models[0]
    assert pack.model("other") is None


def test_registry_json_round_trips() -> None:
    data = REGISTRY.to_json()
    again = Registry.from_json(json.loads(json.dumps(data)))
    assert again.to_json() == data
    assert {m.key for m in again} == {m.key for m in REGISTRY}
    for model in REGISTRY:
        copy = again.model(model.key)
        assert copy.to_json() == model.to_json()
        assert (copy.fields, copy.relations, copy.cls_name) == (
            model.fields,
            model.relations,
            model.cls_name,
        )


def test_registry_json_lists_common_fields_and_class_names() -> None:
    data = REGISTRY.to_json()
    assert [f["name"] for f in data["common_fields"]] == [f.name for f in COMMON_FIELDS]
    models = {m["key"]: m for p in data["packs"] for m in p["models"]}
    assert models["inventory/sample_type"]["class_name"] == "SampleType"
    sex = next(f for f in models["experiment/subject"]["fields"] if f["name"] == "sex")
    assert sex["choices"] == ["M", "F", "U"]


def test_any_field_finds_declared_and_common_fields() -> None:
    subject = REGISTRY.model("subject")
    assert REGISTRY.any_field(subject, "nickname") is subject.field("nickname")
    created = REGISTRY.any_field(subject, "created")
    assert created is not None and created.kind == "datetime"
    assert REGISTRY.any_field(subject, "lab") is None
    assert REGISTRY.any_field(subject, "nope") is None


# --- values ---------------------------------------------------------------------------------


def test_strict_int_refuses_text_and_accepts_int() -> None:
    assert coerce_kind("int", 3, "n", strict=True) == 3
    with pytest.raises(InvalidInput):
        coerce_kind("int", "3", "n", strict=True)
    with pytest.raises(InvalidInput):
        coerce_kind("int", 3.0, "n", strict=True)


@pytest.mark.parametrize(("raw", "value"), [("3", 3), (" -7 ", -7), (3.0, 3), (12, 12)])
def test_lenient_int_parses_text(raw: object, value: int) -> None:
    assert coerce_kind("int", raw, "n", strict=False) == value


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("raw", [True, False, "3.5", 3.5, "x", "", [1], {"a": 1}])
def test_int_refuses_bools_and_non_integers(raw: object, strict: bool) -> None:
    with pytest.raises(InvalidInput):
        coerce_kind("int", raw, "n", strict=strict)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("TRUE", True), (True, True)],
)
def test_lenient_bool_parses_text(raw: object, value: bool) -> None:
    assert coerce_kind("bool", raw, "b", strict=False) is value


@pytest.mark.parametrize("raw", ["true", "1", 1, 0, "maybe"])
def test_strict_bool_takes_only_json_booleans(raw: object) -> None:
    with pytest.raises(InvalidInput):
        coerce_kind("bool", raw, "b", strict=True)
    assert coerce_kind("bool", False, "b", strict=True) is False


@pytest.mark.parametrize("raw", [1, "maybe", "2", ""])
def test_lenient_bool_refuses_other_values(raw: object) -> None:
    with pytest.raises(InvalidInput):
        coerce_kind("bool", raw, "b", strict=False)


@pytest.mark.parametrize(
    ("raw", "strict"),
    [
        (math.nan, True),
        (math.inf, True),
        (-math.inf, True),
        (math.nan, False),
        ("nan", False),
        ("inf", False),
        ("-Infinity", False),
        ("1e999", False),
    ],
)
def test_float_refuses_nan_and_infinity(raw: object, strict: bool) -> None:
    with pytest.raises(InvalidInput, match="finite"):
        coerce_kind("float", raw, "x", strict=strict)


def test_float_accepts_ints_and_lenient_text() -> None:
    assert coerce_kind("float", 2, "x", strict=True) == 2.0
    assert isinstance(coerce_kind("float", 2, "x", strict=True), float)
    assert coerce_kind("float", " 2.5 ", "x", strict=False) == 2.5
    with pytest.raises(InvalidInput):
        coerce_kind("float", "2.5", "x", strict=True)
    with pytest.raises(InvalidInput):
        coerce_kind("float", True, "x", strict=False)


def test_float_from_an_int_too_large_is_invalid_input() -> None:
    """JSON bodies may carry integers of any size; one beyond float range is bad input."""
    with pytest.raises(InvalidInput) as info:
        coerce_kind("float", 10**400, "body.rate", strict=True)
    assert info.value.details["path"] == "body.rate"


@pytest.mark.parametrize("strict", [True, False])
def test_str_refuses_non_strings(strict: bool) -> None:
    assert coerce_kind("str", "a", "s", strict=strict) == "a"
    assert coerce_kind("text", "", "s", strict=strict) == ""
    for raw in (1, True, 1.5, ["a"]):
        with pytest.raises(InvalidInput):
            coerce_kind("str", raw, "s", strict=strict)


@pytest.mark.parametrize(
    "kind", ["str", "text", "int", "float", "bool", "datetime", "date", "json"]
)
def test_none_passes_through_every_kind(kind: str) -> None:
    assert coerce_kind(kind, None, "p", strict=True) is None  # type: ignore[arg-type]


def test_json_and_array_values_are_kept_as_given() -> None:
    value = {"a": [1, 2]}
    assert coerce_kind("json", value, "p", strict=True) is value
    assert coerce_kind("array", "sha256:abc", "p", strict=True) == "sha256:abc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-02T03:04:05Z", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T03:04:05z", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T03:04:05", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T05:04:05+02:00", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T03:04:05.250000Z", dt.datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=dt.UTC)),
        ("2024-01-02", dt.datetime(2024, 1, 2, tzinfo=dt.UTC)),
    ],
)
def test_datetime_parsing_returns_aware_utc(raw: str, expected: dt.datetime) -> None:
    for strict in (True, False):
        value = coerce_kind("datetime", raw, "t", strict=strict)
        assert value == expected
        assert value.utcoffset() == dt.timedelta(0)
        assert value.tzinfo is not None


def test_datetime_objects_are_converted_to_utc() -> None:
    naive = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert coerce_kind("datetime", naive, "t", strict=True) == naive.replace(tzinfo=dt.UTC)
    plus_two = dt.datetime(2024, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    value = coerce_kind("datetime", plus_two, "t", strict=True)
    assert value.tzinfo == dt.UTC
    assert value.hour == 3


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01T00:00:00", "", "Z", 1700000000, 1.5])
def test_bad_datetimes_are_invalid_input(raw: object) -> None:
    with pytest.raises(InvalidInput) as info:
        coerce_kind("datetime", raw, "filters.created", strict=False)
    assert info.value.details["path"] == "filters.created"


def test_a_date_is_not_a_datetime() -> None:
    with pytest.raises(InvalidInput):
        coerce_kind("datetime", dt.date(2024, 1, 2), "t", strict=True)


@pytest.mark.parametrize("raw", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_datetime_whose_utc_time_is_out_of_range_is_invalid_input(raw: str) -> None:
    """Parsable text whose UTC equivalent does not exist is bad input, not an OverflowError."""
    with pytest.raises(InvalidInput) as info:
        coerce_kind("datetime", raw, "body.start_time", strict=True)
    assert info.value.details["path"] == "body.start_time"


def test_date_parsing() -> None:
    assert coerce_kind("date", "2024-01-02", "d", strict=True) == dt.date(2024, 1, 2)
    assert coerce_kind("date", " 2024-01-02 ", "d", strict=False) == dt.date(2024, 1, 2)
    assert coerce_kind("date", dt.date(2024, 1, 2), "d", strict=True) == dt.date(2024, 1, 2)


@pytest.mark.parametrize(
    "raw", ["2024-02-30", "2024-01-02T00:00:00", "tomorrow", 20240102, dt.datetime(2024, 1, 2)]
)
def test_bad_dates_are_invalid_input(raw: object) -> None:
    with pytest.raises(InvalidInput) as info:
        coerce_kind("date", raw, "body.birth_date", strict=True)
    assert info.value.details["path"] == "body.birth_date"
    assert "body.birth_date" in info.value.message


@pytest.mark.parametrize(
    ("kind", "raw"),
    [("int", "x"), ("float", "x"), ("bool", "x"), ("str", 1), ("date", "x"), ("datetime", "x")],
)
def test_errors_carry_the_given_path(kind: str, raw: object) -> None:
    path = "records[3].fields.value"
    with pytest.raises(InvalidInput) as info:
        coerce_kind(kind, raw, path, strict=False)  # type: ignore[arg-type]
    assert info.value.details["path"] == path
    assert info.value.message.startswith(path)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidInput) as info:
        coerce_kind("int", "x" * 500, "n", strict=False)
    assert len(info.value.message) < 200


def test_coerce_field_enforces_choices() -> None:
    sex = REGISTRY.model("subject").field("sex")
    assert sex is not None
    assert coerce_field(sex, "M", "sex") == "M"
    with pytest.raises(InvalidInput) as info:
        coerce_field(sex, "X", "body.sex")
    assert info.value.details["path"] == "body.sex"
    assert "'M'" in info.value.message
    assert tuple(info.value.details["choices"]) == ("M", "F", "U")
    assert coerce_field(sex, None, "sex") is None


def test_coerce_field_enforces_max_length() -> None:
    field = Field("code", max_length=3)
    assert coerce_field(field, "abc", "code") == "abc"
    with pytest.raises(InvalidInput, match="3") as info:
        coerce_field(field, "abcd", "body.code")
    assert info.value.details["path"] == "body.code"


def test_coerce_field_is_strict_by_default() -> None:
    field = Field("count", "int")
    with pytest.raises(InvalidInput):
        coerce_field(field, "3", "count")
    assert coerce_field(field, "3", "count", strict=False) == 3


def test_to_json_value_forms() -> None:
    moment = dt.datetime(2024, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert to_json_value("datetime", moment) == "2024-01-02T03:04:05Z"
    assert to_json_value("datetime", dt.datetime(2024, 1, 2)) == "2024-01-02T00:00:00Z"
    assert to_json_value("date", dt.date(2024, 1, 2)) == "2024-01-02"
    assert to_json_value("int", 5) == 5
    assert to_json_value("datetime", None) is None


# --- round-trip properties ------------------------------------------------------------------

fixed_offsets = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23)),
)
# Years 2..9998 so that every instant also exists in UTC.
MIN_DT, MAX_DT = dt.datetime(2, 1, 1), dt.datetime(9998, 12, 31)


@given(st.datetimes(min_value=MIN_DT, max_value=MAX_DT, timezones=fixed_offsets))
def test_datetime_json_round_trip(value: dt.datetime) -> None:
    text = to_json_value("datetime", value)
    assert isinstance(text, str) and text.endswith("Z")
    again = coerce_kind("datetime", text, "t", strict=True)
    assert again == value
    assert again.utcoffset() == dt.timedelta(0)


@settings(deadline=None)  # the first use of a zone reads its tzdata file
@given(st.datetimes(min_value=MIN_DT, max_value=MAX_DT, timezones=st.timezones()))
def test_datetime_json_round_trip_keeps_the_instant_in_named_zones(value: dt.datetime) -> None:
    """Python never calls a gap or fold time equal to another zone's, so compare in UTC."""
    again = coerce_kind("datetime", to_json_value("datetime", value), "t", strict=True)
    assert again == value.astimezone(dt.UTC)


@given(st.dates())
def test_date_json_round_trip(value: dt.date) -> None:
    assert coerce_kind("date", to_json_value("date", value), "d", strict=True) == value


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int_json_round_trip(value: int) -> None:
    assert coerce_kind("int", to_json_value("int", value), "n", strict=True) == value
    assert coerce_kind("int", str(value), "n", strict=False) == value


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_int_beyond_64_bits_is_invalid_input(value: int) -> None:
    """Integer columns are 64-bit on every database: larger values are refused up front."""
    with pytest.raises(InvalidInput, match="64 bits") as caught:
        coerce_kind("int", value, "body.n", strict=True)
    assert caught.value.details["path"] == "body.n"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_float_round_trip(value: float) -> None:
    assert coerce_kind("float", to_json_value("float", value), "x", strict=True) == value
    assert coerce_kind("float", repr(value), "x", strict=False) == value
