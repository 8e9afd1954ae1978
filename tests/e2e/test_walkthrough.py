"""The examples of reference pages 000 and 001, walked through a real server process.

The G-Node pages use Neo blocks and segments; here the same steps run on labs, subjects and
experiments (the Neo pack has its own tests).
"""

from __future__ import annotations

import tomllib

import pytest

import labstore
from labstore import session
from labstore.errors import Conflict, NotFound


@pytest.fixture
def conf(tmp_path):
    return tmp_path / "gnode" / "conf.toml"


def test_page_000_sessions_options_and_config(live_server, conf, tmp_path):
    options = {
        "location": live_server.url,
        "username": "alice",
        "password": "alice-password",
        "cache_dir": str(tmp_path / "cache"),
    }
    s = labstore.Session(options, file_name=conf, persist_options=True)
    assert s.logged_in()
    stored = tomllib.loads(conf.read_text())
    profile = stored["profiles"][stored["default_profile"]]
    assert profile == {k: v for k, v in options.items() if k != "password"}
    assert "alice-password" not in conf.read_text()
    s.close()

    # The config file completes missing options.
    s = labstore.Session({"password": "alice-password"}, file_name=conf)
    assert s.url == live_server.url and s.options["cache_dir"] == options["cache_dir"]
    assert s.current_user.username == "alice"
    s.close()
    # And the cached token means no password at all is needed next time.
    s = labstore.Session({}, file_name=conf)
    assert s.is_authenticated()
    s.close()


def test_page_000_global_session(live_server, conf):
    try:
        s1 = session.create(
            location=live_server.url,
            username="alice",
            password="alice-password",
            file_name=conf,
            persist_options=True,
        )
        s2 = session.create()
        assert id(s1) == id(s2)
        session.close()
        assert s1.closed
        s3 = session.create(file_name=conf)
        assert s3 is not s1 and s3.is_authenticated()
    finally:
        session.close()


def test_page_000_get_select_set_delete_and_caching(live_server, conf):
    s = labstore.Session(
        {"location": live_server.url, "username": "alice", "password": "alice-password"},
        file_name=conf,
    )
    lab = s.set(s.Lab.new(name="cortexlab"))
    subject = s.set(s.Subject.new(nickname="ZM_1085", lab=lab))
    assert subject.project == "neuro"  # alice's only project: bob, a member, sees it too
    experiment = s.set(s.Experiment.new(subject=subject, date="2024-03-04"))
    s.share(subject, "bob", ["read", "write"])  # bob, a project member, may read; now write

    # select always asks the server, with G-Node style filters
    assert [x.nickname for x in s.select("subject", {"nickname__icontains": "zm"})] == ["ZM_1085"]
    # get answers from the cache unless refresh=True
    bob = labstore.Session(
        {"location": live_server.url, "username": "bob", "password": "bob-password"},
        file_name=conf.with_name("bob.toml"),
    )
    theirs = bob.get(subject.location)
    theirs.species = "mouse"
    bob.set(theirs)
    assert s.get(subject.location).species is None
    assert s.get(subject.location, refresh=True).species == "mouse"
    # recursive get + refresh brings the subtree's latest versions into the cache
    s.clear_cache()
    root = s.get(subject.location, refresh=True, recursive=True)
    assert root.species == "mouse"
    assert s.get(experiment.location).date.isoformat() == "2024-03-04"
    assert [e.location for e in root.experiments] == [experiment.location]
    # lazy relations load on first use
    assert s.get(experiment.location).subject.lab.name == "cortexlab"
    # delete
    s.delete(experiment)
    with pytest.raises(NotFound):
        s.get(experiment.location, refresh=True)
    assert s.options["username"] == "alice"
    s.close()
    bob.close()


def test_page_001_create_update_associate_and_collide(live_server, conf):
    s = labstore.Session(
        {"location": live_server.url, "username": "alice", "password": "alice-password"},
        file_name=conf,
    )
    # The wrong way: set() leaves its argument without a location, so a second object appears.
    before = s.Lab.count()
    lab = s.Lab.new(name="A cool lab")
    s.set(lab)
    lab.name = "A really cool lab"
    s.set(lab)
    assert lab.location is None
    assert s.Lab.count() == before + 2
    # The right way: keep what set() returns.
    lab = s.set(s.Lab.new(name="Experiment One"))
    assert lab.location
    lab.name = "Experiment One (renamed)"
    lab = s.set(lab)
    assert s.Lab.count() == before + 3 and lab.version == 2
    # Associations are set on the one side.
    subject = s.set(s.Subject.new(nickname="Trial 01"))
    subject.lab = lab
    subject = s.set(subject)
    assert [x.location for x in lab.subjects] == [subject.location]
    # Update after get.
    fetched = s.get(subject.location)
    fetched.nickname = "Trial 100"
    updated = s.set(fetched)
    assert updated.location == subject.location and updated.nickname == "Trial 100"
    # A collision: someone else changed it since we fetched it.
    s.permissions(subject, {"shared_with": {"bob": 2}})  # G-Node's form: 2 is read-write
    other = labstore.Session(
        {"location": live_server.url, "username": "bob", "password": "bob-password"},
        file_name=conf.with_name("b.toml"),
    )
    theirs = other.get(subject.location)
    theirs.species = "rat"
    other.set(theirs)
    updated.nickname = "Trial 101"
    with pytest.raises(Conflict):
        s.set(updated, avoid_collisions=True)
    assert s.get(subject.location, refresh=True).nickname == "Trial 100"
    s.close()
    other.close()
