"""The Session against the real app in-process: pages 000 and 001 semantics on every database."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest

import labstore
from labstore.errors import (
    AuthenticationError,
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    QueryValidationError,
)
from tests.conftest import PASSWORD


@pytest.fixture
def alice(make_user, make_session):
    make_user("alice", projects=("neuro",))
    return make_session("alice")


def test_set_returns_a_new_instance_and_leaves_its_argument_unchanged(alice):
    lab = alice.Lab.new(name="cortexlab")
    stored = alice.set(lab)
    assert lab.location is None
    assert stored is not lab
    assert stored.location.startswith("experiment/lab/")
    assert stored.version == 1 and stored.owner == "alice"
    assert stored.project == "neuro"  # the user's only project is the current one


def test_set_of_a_stored_object_updates_it_and_never_duplicates(alice):
    block = alice.set(alice.Lab.new(name="A cool lab"))
    block.name = "A really cool lab"
    again = alice.set(block)
    assert again.location == block.location
    assert again.version == 2
    assert alice.Lab.count() == 1
    assert alice.get(block.location, refresh=True).name == "A really cool lab"


def test_the_pitfall_of_page_001_creates_two_objects(alice):
    """set() without using its result stores a second object: the argument has no location."""
    lab = alice.Lab.new(name="first")
    alice.set(lab)
    lab.name = "second"
    alice.set(lab)
    assert sorted(x.name for x in alice.Lab.all()) == ["first", "second"]


def test_avoid_collisions_raises_conflict_when_the_server_moved_on(alice, make_session):
    mine = alice.set(alice.Lab.new(name="lab", institution="UCL"))
    other = make_session("alice").get(mine.location)
    other.institution = "CSHL"
    make_session("alice").set(other)
    mine.name = "renamed"
    with pytest.raises(Conflict) as caught:
        alice.set(mine, avoid_collisions=True)
    assert caught.value.details["current_version"] == 2
    # Without the flag only changed fields are sent, so the other change survives.
    merged = alice.set(mine)
    assert (merged.name, merged.institution, merged.version) == ("renamed", "CSHL", 3)


def test_unchanged_object_with_avoid_collisions_checks_the_version(alice, make_session):
    mine = alice.set(alice.Lab.new(name="lab"))
    other = make_session("alice").get(mine.location)
    other.name = "changed"
    make_session("alice").set(other)
    with pytest.raises(Conflict):
        alice.set(mine, avoid_collisions=True)
    assert alice.set(mine).name == "changed"


def test_associations_are_made_on_the_one_side(alice):
    lab = alice.set(alice.Lab.new(name="lab"))
    subject = alice.set(alice.Subject.new(nickname="ZM_1"))
    subject.lab = lab
    subject = alice.set(subject)
    assert subject.lab.location == lab.location
    assert [s.location for s in lab.subjects] == [subject.location]
    with pytest.raises(AttributeError):
        lab.subjects.append(subject)  # a tuple: the many side cannot be assigned


def test_get_answers_from_the_cache_until_refresh(alice, make_session):
    lab = alice.set(alice.Lab.new(name="lab"))
    other = make_session("alice")
    changed = other.get(lab.location)
    changed.name = "changed elsewhere"
    other.set(changed)
    assert alice.get(lab.location).name == "lab"  # cached copy
    assert alice.get(lab.location, refresh=True).name == "changed elsewhere"
    alice.clear_cache()
    assert alice.get(lab.location).version == 2


def test_recursive_get_brings_the_subtree_into_the_cache(alice):
    subject = alice.set(alice.Subject.new(nickname="S"))
    experiments = [
        alice.set(alice.Experiment.new(subject=subject, date=f"2024-01-0{i}")) for i in (1, 2)
    ]
    dataset = alice.set(alice.Dataset.new(experiment=experiments[0], name="spikes.times.npy"))
    alice.clear_cache()
    root = alice.get(subject.location, recursive=True)
    assert root.nickname == "S"
    cached = alice._cache.get(dataset.location)
    assert cached is not None and cached["name"] == "spikes.times.npy"


def test_set_recursive_stores_unsaved_parents_in_one_batch(alice):
    lab = alice.Lab.new(name="new lab")
    subject = alice.Subject.new(nickname="new", lab=lab)
    experiment = alice.Experiment.new(subject=subject, date=dt.date(2024, 5, 6))
    with pytest.raises(InvalidInput, match="not stored yet"):
        alice.set(experiment)
    stored = alice.set(experiment, recursive=True)
    assert stored.location and stored.subject.lab.name == "new lab"
    assert (alice.Lab.count(), alice.Subject.count(), alice.Experiment.count()) == (1, 1, 1)
    assert experiment.location is None


def test_select_with_filters(alice):
    lab = alice.set(alice.Lab.new(name="cortexlab"))
    for name in ("ZM_1", "ZM_2", "KS_1"):
        alice.set(alice.Subject.new(nickname=name, lab=lab))
    found = alice.select("subject", {"nickname__startswith": "ZM"})
    assert sorted(s.nickname for s in found) == ["ZM_1", "ZM_2"]
    assert len(alice.select("Subject", {"lab__name__icontains": "CORTEX"})) == 3
    assert len(alice.select("experiment/subject", {"nickname__in": ["ZM_1", "KS_1"]})) == 2
    assert (
        alice.select("subject", {"lab": lab})
        and alice.select("subject", {"lab__isnull": True}) == []
    )
    with pytest.raises(QueryValidationError, match="nick"):
        alice.select("subject", {"nick": "x"})
    with pytest.raises(NotFound):
        alice.select("no_such_model")


def test_delete(alice):
    lab = alice.set(alice.Lab.new(name="lab"))
    alice.delete(lab)
    with pytest.raises(NotFound):
        alice.get(lab.location)
    with pytest.raises(NotFound):
        alice.delete(lab)


def test_model_interfaces(alice):
    sample_type = alice.set(alice.SampleType.new(name="Primer"))
    samples = [alice.set(alice.Sample.new(name=f"p{i}", sample_type=sample_type)) for i in range(5)]
    assert alice.Sample.count() == 5
    assert alice.Sample.count({"name__in": ["p1", "p2"]}) == 2
    assert alice.Sample.one().location == samples[0].location
    assert [s.name for s in alice.Sample.first(2)] == ["p0", "p1"]
    assert [s.name for s in alice.Sample.last(2)] == ["p3", "p4"]
    assert alice.Sample.find(samples[3].id).name == "p3"
    assert alice.Sample.find("NOSUCHID00") is None
    assert [s.name for s in alice.Sample.where({"name__gte": "p3"})] == ["p3", "p4"]
    assert [s.name for s in alice.Sample.all()] == [f"p{i}" for i in range(5)]
    assert alice.model_interface("sample") is alice.Sample
    assert "SampleType" in alice.models
    assert [s.name for s in sample_type.samples] == [f"p{i}" for i in range(5)]
    with pytest.raises(AttributeError, match="NoSuchModel"):
        alice.NoSuchModel  # noqa: B018


def test_all_iterates_pages_lazily(alice, monkeypatch):
    import labstore.client.session as session_module

    monkeypatch.setattr(session_module, "_PAGE", 3)
    sample_type = alice.set(alice.SampleType.new(name="T"))
    for i in range(8):
        alice.set(alice.Sample.new(name=f"s{i:02d}", sample_type=sample_type))
    names = [s.name for s in alice.Sample.all()]
    assert names == [f"s{i:02d}" for i in range(8)]
    assert [s.name for s in alice.Sample.last(4)] == [f"s{i:02d}" for i in range(4, 8)]


def test_objects_are_typed_and_checked(alice):
    subject = alice.Subject.new(nickname="x", birth_date="2024-01-02")
    assert subject.birth_date == dt.date(2024, 1, 2)
    with pytest.raises(InvalidInput):
        subject.birth_date = "yesterday"
    with pytest.raises(InvalidInput):
        subject.sex = "X"
    with pytest.raises(AttributeError, match="nickname"):
        subject.nick = "typo"
    with pytest.raises(AttributeError):
        subject.version = 3
    stored = alice.set(subject)
    assert isinstance(stored.created, dt.datetime) and stored.created.tzinfo is not None
    assert "nickname='x'" in repr(stored) and stored.location in repr(stored)


def test_refresh_and_refresh_until(alice, make_session):
    lab = alice.set(alice.Lab.new(name="lab", institution="UCL"))
    other = make_session("alice")
    changed = other.get(lab.location)
    changed.institution = "done"
    other.set(changed)
    assert alice.refresh(lab).institution == "done"
    assert lab.institution == "UCL"
    assert alice.refresh_until(lab, "institution", "done", timeout=2, sleep_time=0.01).version == 2
    with pytest.raises(TimeoutError):
        alice.refresh_until(lab, "institution", "never", timeout=0.05, sleep_time=0.01)


def test_identity_helpers(alice):
    assert alice.logged_in() and alice.is_authenticated()
    assert alice.current_user.username == "alice"
    profile = alice.get_user_profile()
    assert profile["username"] == "alice" and profile["projects"] == ["neuro"]
    assert alice.get_current_project().name == "neuro"
    assert isinstance(alice.ping(2), int)
    assert alice.url == "http://testserver"
    assert "password" not in alice.options and alice.options["username"] == "alice"
    alice.set_timeout(5)
    assert alice.options["request_timeout"] == 5.0


def test_token_is_cached_so_the_next_session_needs_no_password(alice, make_session, tmp_path):
    tokens = tmp_path / "client" / "tokens.json"
    assert stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    assert PASSWORD not in tokens.read_text()
    again = make_session("alice", password=None)
    assert again.is_authenticated() and again.current_user.username == "alice"
    again.logout()
    assert not make_session("alice", password=None).is_authenticated()


def test_reconnect_logs_in_again_after_the_token_is_revoked(alice):
    alice._request("DELETE", "/api/auth/token")
    assert not alice.is_authenticated()
    assert alice.is_authenticated(reconnect=True)


def test_wrong_password_and_anonymous_requests(make_user, make_session):
    make_user("bob")
    with pytest.raises(AuthenticationError):
        make_session("bob", password="wrong")
    anonymous = make_session()
    assert not anonymous.logged_in() and anonymous.current_user is None
    assert anonymous.select("lab") == []  # anonymous readers see public objects only
    with pytest.raises(AuthenticationError):
        anonymous.set(anonymous.Lab.new(name="x"))


def test_options_persist_without_the_password(make_user, make_session, tmp_path):
    make_user("carol")
    config = tmp_path / "client" / "config.toml"
    session = make_session("carol")
    labstore.client.config.persist_options(session._options, config)
    text = config.read_text()
    assert "carol" in text and PASSWORD not in text
    again = make_session(password=None)  # location and username come from the config file
    assert again.options["username"] == "carol" and again.is_authenticated()


def test_users_do_not_see_each_others_objects(alice, make_user, make_session):
    lab = alice.set(alice.Lab.new(name="private"))
    make_user("eve")
    eve = make_session("eve")
    assert eve.Lab.count() == 0
    with pytest.raises(NotFound):
        eve.get(lab.location)
    make_user("bob", projects=("neuro",))
    assert make_session("bob").get(lab.location).name == "private"


def test_errors_and_a_closed_session(alice):
    with pytest.raises(InvalidInput):
        alice.get("not-a-location")
    with pytest.raises(InvalidInput):
        alice.set({"name": "a dict is not an object"})
    alice.close()
    with pytest.raises(ConfigError, match="closed"):
        alice.select("lab")


def test_login_asks_for_the_password_without_echo(make_user, app, tmp_path, monkeypatch):
    from tests.support.inprocess import AppTransport

    make_user("dora")
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or PASSWORD)
    config = tmp_path / "login" / "config.toml"
    s = labstore.login("http://testserver", "dora", file_name=config, transport=AppTransport(app))
    assert s.current_user.username == "dora"
    assert asked and "dora" in asked[0]
    assert PASSWORD not in config.read_text() and "dora" in config.read_text()
    again = labstore.Session.from_profile("default", file_name=config, transport=AppTransport(app))
    assert again.is_authenticated()
    with pytest.raises(ConfigError, match="no profile"):
        labstore.Session.from_profile("nope", file_name=config)
    assert labstore.get_profile_config(file_name=config)["username"] == "dora"


def test_users_without_a_single_project_create_objects_without_one(make_user, make_session):
    make_user("zed", projects=("p1", "p2"))
    zed = make_session("zed")
    assert zed.get_current_project() is None
    assert zed.set(zed.Lab.new(name="lab-of-zed")).project is None
    chosen = make_session("zed", project="p2")
    assert chosen.set(chosen.Lab.new(name="lab-in-p2")).project == "p2"
