"""Links: serialisable references to objects, opened with the reader's own permissions."""

from __future__ import annotations

import json

import pytest

from labstore.client.links import Link
from labstore.errors import InvalidInput, NotFound


@pytest.fixture
def alice(make_user, make_session):
    make_user("alice", projects=("neuro",))
    return make_session("alice")


@pytest.fixture
def bob(make_user, make_session):
    make_user("bob", projects=("vision",))
    return make_session("bob")


def test_create_link_is_json_and_get_link_opens_it(alice):
    subject = alice.set(alice.Subject.new(nickname="ZM_1"))
    link = alice.create_link(subject)
    assert link == {
        "labstore_link": 1,
        "server": alice.url,
        "location": subject.location,
        "model": "experiment/subject",
    }
    stored = json.loads(json.dumps(link))  # survives a trip through JSON
    opened = alice.get_link(stored)
    assert isinstance(opened, Link)
    assert (opened.location, opened.server, opened.model) == (
        subject.location,
        alice.url,
        "experiment/subject",
    )
    obj = opened.get()
    assert obj.location == subject.location and obj.nickname == "ZM_1"
    assert opened.to_dict() == link
    assert alice.create_link(subject.location) == link  # a location works as well
    # Links compare by what they point at, not by the session that read them.
    assert opened == alice.get_link(link)


def test_a_link_grants_nothing(alice, bob, make_session):
    subject = alice.set(alice.Subject.new(nickname="secret"))
    alice.permissions(subject, {"safety_level": 1})
    link = alice.create_link(subject)
    opened = bob.get_link(link)  # reading the link itself is fine ...
    with pytest.raises(NotFound):
        opened.get()  # ... but the object stays hidden
    alice.share(subject, "bob")
    assert bob.get_link(link).get().nickname == "secret"
    other_alice = make_session("alice")
    assert other_alice.get_link(link).get().location == subject.location


def test_a_link_to_a_deleted_object(alice):
    lab = alice.set(alice.Lab.new(name="gone"))
    link = alice.create_link(lab)
    alice.delete(lab)
    with pytest.raises(NotFound):
        alice.get_link(link).get()


def test_create_link_needs_a_stored_object(alice):
    with pytest.raises(InvalidInput, match="never stored"):
        alice.create_link(alice.Lab.new(name="unsaved"))
    with pytest.raises(InvalidInput, match="expected an object or a location"):
        alice.create_link(12)


def good_link(session):
    return {
        "labstore_link": 1,
        "server": session.url,
        "location": "experiment/lab/0123456789",
        "model": "experiment/lab",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda link: ["not", "a", "dict"], "expected a dict"),
        (lambda link: None, "expected a dict"),
        (lambda link: json.dumps(link), "expected a dict"),
        (lambda link: {k: v for k, v in link.items() if k != "location"}, "missing location"),
        (lambda link: {}, "missing labstore_link, location, model, server"),
        (lambda link: {**link, "labstore_link": 2}, "version 2"),
        (lambda link: {**link, "labstore_link": "1"}, "version '1'"),
        (lambda link: {**link, "labstore_link": True}, "version True"),
        (lambda link: {**link, "location": "experiment/lab"}, "not of the form"),
        (lambda link: {**link, "location": "a/b/c/d"}, "not of the form"),
        (lambda link: {**link, "location": "experiment/lab/not an id!"}, "not of the form"),
        (lambda link: {**link, "location": 5}, "not of the form"),
        (lambda link: {**link, "model": "experiment/subject"}, "disagrees"),
        (lambda link: {**link, "server": ""}, "server must be a URL"),
        (lambda link: {**link, "server": None}, "server must be a URL"),
        (lambda link: {**link, "server": "https://elsewhere.example.org"}, "elsewhere"),
        (lambda link: {**link, "extra": 1}, "unknown key 'extra'"),
    ],
)
def test_malformed_links_are_invalid_input(alice, change, message):
    with pytest.raises(InvalidInput, match=message):
        alice.get_link(change(good_link(alice)))


def test_a_trailing_slash_is_the_same_server(alice):
    link = {**good_link(alice), "server": alice.url + "/"}
    assert alice.get_link(link).server == alice.url
