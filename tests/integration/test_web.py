"""The web UI's server side: its pages, its login cookie, and what the cookie may do.

The pages are drawn in the browser from ``/api`` (tests/e2e/test_browser.py drives them in
Chromium); here the real app answers the page requests, and the cookie is checked to open
exactly what a bearer token opens, and to change nothing without the web UI's header.
"""

from __future__ import annotations

import hashlib
import webbrowser

import pytest

from labstore.server.state import TOKEN_COOKIE, WEB_HEADER
from tests.conftest import PASSWORD

WEB = {WEB_HEADER: "1"}


@pytest.fixture
def alice(make_user):
    return make_user("alice", projects=("neuro",))


def web_login(api, name):
    answer = api.post("/login", json={"username": name, "password": PASSWORD}, headers=WEB)
    assert answer.status_code == 200, answer.text
    return answer


def test_pages_are_one_shell_without_data(api):
    pages = ["/", "/login", "/browse", "/browse/neuro/raw", "/search", "/search/experiment/lab"]
    bodies = set()
    for path in pages:
        answer = api.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
        bodies.add(answer.text)
    assert len(bodies) == 1 and '<script type="module" src="/static/app.js">' in bodies.pop()
    for script in ("app.js", "api.js", "state.js", "search.js", "object.js", "plot.js"):
        answer = api.get(f"/static/{script}")
        assert answer.status_code == 200, script
        assert "javascript" in answer.headers["content-type"]
    assert api.get("/static/style.css").status_code == 200
    assert api.get("/static/nothing.js").status_code == 404
    assert api.get("/no-such-page").status_code == 404


def test_login_cookie_is_http_only_and_strict(api, alice):
    cookie = web_login(api, alice).headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
        assert attribute in cookie, cookie
    assert api.get("/api/me").json()["username"] == "alice"


def test_login_needs_the_web_header_and_the_right_password(api, alice):
    answer = api.post("/login", json={"username": alice, "password": PASSWORD})
    assert answer.status_code == 403 and WEB_HEADER in answer.json()["error"]["message"]
    assert TOKEN_COOKIE not in answer.cookies
    answer = api.post("/login", json={"username": alice, "password": "wrong"}, headers=WEB)
    assert answer.status_code == 401 and TOKEN_COOKIE not in answer.cookies
    answer = api.post("/login", json={"username": alice}, headers=WEB)
    assert answer.status_code == 400 and answer.json()["error"]["details"]["path"] == "password"


def test_cookie_changes_need_the_web_header(api, alice):
    web_login(api, alice)
    refused = api.post("/api/experiment/lab", json={"name": "cortexlab"})
    assert refused.status_code == 403
    assert WEB_HEADER in refused.json()["error"]["message"]
    assert api.get("/api/experiment/lab/count").json() == {"count": 0}  # nothing was made
    made = api.post("/api/experiment/lab", json={"name": "cortexlab"}, headers=WEB)
    assert made.status_code == 201 and made.json()["owner"] == "alice"
    # A bearer token needs no such header: scripts are not browsers.
    assert api.post("/logout").status_code == 403  # logging out is a change too
    assert api.post("/logout", headers=WEB).status_code == 204
    assert api.get("/api/me").status_code == 401  # the token is revoked, not only forgotten


def test_object_pages_answer_404_exactly_when_the_api_does(api, make_user, token_for, alice):
    make_user("bob", projects=("vision",))
    bob = token_for("bob")
    secret, public = (
        api.post("/api/experiment/lab", json={"name": name}, headers=bob).json()["location"]
        for name in ("secret", "open")
    )
    for location, level in ((secret, 1), (public, 3)):
        answer = api.put(f"/api/{location}/permissions", json={"safety_level": level}, headers=bob)
        assert answer.status_code == 200, answer.text
    # anonymous, then alice (a stranger), then bob (the owner)
    assert api.get(f"/objects/{secret}").status_code == 404
    assert api.get(f"/objects/{public}").status_code == 200
    web_login(api, alice)
    assert api.get(f"/api/{secret}").status_code == 404
    assert api.get(f"/objects/{secret}").status_code == 404
    assert api.get(f"/objects/{public}").status_code == 200
    web_login(api, "bob")
    assert api.get(f"/objects/{secret}").status_code == 200
    for missing in ("experiment/lab/NOSUCHID00", "no/model/X", "experiment/lab/bad!id"):
        assert api.get(f"/objects/{missing}").status_code == 404, missing
    # A stale cookie is an anonymous visitor to the page (which then asks to log in).
    api.cookies.set(TOKEN_COOKIE, "not-a-token")
    assert api.get(f"/objects/{secret}").status_code == 404
    assert api.get(f"/objects/{public}").status_code == 200


def test_my_permissions(api, make_user, token_for, alice):
    make_user("bob", projects=("neuro",))
    owner, member = token_for("alice"), token_for("bob")
    lab = api.post(
        "/api/experiment/lab", json={"name": "cortexlab", "project": "neuro"}, headers=owner
    ).json()
    mine = f"/api/{lab['location']}/permissions/mine"
    assert api.get(mine, headers=owner).json() == {
        "location": lab["location"],
        "permissions": ["delete", "read", "share", "write"],
    }
    answer = api.get(mine, headers=member)
    assert answer.status_code == 200, answer.text
    assert answer.json()["permissions"] == ["read"]
    assert api.get(mine).status_code == 404  # friendly: hidden from anonymous readers
    api.post(f"/api/{lab['location']}/shares", json={"with": "bob", "permissions": ["write"]},
             headers=owner)  # fmt: skip
    assert api.get(mine, headers=member).json()["permissions"] == ["read", "write"]


def test_session_open_opens_the_object_page(make_session, alice, monkeypatch, api):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    s = make_session(alice)
    lab = s.set(s.Lab.new(name="cortexlab"))
    assert s.open() == "http://testserver/"
    assert s.open(lab) == f"http://testserver/objects/{lab.location}"
    assert s.open(lab.location) == opened[-1]
    assert opened == ["http://testserver/", *[f"http://testserver/objects/{lab.location}"] * 2]
    web_login(api, alice)
    assert api.get(opened[-1].removeprefix("http://testserver")).status_code == 200


def test_file_download_links_work_with_the_cookie(api, alice):
    web_login(api, alice)
    content = b"a file's bytes"
    sha = hashlib.sha256(content).hexdigest()
    assert api.put(f"/api/blobs/{sha}", content=content, headers=WEB).status_code == 201
    made = api.post(
        "/api/core/file",
        json={"name": "notes.txt", "sha256": sha, "size": len(content)},
        headers=WEB,
    )
    assert made.status_code == 201, made.text
    # The object page's download link is a plain GET: the cookie alone opens it.
    assert api.get(f"/api/blobs/{sha}").content == content
    api.cookies.clear()
    assert api.get(f"/api/blobs/{sha}").status_code == 404
