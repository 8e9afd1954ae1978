"""The change feed: complete, in order, per user's view, and never skipping a change."""

from __future__ import annotations

import random
import threading
import time

from labstore.server import changes
from labstore.server.reads import Reader
from labstore.server.writes import Writer


def feed(api, headers, since=None, limit=1000):
    params = {"limit": limit, **({"since": since} if since else {})}
    answer = api.get("/api/changes", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def sync(api, headers, replica, since=None):
    """Apply the feed to a dict replica (location -> object); returns the last cursor."""
    tokens = {}
    while True:
        page = feed(api, headers, since, limit=7)
        for data in page["objects"]:
            replica[data["location"]] = data
        me = api.get("/api/me", headers=headers).json()["location"].rsplit("/", 1)[1]
        tokens = {changes.removal_token(me, loc): loc for loc in replica}
        for token in page["removed"]:
            if token in tokens:
                replica.pop(tokens[token])
        since = page["next"]
        if not page["more"]:
            return since


def test_feed_follows_creates_updates_and_deletes(api, make_user, token_for):
    make_user("alice", projects=("lab",))
    alice = token_for("alice")
    replica: dict = {}
    cursor = sync(api, alice, replica)
    assert set(replica) == {api.get("/api/me", headers=alice).json()["location"]} | {
        loc for loc in replica if loc.startswith("core/project/")
    }
    made = [
        api.post("/api/experiment/lab", json={"name": f"lab{i}"}, headers=alice).json()
        for i in range(20)
    ]
    cursor = sync(api, alice, replica, cursor)
    assert {m["location"] for m in made} <= set(replica)
    api.patch(f"/api/{made[3]['location']}", json={"institution": "UCL"}, headers=alice)
    api.delete(f"/api/{made[4]['location']}", headers=alice)
    page = feed(api, alice, cursor)
    assert [o["location"] for o in page["objects"]] == [made[3]["location"]]
    assert len(page["removed"]) == 1
    cursor = sync(api, alice, replica, cursor)
    assert replica[made[3]["location"]]["institution"] == "UCL"
    assert made[4]["location"] not in replica
    assert feed(api, alice, cursor) == {
        "objects": [],
        "removed": [],
        "tags": [],
        "paths": [],
        "folders": [],
        "next": cursor,
        "more": False,
    }


def test_feed_shows_only_what_the_reader_may_see(api, make_user, token_for):
    make_user("alice", projects=("lab",))
    make_user("bob")
    alice, bob = token_for("alice"), token_for("bob")
    bob_replica: dict = {}
    cursor = sync(api, bob, bob_replica)
    experiment_subject = api.post(
        "/api/experiment/subject", json={"nickname": "S"}, headers=alice
    ).json()
    experiment = api.post(
        "/api/experiment/experiment",
        json={"subject": experiment_subject["location"], "date": "2024-01-01"},
        headers=alice,
    ).json()
    dataset = api.post(
        "/api/experiment/dataset",
        json={"experiment": experiment["location"], "name": "spikes.times.npy"},
        headers=alice,
    ).json()
    page = feed(api, bob, cursor)
    assert page["objects"] == []  # alice's objects are not bob's to see
    assert all(dataset["id"] not in token for token in page["removed"])
    cursor = sync(api, bob, bob_replica, cursor)
    shared = api.post(f"/api/{experiment['location']}/shares", json={"with": "bob"}, headers=alice)
    assert shared.status_code == 200
    cursor = sync(api, bob, bob_replica, cursor)
    # The experiment and the dataset that inherits its access arrive; the subject does not.
    assert {experiment["location"], dataset["location"]} <= set(bob_replica)
    assert experiment_subject["location"] not in bob_replica
    api.delete(f"/api/{experiment['location']}/shares/bob", headers=alice)
    cursor = sync(api, bob, bob_replica, cursor)
    assert experiment["location"] not in bob_replica
    assert dataset["location"] not in bob_replica


def test_tags_paths_and_folders_travel_only_with_what_the_reader_may_see(api, make_user, token_for):
    make_user("alice", projects=("neuro",))
    make_user("bob")
    alice, bob = token_for("alice"), token_for("bob")
    cursors = {"alice": feed(api, alice)["next"], "bob": feed(api, bob)["next"]}
    private, shared = (
        api.post("/api/experiment/lab", json={"name": name}, headers=alice).json()
        for name in ("private", "shared")
    )
    for lab in (private, shared):
        api.patch(f"/api/{lab['location']}", json={"safety_level": 1}, headers=alice)
        assert api.post(f"/api/{lab['location']}/tags", json={"tags": ["secret"]}, headers=alice)
    assert api.post("/api/paths", json={"paths": ["/neuro/raw"]}, headers=alice).status_code == 200
    assignments = [{"location": lab["location"], "path": "/neuro/raw"} for lab in (private, shared)]
    filed = api.post("/api/paths/assign", json={"assignments": assignments}, headers=alice)
    assert filed.status_code == 200, filed.text
    api.post(f"/api/{shared['location']}/shares", json={"with": "bob"}, headers=alice)

    mine = feed(api, alice, cursors["alice"])
    assert {(t["location"], t["tag"]) for t in mine["tags"]} == {
        (private["location"], "secret"),
        (shared["location"], "secret"),
    }
    assert {(p["location"], p["folder"], p["name"]) for p in mine["paths"]} == {
        (private["location"], "/neuro/raw", "private"),
        (shared["location"], "/neuro/raw", "shared"),
    }
    assert [(f["project"], [x["path"] for x in f["folders"]]) for f in mine["folders"]] == [
        ("neuro", ["/neuro", "/neuro/raw"])
    ]

    theirs = feed(api, bob, cursors["bob"])
    sent = [o["location"] for o in theirs["objects"]]
    assert private["location"] not in sent and shared["location"] in sent
    assert [t["location"] for t in theirs["tags"]] == [shared["location"]]
    assert [p["location"] for p in theirs["paths"]] == [shared["location"]]
    # bob sees the neuro project object (a directory entry), never its folders.
    assert theirs["folders"] == []
    assert private["id"] not in str(theirs)

    # Untagging and unfiling send the object again, with what it has now.
    api.request(
        "DELETE", f"/api/{shared['location']}/tags", json={"tags": ["secret"]}, headers=alice
    )
    api.post("/api/paths/remove", json={"paths": ["/neuro/raw/shared"]}, headers=alice)
    again = feed(api, bob, theirs["next"])
    assert [o["location"] for o in again["objects"]] == [shared["location"]]
    assert again["tags"] == [] and again["paths"] == []


def test_a_membership_change_asks_for_a_rebuild(api, make_user, token_for, state):
    from labstore.server.admin import add_member

    make_user("alice", projects=("lab",))
    make_user("bob")
    bob = token_for("bob")
    cursor = feed(api, bob)["next"]
    with state.db.write() as conn:
        add_member(state, conn, "lab", "bob")
    answer = api.get("/api/changes", params={"since": cursor}, headers=bob)
    assert answer.status_code == 409
    assert answer.json()["error"]["details"]["resync"] is True


def test_bad_cursors(api, make_user, token_for):
    make_user("alice")
    alice = token_for("alice")
    cursor = feed(api, alice)["next"]
    server, epoch, seq = cursor.split(".")
    for bad, code in ((f"0000.{epoch}.{seq}", 400), ("garbage", 400), (f"{server}.x.1", 400)):
        answer = api.get("/api/changes", params={"since": bad}, headers=alice)
        assert answer.status_code == code, (bad, answer.text)
        assert answer.json()["error"]["details"]["path"] == "since"
    assert (
        "another server"
        in api.get("/api/changes", params={"since": f"0000.{epoch}.{seq}"}, headers=alice).json()[
            "error"
        ]["message"]
    )
    for limit in ("0", "x", "100000"):
        assert api.get("/api/changes", params={"limit": limit}, headers=alice).status_code == 400
    assert api.get("/api/changes").status_code == 401


def test_concurrent_writers_never_make_the_feed_skip_a_change(state, make_user, api, token_for):
    """Writers sleep inside their transactions so commits interleave out of start order,
    while a reader keeps syncing; a replica built from the feed alone ends up complete."""
    make_user("alice")
    alice_headers = token_for("alice")
    with state.db.write() as conn:
        principal = state.accounts.resolve(conn, alice_headers["Authorization"].split()[1])
    model = state.registry.model("experiment/lab")
    made: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        for i in range(12):
            with state.db.write() as conn:
                obj = Writer(Reader(state.db, principal)).create(
                    conn, model, {"name": f"w{worker}-{i}"}
                )
                time.sleep(rng.uniform(0, 0.01))  # hold the transaction open a while
            with lock:
                made.append(obj["location"])

    replica: set[str] = set()

    def reader() -> None:
        cursor = None
        while True:
            done = stop.is_set()  # read the flag before syncing: one full pass after it
            with state.db.engine.connect() as conn, conn.begin():
                while True:
                    page = changes.read_feed(conn, Reader(state.db, principal), cursor, 5)
                    replica.update(o["location"] for o in page["objects"])
                    cursor = page["next"]
                    if not page["more"]:
                        break
            if done:
                return

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    follower = threading.Thread(target=reader)
    follower.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    follower.join()
    labs = {loc for loc in replica if loc.startswith("experiment/lab/")}
    assert len(made) == 48
    assert labs == set(made)
