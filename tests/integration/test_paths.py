"""Paths: folders per project, objects filed in them, and who sees what through ls, stat and
get_paths; bad input is a 4xx that changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labstore.errors import Conflict, InvalidInput, NotFound, PermissionDenied


@pytest.fixture
def alice(make_user, make_session):
    make_user("alice", projects=("neuro",))
    return make_session("alice")


@pytest.fixture
def carol(alice, make_user, make_session):
    """Another member of neuro."""
    make_user("carol", projects=("neuro",))
    return make_session("carol")


@pytest.fixture
def bob(make_user, make_session):
    """A member of another project."""
    make_user("bob", projects=("vision",))
    return make_session("bob")


def rows(state, name):
    table = state.db.table(name)
    with state.db.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(table)).all())


def snapshot(state):
    return rows(state, "folder"), rows(state, "path_entry")


def names(items):
    return [(i["resource_type"], i["name"]) for i in items]


def test_create_paths_makes_parents_and_is_idempotent(alice):
    assert alice.create_paths("/neuro/raw/2024") == ["/neuro", "/neuro/raw", "/neuro/raw/2024"]
    assert alice.create_paths("/neuro/raw/2024", "/neuro/raw/2025/") == ["/neuro/raw/2025"]
    assert alice.ls_path("/") == [{"resource_type": "folder", "name": "neuro", "path": "/neuro"}]
    assert alice.ls_path("/neuro/raw") == [
        {"resource_type": "folder", "name": "2024", "path": "/neuro/raw/2024"},
        {"resource_type": "folder", "name": "2025", "path": "/neuro/raw/2025"},
    ]
    assert alice.stat_path("/neuro/raw/") == {
        "resource_type": "folder",
        "name": "raw",
        "path": "/neuro/raw",
    }
    assert alice.stat_path("/")["resource_type"] == "folder"


def test_assign_ls_stat_and_get_paths(alice):
    alice.create_paths("/neuro/raw", "/neuro/raw/old")
    lab = alice.set(alice.Lab.new(name="cortexlab"))
    subject = alice.set(alice.Subject.new(nickname="ZM_1"))
    experiment = alice.set(alice.Experiment.new(subject=subject, date="2024-01-01"))
    assigned = alice.assign_paths(
        {"location": lab.location, "path": "/neuro/raw"},
        {"entity": subject, "path": "/neuro/raw"},
        {"entity": experiment, "path": "/neuro/raw"},
        {"entity": alice.set(alice.Lab.new(name="x")), "path": "/neuro/raw", "name": "a lab"},
    )
    assert assigned[0] == {
        "resource_type": "experiment/lab",
        "name": "cortexlab",
        "path": "/neuro/raw/cortexlab",
        "location": lab.location,
    }
    # Default names: name, else nickname, else the id.
    assert [a["name"] for a in assigned] == ["cortexlab", "ZM_1", experiment.id, "a lab"]
    # Folders first, then objects, each by name.
    listing = names(alice.ls_path("/neuro/raw"))
    assert listing[0] == ("folder", "old")
    assert listing[1:] == sorted(
        [
            ("experiment/experiment", experiment.id),
            ("experiment/subject", "ZM_1"),
            ("experiment/lab", "a lab"),
            ("experiment/lab", "cortexlab"),
        ],
        key=lambda item: item[1],
    )
    assert alice.stat_path("/neuro/raw/ZM_1") == {
        "resource_type": "experiment/subject",
        "name": "ZM_1",
        "path": "/neuro/raw/ZM_1",
        "location": subject.location,
    }
    unfiled = alice.set(alice.Lab.new(name="nowhere"))
    assert alice.get_paths(subject, lab.location, unfiled) == {
        subject.location: "/neuro/raw/ZM_1",
        lab.location: "/neuro/raw/cortexlab",
        unfiled.location: None,
    }
    assert alice.get_paths() == {}


def test_ls_filters(alice):
    alice.create_paths("/neuro/raw/Sub")
    lab = alice.set(alice.Lab.new(name="SubLab"))
    subject = alice.set(alice.Subject.new(nickname="other"))
    alice.assign_paths(
        {"entity": lab, "path": "/neuro/raw"}, {"entity": subject, "path": "/neuro/raw"}
    )
    assert names(alice.ls_path("/neuro/raw", {"resource_type": "folder"})) == [("folder", "Sub")]
    assert names(alice.ls_path("/neuro/raw", {"resource_type": "Lab"})) == [
        ("experiment/lab", "SubLab")
    ]
    assert names(alice.ls_path("/neuro/raw", {"name": "other"})) == [
        ("experiment/subject", "other")
    ]
    assert names(alice.ls_path("/neuro/raw", {"name__icontains": "sub"})) == [
        ("folder", "Sub"),
        ("experiment/lab", "SubLab"),
    ]
    with pytest.raises(InvalidInput, match="resource_type"):
        alice.ls_path("/neuro/raw", {"resource_type": "nothing"})
    with pytest.raises(InvalidInput, match="colour"):
        alice.ls_path("/neuro/raw", {"colour": "red"})


def test_assigning_again_moves_the_object(alice):
    alice.create_paths("/neuro/a", "/neuro/b")
    lab = alice.set(alice.Lab.new(name="lab"))
    alice.assign_paths({"entity": lab, "path": "/neuro/a"})
    alice.assign_paths({"entity": lab, "path": "/neuro/a"})  # the same place: nothing moves
    alice.assign_paths({"entity": lab, "path": "/neuro/b", "name": "renamed"})
    assert alice.ls_path("/neuro/a") == []
    assert names(alice.ls_path("/neuro/b")) == [("experiment/lab", "renamed")]
    assert alice.get_paths(lab) == {lab.location: "/neuro/b/renamed"}
    with pytest.raises(NotFound):
        alice.stat_path("/neuro/a/lab")


def test_one_name_per_folder(alice, state):
    alice.create_paths("/neuro/raw/sub")
    first = alice.set(alice.Lab.new(name="twin"))
    second = alice.set(alice.Subject.new(nickname="twin"))
    third = alice.set(alice.Lab.new(name="third"))
    alice.assign_paths({"entity": first, "path": "/neuro/raw"})
    before = snapshot(state)
    with pytest.raises(Conflict, match="'twin'") as info:
        # The first assignment of the request is undone with the failing one.
        alice.assign_paths(
            {"entity": third, "path": "/neuro/raw"},
            {"entity": second, "path": "/neuro/raw"},
        )
    assert info.value.details["path"] == "assignments[1].name"
    assert snapshot(state) == before
    # A sub-folder's name is taken too, in both directions.
    with pytest.raises(Conflict, match="folder named 'sub'"):
        alice.assign_paths({"entity": second, "path": "/neuro/raw", "name": "sub"})
    with pytest.raises(Conflict, match="object named 'twin'"):
        alice.create_paths("/neuro/raw/twin/deeper")
    assert snapshot(state) == before
    # Under another name it fits.
    alice.assign_paths({"entity": second, "path": "/neuro/raw", "name": "twin 2"})


def test_ls_stat_and_get_paths_show_only_what_the_caller_may_see(alice, carol, bob, api):
    alice.create_paths("/neuro/raw")
    friendly = alice.set(alice.Lab.new(name="friendly"))
    private = alice.set(alice.Lab.new(name="private"))
    shared = alice.set(alice.Lab.new(name="shared"))
    for lab in (private, shared):
        alice.permissions(lab, {"safety_level": 1})
    for lab in (friendly, private, shared):
        alice.assign_paths({"entity": lab, "path": "/neuro/raw"})
    alice.share(shared, "bob")
    assert names(alice.ls_path("/neuro/raw")) == [
        ("experiment/lab", "friendly"),
        ("experiment/lab", "private"),
        ("experiment/lab", "shared"),
    ]
    # Carol is in the project: she sees the folder and the friendly object only.
    assert names(carol.ls_path("/neuro/raw")) == [("experiment/lab", "friendly")]
    with pytest.raises(NotFound):
        carol.stat_path("/neuro/raw/private")
    assert carol.get_paths(friendly, private) == {
        friendly.location: "/neuro/raw/friendly",
        private.location: None,
    }
    # Bob is not: no folders at all, but the object shared with him keeps its path.
    assert bob.ls_path("/") == []
    for path in ("/neuro/raw", "/neuro"):
        with pytest.raises(NotFound):
            bob.ls_path(path)
        with pytest.raises(NotFound):
            bob.stat_path(path)
    assert bob.get_paths(friendly, private, shared) == {
        friendly.location: None,
        private.location: None,
        shared.location: "/neuro/raw/shared",
    }
    assert bob.stat_path("/neuro/raw/shared")["location"] == shared.location
    with pytest.raises(NotFound):
        bob.stat_path("/neuro/raw/private")
    # Nobody learns whether something hidden is there: the same answer as for nothing.
    hidden = api.get("/api/paths/stat", params={"path": "/neuro/raw/private"})
    absent = api.get("/api/paths/stat", params={"path": "/neuro/raw/absent"})
    assert hidden.status_code == absent.status_code == 404
    assert (
        hidden.json()["error"]["message"].replace("private", "absent")
        == (absent.json()["error"]["message"])
    )
    # Anonymous readers see no folders either.
    assert api.get("/api/paths/ls", params={"path": "/neuro/raw"}).status_code == 404
    assert api.get("/api/paths/ls", params={"path": "/"}).json()["items"] == []


def test_folders_belong_to_their_project(alice, bob, make_user, make_session):
    with pytest.raises(PermissionDenied, match="vision"):
        alice.create_paths("/vision/raw")
    with pytest.raises(InvalidInput, match="no project 'nowhere'"):
        alice.create_paths("/nowhere/raw")
    bob.create_paths("/vision/raw")
    alice.create_paths("/neuro/raw")
    lab = alice.set(alice.Lab.new(name="lab"))
    # Alice may not file into vision's folders (she cannot see them), nor remove them.
    with pytest.raises(NotFound, match="/vision/raw"):
        alice.assign_paths({"entity": lab, "path": "/vision/raw"})
    with pytest.raises(NotFound):
        alice.remove_paths("/vision/raw")
    # An administrator sees and changes every project's folders.
    make_user("root", admin=True)
    admin = make_session("root")
    assert names(admin.ls_path("/")) == [("folder", "neuro"), ("folder", "vision")]
    admin.create_paths("/vision/raw/admin")
    admin.assign_paths({"entity": lab, "path": "/vision/raw/admin"})
    assert alice.get_paths(lab) == {lab.location: "/vision/raw/admin/lab"}


def test_filing_needs_write_on_the_object(alice, carol, bob):
    alice.create_paths("/neuro/raw")
    lab = alice.set(alice.Lab.new(name="lab"))
    private = alice.set(alice.Lab.new(name="private"))
    alice.permissions(private, {"safety_level": 1})
    # Carol can read the friendly lab but not change it.
    with pytest.raises(PermissionDenied) as denied:
        carol.assign_paths({"entity": lab, "path": "/neuro/raw"})
    assert denied.value.details["path"] == "assignments[0].location"
    with pytest.raises(NotFound) as missing:
        carol.assign_paths({"location": private.location, "path": "/neuro/raw"})
    assert missing.value.details["path"] == "assignments[0].location"
    alice.share(lab, "carol", ["read", "write"])
    carol.assign_paths({"entity": lab, "path": "/neuro/raw"})
    # Unfiling an object by its path needs write as well.
    alice.assign_paths({"entity": private, "path": "/neuro/raw"})
    alice.share(private, "carol", ["read"])
    with pytest.raises(PermissionDenied):
        carol.remove_paths("/neuro/raw/private")
    assert alice.get_paths(private) == {private.location: "/neuro/raw/private"}
    assert carol.remove_paths("/neuro/raw/lab") == []
    assert alice.get_paths(lab) == {lab.location: None}
    assert alice.get(lab.location, refresh=True).name == "lab"  # unfiled, not deleted


def test_removing_folders(alice, carol, state):
    alice.create_paths("/neuro/raw/2024/jan", "/neuro/raw/2025", "/neuro/empty")
    lab = alice.set(alice.Lab.new(name="lab"))
    private = alice.set(alice.Lab.new(name="private"))
    alice.permissions(private, {"safety_level": 1})
    alice.assign_paths(
        {"entity": lab, "path": "/neuro/raw/2024/jan"},
        {"entity": private, "path": "/neuro/raw/2025"},
    )
    before = snapshot(state)
    with pytest.raises(Conflict, match="not empty") as info:
        alice.remove_paths("/neuro/raw")
    assert info.value.details["path"] == "paths[0]"
    # A folder holding only what the caller cannot see is not empty either.
    assert carol.ls_path("/neuro/raw/2025") == []
    with pytest.raises(Conflict, match="not empty"):
        carol.remove_paths("/neuro/raw/2025")
    with pytest.raises(Conflict):
        carol.remove_paths("/neuro/empty", "/neuro/raw/2025", "/neuro/raw")
    assert snapshot(state) == before
    # Empty folders go, a folder and a folder in it go together in any order.
    assert alice.remove_paths("/neuro/empty") == ["/neuro/empty"]
    alice.create_paths("/neuro/x/y")
    assert sorted(alice.remove_paths("/neuro/x", "/neuro/x/y")) == ["/neuro/x", "/neuro/x/y"]
    removed = alice.remove_paths("/neuro/raw", recursive=True)
    assert sorted(removed) == [
        "/neuro/raw",
        "/neuro/raw/2024",
        "/neuro/raw/2024/jan",
        "/neuro/raw/2025",
    ]
    assert rows(state, "path_entry") == []
    assert names(alice.ls_path("/neuro")) == []
    # The objects stay; they are only unfiled.
    assert alice.get_paths(lab, private) == {lab.location: None, private.location: None}
    assert alice.get(private.location, refresh=True).name == "private"
    with pytest.raises(NotFound):
        alice.remove_paths("/neuro/raw")


def test_a_prefix_that_only_looks_like_a_parent_is_left_alone(alice):
    """LIKE patterns are escaped: removing /neuro/a_b leaves /neuro/aXb and /neuro/a_bc."""
    alice.create_paths("/neuro/a_b/in", "/neuro/aXb/in", "/neuro/a_bc/in", "/neuro/a%/in")
    alice.remove_paths("/neuro/a_b", recursive=True)
    alice.remove_paths("/neuro/a%", recursive=True)
    assert names(alice.ls_path("/neuro")) == [("folder", "aXb"), ("folder", "a_bc")]
    assert names(alice.ls_path("/neuro/a_bc")) == [("folder", "in")]


def test_deleting_an_object_deletes_its_path(alice, state):
    alice.create_paths("/neuro/raw")
    lab = alice.set(alice.Lab.new(name="lab"))
    subject = alice.set(alice.Subject.new(nickname="s"))
    experiment = alice.set(alice.Experiment.new(subject=subject, date="2024-01-01"))
    dataset = alice.set(alice.Dataset.new(experiment=experiment, name="spikes.times.npy"))
    alice.assign_paths(
        {"entity": lab, "path": "/neuro/raw"}, {"entity": dataset, "path": "/neuro/raw"}
    )
    alice.delete(lab)
    alice.delete(experiment)  # its dataset goes with it
    assert alice.ls_path("/neuro/raw") == []
    assert rows(state, "path_entry") == []
    # The names are free again.
    other = alice.set(alice.Lab.new(name="lab"))
    alice.assign_paths({"entity": other, "path": "/neuro/raw"})


BAD_PATHS = [
    ("neuro/raw", "relative"),
    ("", "expected an absolute path"),
    ("/neuro//raw", "empty segment"),
    ("/neuro/../vision", "'..'"),
    ("/neuro/./raw", "'.'"),
    ("/neuro/r\x00w", "NUL"),
    ("/neuro/" + "x" * 1000, "at most 1000"),
    ("/neuro/" + "x" * 256, "longer than 255"),
    ("/", "not a folder"),
    (7, "expected an absolute path"),
    (None, "expected an absolute path"),
]


@pytest.mark.parametrize(("path", "message"), BAD_PATHS)
def test_bad_paths_are_400_naming_the_path(alice, state, api, token_for, path, message):
    alice.create_paths("/neuro/raw")
    lab = alice.set(alice.Lab.new(name="lab"))
    alice.assign_paths({"entity": lab, "path": "/neuro/raw"})
    before = snapshot(state)
    headers = token_for("alice")
    requests = [
        ("/api/paths", {"paths": ["/neuro/ok", path]}, "paths[1]"),
        ("/api/paths/remove", {"paths": ["/neuro/raw/lab", path]}, "paths[1]"),
        (
            "/api/paths/assign",
            {"assignments": [{"location": lab.location, "path": path}]},
            "assignments[0].path",
        ),
    ]
    for url, body, where in requests:
        answer = api.post(url, json=body, headers=headers)
        assert answer.status_code == 400, (url, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["details"]["path"] == where
        assert error["message"].startswith(f"{where}:") and message in error["message"]
    if isinstance(path, str) and path != "/":
        for url in ("/api/paths/ls", "/api/paths/stat"):
            answer = api.get(url, params={"path": path}, headers=headers)
            assert answer.status_code == 400, (url, answer.text)
            assert answer.json()["error"]["details"]["path"] == "path"
    assert snapshot(state) == before


@pytest.mark.parametrize(
    ("url", "body", "where"),
    [
        ("/api/paths", ["/neuro/x"], "body"),
        ("/api/paths", {"paths": "/neuro/x"}, "paths"),
        ("/api/paths", {"paths": []}, "paths"),
        ("/api/paths", {"paths": ["/neuro/x"], "recursive": True}, "body"),
        ("/api/paths/remove", {"paths": ["/neuro/raw"], "recursive": "yes"}, "recursive"),
        ("/api/paths/assign", {"assignments": [{"path": "/neuro/raw"}]}, "assignments[0].location"),
        ("/api/paths/assign", {"assignments": ["x"]}, "assignments[0]"),
        (
            "/api/paths/assign",
            {"assignments": [{"location": "LAB", "path": "/neuro/raw", "colour": 1}]},
            "assignments[0]",
        ),
        (
            "/api/paths/assign",
            {"assignments": [{"location": "experiment/lab", "path": "/neuro/raw"}]},
            "assignments[0].location",
        ),
        (
            "/api/paths/assign",
            {"assignments": [{"location": "nope/thing/ABC", "path": "/neuro/raw"}]},
            "assignments[0].location",
        ),
        (
            "/api/paths/assign",
            {"assignments": [{"location": "LAB", "path": "/neuro/raw", "name": "a/b"}]},
            "assignments[0].name",
        ),
        (
            "/api/paths/assign",
            {"assignments": [{"location": "LAB", "path": "/neuro/raw", "name": ".."}]},
            "assignments[0].name",
        ),
        (
            "/api/paths/assign",
            {"assignments": [{"location": "LAB", "path": "/neuro/raw", "name": 5}]},
            "assignments[0].name",
        ),
        ("/api/paths/lookup", {"locations": "x"}, "locations"),
        ("/api/paths/lookup", {"locations": ["experiment/lab/ABC", 5]}, "locations[1]"),
        ("/api/paths/lookup", {"locations": ["x/y"]}, "locations[0]"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(alice, state, api, token_for, url, body, where):
    alice.create_paths("/neuro/raw")
    lab = alice.set(alice.Lab.new(name="lab"))
    if isinstance(body, dict) and "assignments" in body:
        for item in body["assignments"]:
            if isinstance(item, dict) and item.get("location") == "LAB":
                item["location"] = lab.location
    before = snapshot(state)
    answer = api.post(url, json=body, headers=token_for("alice"))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["path"] == where, error
    assert error["message"].startswith(f"{where}:")
    assert snapshot(state) == before


def test_query_parameters_of_ls_and_stat(alice, api, token_for):
    alice.create_paths("/neuro/raw")
    headers = token_for("alice")
    for url in ("/api/paths/ls", "/api/paths/stat"):
        missing = api.get(url, headers=headers)
        assert missing.status_code == 400 and missing.json()["error"]["details"]["path"] == "path"
        twice = api.get(f"{url}?path=/neuro&path=/neuro/raw", headers=headers)
        assert twice.status_code == 400
        unknown = api.get(url, params={"path": "/neuro", "limit": 3}, headers=headers)
        assert unknown.json()["error"]["details"]["path"] == "limit"
    with pytest.raises(NotFound):
        alice.ls_path("/neuro/nothing")


def test_path_writes_need_a_login(alice, api):
    alice.create_paths("/neuro/raw")
    for url, body in (
        ("/api/paths", {"paths": ["/neuro/x"]}),
        ("/api/paths/assign", {"assignments": []}),
        ("/api/paths/remove", {"paths": ["/neuro/raw"]}),
    ):
        answer = api.post(url, json=body)
        assert answer.status_code == 401, answer.text
    assert names(alice.ls_path("/neuro")) == [("folder", "raw")]


def test_client_side_checks(alice):
    with pytest.raises(InvalidInput, match="either location or entity"):
        alice.assign_paths({"path": "/neuro/raw"})
    with pytest.raises(InvalidInput, match="expected a dict"):
        alice.assign_paths("/neuro/raw")
    with pytest.raises(InvalidInput, match="never stored"):
        alice.assign_paths({"entity": alice.Lab.new(name="unsaved"), "path": "/neuro/raw"})
    with pytest.raises(InvalidInput, match="expected an object or a location"):
        alice.get_paths(42)
    with pytest.raises(InvalidInput, match="expected a path"):
        alice.ls_path(None)
