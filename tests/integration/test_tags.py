"""Tags: adding, removing and listing them (REST and Session), who may, and finding objects by
their tags through Django filters, listings, counts and the JSON query language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labstore.errors import InvalidInput, NotFound, PermissionDenied, QueryValidationError


@pytest.fixture
def alice(make_user, make_session):
    make_user("alice", projects=("neuro",))
    return make_session("alice")


@pytest.fixture
def bob(make_user, make_session):
    make_user("bob", projects=("vision",))
    return make_session("bob")


def tags_of(session, obj):
    return [(t["tag"], t["project"]) for t in session.list_tags(obj)]


def stored_tags(state):
    table = state.db.table("object_tag")
    with state.db.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(table)).all())


def test_tag_list_and_untag_through_the_session(alice):
    subject = alice.set(alice.Subject.new(nickname="ZM_1"))
    assert alice.list_tags(subject) == []
    answer = alice.tag(subject, "good", "todo")
    assert answer == [{"tag": "good", "project": None}, {"tag": "todo", "project": None}]
    # Tagging again, or with a tag twice, keeps one of each.
    alice.tag(subject, "good", "good")
    alice.tag(subject.location, "good", project="neuro")  # a location works as well
    assert tags_of(alice, subject) == [("good", None), ("todo", None), ("good", "neuro")]
    # Untagging works per project; absent tags are no error.
    assert alice.untag(subject, "good", "never-there") == [
        {"tag": "todo", "project": None},
        {"tag": "good", "project": "neuro"},
    ]
    alice.untag(subject, "good", project="neuro")
    alice.untag(subject, "good", project="neuro")
    assert tags_of(alice, subject) == [("todo", None)]
    # A project object names its project too.
    project = alice.select("core/project", {"name": "neuro"})[0]
    alice.tag(subject, "x", project=project)
    assert ("x", "neuro") in tags_of(alice, subject)


def test_tags_over_rest(api, make_user, token_for):
    make_user("alice", projects=("neuro",))
    headers = token_for("alice")
    lab = api.post("/api/experiment/lab", json={"name": "cortexlab"}, headers=headers).json()
    url = f"/api/{lab['location']}/tags"
    added = api.post(url, json={"tags": ["a", "b"], "project": None}, headers=headers)
    assert added.status_code == 200
    assert added.json() == [{"tag": "a", "project": None}, {"tag": "b", "project": None}]
    assert api.get(url, headers=headers).json() == added.json()
    removed = api.request("DELETE", url, json={"tags": ["a", "zzz"]}, headers=headers)
    assert removed.status_code == 200 and removed.json() == [{"tag": "b", "project": None}]
    # Tags are not part of the object: its version does not move.
    assert api.get(f"/api/{lab['location']}", headers=headers).json()["version"] == 1


def test_who_may_read_and_change_tags(alice, bob, make_user, make_session, api):
    private = alice.set(alice.Subject.new(nickname="secret"))
    alice.permissions(private, {"safety_level": 1})
    alice.tag(private, "mine")
    # Bob may not see it: every tag endpoint says it does not exist.
    with pytest.raises(NotFound):
        bob.list_tags(private)
    with pytest.raises(NotFound):
        bob.tag(private, "his")
    with pytest.raises(NotFound):
        bob.untag(private, "mine")
    # Read access lets him list, not change.
    alice.share(private, "bob", ["read"])
    assert tags_of(bob, private) == [("mine", None)]
    with pytest.raises(PermissionDenied):
        bob.tag(private, "his")
    with pytest.raises(PermissionDenied):
        bob.untag(private, "mine")
    # Write access lets him tag, but not in a project he is not a member of.
    alice.share(private, "bob", ["read", "write"])
    bob.tag(private, "his")
    bob.tag(private, "v", project="vision")
    with pytest.raises(PermissionDenied):
        bob.tag(private, "n", project="neuro")
    assert tags_of(alice, private) == [("his", None), ("mine", None), ("v", "vision")]
    # Anonymous readers see the tags of public objects only, and change none.
    url = f"/api/{private.location}/tags"
    assert api.get(url).status_code == 404
    alice.permissions(private, {"safety_level": 3})
    assert api.get(url).status_code == 200
    refused = api.post(url, json={"tags": ["anon"]})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == (
        "authentication_failed"
    )
    # A site administrator may tag anything, in any project.
    make_user("root", admin=True)
    admin = make_session("root")
    admin.tag(private, "checked", project="neuro")
    assert ("checked", "neuro") in tags_of(alice, private)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (["x"], "body"),
        ({}, "tags"),
        ({"tags": "good"}, "tags"),
        ({"tags": []}, "tags"),
        ({"tags": ["ok", ""]}, "tags[1]"),
        ({"tags": ["   "]}, "tags[0]"),
        ({"tags": [5]}, "tags[0]"),
        ({"tags": [None]}, "tags[0]"),
        ({"tags": ["x" * 151]}, "tags[0]"),
        ({"tags": ["a\x00b"]}, "tags[0]"),
        ({"tags": ["ok"], "project": 3}, "project"),
        ({"tags": ["ok"], "project": ""}, "project"),
        ({"tags": ["ok"], "project": "no_such_project"}, "project"),
        ({"tags": ["ok"], "colour": "red"}, "body"),
    ],
)
def test_bad_tag_requests_are_400_and_change_nothing(api, make_user, token_for, state, body, path):
    make_user("alice", projects=("neuro",))
    headers = token_for("alice")
    lab = api.post("/api/experiment/lab", json={"name": "lab"}, headers=headers).json()
    url = f"/api/{lab['location']}/tags"
    api.post(url, json={"tags": ["kept"]}, headers=headers)
    before = stored_tags(state)
    for method in ("POST", "DELETE"):
        answer = api.request(method, url, json=body, headers=headers)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_input" and error["status"] == 400
        assert error["details"]["path"] == path
        assert error["message"].startswith(f"{path}:")
    assert stored_tags(state) == before


def test_a_tag_of_150_characters_is_fine(alice):
    lab = alice.set(alice.Lab.new(name="lab"))
    alice.tag(lab, "é" * 150)
    assert tags_of(alice, lab) == [("é" * 150, None)]
    with pytest.raises(InvalidInput, match=r"tags\[0\]"):
        alice.tag(lab, "é" * 151)
    with pytest.raises(InvalidInput, match="tags"):
        alice.tag(lab)  # no tags at all


def test_tag_endpoints_of_unknown_models_and_objects(api, make_user, token_for):
    make_user("alice", projects=("neuro",))
    headers = token_for("alice")
    assert api.get("/api/nope/thing/ABC/tags", headers=headers).status_code == 404
    missing = api.post("/api/experiment/lab/0000000000/tags", json={"tags": ["x"]}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.fixture
def tagged(alice, bob):
    """Alice's subjects: a (good), b (good, scoped to neuro), c (bad), d (no tags), and
    a private one tagged good; bob's own subject tagged good too."""
    made = {}
    for nickname in ("a", "b", "c", "d", "hidden"):
        made[nickname] = alice.set(alice.Subject.new(nickname=nickname))
    alice.tag(made["a"], "good")
    alice.tag(made["b"], "good", project="neuro")
    alice.tag(made["c"], "bad")
    alice.tag(made["hidden"], "good")
    alice.permissions(made["hidden"], {"safety_level": 1})
    made["bobs"] = bob.set(bob.Subject.new(nickname="bobs"))
    bob.tag(made["bobs"], "good")
    # Another model with the same tag never leaks into subject queries.
    alice.tag(alice.set(alice.Lab.new(name="lab")), "good")
    return made


def nicknames(found):
    return sorted(o.nickname for o in found)


def test_select_and_listing_filter_on_tags(alice, bob, tagged, api, token_for):
    assert nicknames(alice.select("Subject", {"tags__contains": "good"})) == ["a", "b", "hidden"]
    assert nicknames(alice.select("Subject", {"tags": "good"})) == ["a", "b", "hidden"]
    assert nicknames(alice.select("Subject", {"tags__in": ["good", "bad"]})) == [
        "a",
        "b",
        "c",
        "hidden",
    ]
    assert nicknames(alice.select("Subject", {"tags__isnull": True})) == ["d"]
    assert nicknames(alice.select("Subject", {"tags__isnull": False})) == [
        "a",
        "b",
        "c",
        "hidden",
    ]
    assert nicknames(alice.select("Subject", {"tags__contains": "nobody"})) == []
    # Bob never sees alice's objects, whatever their tags.
    assert nicknames(bob.select("Subject", {"tags__contains": "good"})) == ["bobs"]
    headers = token_for("bob")
    listing = api.get("/api/experiment/subject", params={"tags__contains": "good"}, headers=headers)
    assert [o["nickname"] for o in listing.json()["items"]] == ["bobs"]
    count = api.get("/api/experiment/subject/count", params={"tags": "good"}, headers=headers)
    assert count.json() == {"count": 1}
    # A URL may pack several values in one parameter.
    mine = token_for("alice")
    packed = api.get("/api/experiment/subject", params={"tags__in": "bad,good"}, headers=mine)
    assert sorted(o["nickname"] for o in packed.json()["items"]) == ["a", "b", "c", "hidden"]


def test_json_queries_filter_on_tags(alice, bob, tagged):
    def run(session, conditions):
        return nicknames(session.query({"__model__": "Subject", "__query__": conditions}))

    assert run(alice, {"tags": {"__contains__": "good"}}) == ["a", "b", "hidden"]
    assert run(alice, {"tags": "good"}) == ["a", "b", "hidden"]
    assert run(alice, {"tags": ["bad", "nothing"]}) == ["c"]
    assert run(alice, {"tags": {"__in__": ["bad", "good"]}}) == ["a", "b", "c", "hidden"]
    assert run(alice, {"tags": None}) == ["d"]
    assert run(alice, {"tags": ["bad", None]}) == ["c", "d"]
    assert run(alice, {"tags": {"__isnull__": False}}) == ["a", "b", "c", "hidden"]
    assert run(alice, {"tags": {"__not__": "good"}}) == ["c", "d"]
    assert run(alice, {"__or__": [{"tags": "bad"}, {"nickname": "d"}]}) == ["c", "d"]
    assert run(alice, {"tags__contains": "good", "nickname__in": ["a", "c"]}) == ["a"]
    assert run(bob, {"tags": "good"}) == ["bobs"]
    assert nicknames(alice.Subject.where({"tags": "bad"})) == ["c"]
    assert alice.Subject.count({"tags": "good"}) == 3


def test_tags_across_relations(alice):
    lab = alice.set(alice.Lab.new(name="cortexlab"))
    other = alice.set(alice.Lab.new(name="mainenlab"))
    alice.tag(lab, "flagship")
    alice.set(alice.Subject.new(nickname="in_flagship", lab=lab))
    alice.set(alice.Subject.new(nickname="elsewhere", lab=other))
    assert nicknames(alice.select("Subject", {"lab__tags__contains": "flagship"})) == [
        "in_flagship"
    ]
    found = alice.query({"__model__": "Subject", "__query__": {"lab": {"tags": "flagship"}}})
    assert nicknames(found) == ["in_flagship"]


@pytest.mark.parametrize(
    ("filters", "path"),
    [
        ({"tags__gt": "a"}, "tags__gt"),
        ({"tags__icontains": "a"}, "tags__icontains"),
        ({"tags__contains__x": "a"}, "tags__contains__x"),
        ({"tags__in": ""}, "tags__in"),
    ],
)
def test_bad_tag_filters(alice, filters, path):
    with pytest.raises(QueryValidationError) as info:
        alice.select("Subject", filters)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("conditions", "path"),
    [
        ({"tags": {"__gt__": "a"}}, "$.__query__.tags.__gt__"),
        ({"tags": {"__time__": {"__days__": 1}}}, "$.__query__.tags.__time__"),
        ({"tags": {"__in__": "a"}}, "$.__query__.tags.__in__"),
        ({"tags": {"__contains__": 5}}, "$.__query__.tags.__contains__"),
        ({"tags": {"nickname": "a"}}, "$.__query__.tags.nickname"),
        ({"tags": {}}, "$.__query__.tags"),
    ],
)
def test_bad_tag_conditions_name_their_json_path(alice, conditions, path):
    with pytest.raises(QueryValidationError) as info:
        alice.query({"__model__": "Subject", "__query__": conditions})
    assert info.value.path == path


def test_tags_cannot_order(api, make_user, token_for):
    make_user("alice", projects=("neuro",))
    answer = api.get(
        "/api/experiment/subject", params={"order_by": "tags"}, headers=token_for("alice")
    )
    assert answer.status_code == 400 and answer.json()["error"]["details"]["path"]


def test_deleting_an_object_deletes_its_tags(alice, state):
    lab = alice.set(alice.Lab.new(name="lab"))
    kept = alice.set(alice.Lab.new(name="kept"))
    alice.tag(lab, "a", "b")
    alice.tag(lab, "c", project="neuro")
    alice.tag(kept, "a")
    alice.delete(lab)
    assert [row[1:3] for row in stored_tags(state)] == [(kept.id, "a")]
    assert nicknames_or_names(alice.select("Lab", {"tags": "a"})) == ["kept"]


def test_deleting_a_tree_deletes_the_tags_of_its_children(alice, state):
    subject = alice.set(alice.Subject.new(nickname="S"))
    experiment = alice.set(alice.Experiment.new(subject=subject, date="2024-01-01"))
    dataset = alice.set(alice.Dataset.new(experiment=experiment, name="spikes.times.npy"))
    alice.tag(dataset, "child")
    alice.tag(subject, "kept")
    alice.delete(experiment)  # datasets go with their experiment (cascade)
    assert [row[2] for row in stored_tags(state)] == ["kept"]


def nicknames_or_names(found):
    return sorted(o.name for o in found)
