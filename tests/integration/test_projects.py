"""Projects: who creates them, who manages members, and what membership grants."""

from __future__ import annotations


def test_projects_and_members(api, make_user, token_for):
    make_user("root", admin=True)
    make_user("alice")
    make_user("bob")
    root, alice, bob = token_for("root"), token_for("alice"), token_for("bob")

    refused = api.post("/api/projects", json={"name": "neuro"}, headers=alice)
    assert refused.status_code == 403  # neither a site nor a project administrator

    made = api.post(
        "/api/projects",
        json={"name": "neuro", "members": ["alice"], "description": "spikes"},
        headers=root,
    )
    assert made.status_code == 201, made.text
    assert {m["username"]: m["role"] for m in made.json()["members"]} == {
        "alice": "member",
        "root": "admin",
    }
    assert api.post("/api/projects", json={"name": "neuro"}, headers=root).status_code == 409
    assert api.get("/api/me", headers=alice).json()["projects"] == ["neuro"]

    # A member cannot manage members; an admin of the project can, and can then make projects.
    assert api.put("/api/projects/neuro/members/bob", json={}, headers=alice).status_code == 403
    promoted = api.put("/api/projects/neuro/members/alice", json={"role": "admin"}, headers=root)
    assert promoted.status_code == 200
    alice = token_for("alice")
    added = api.put("/api/projects/neuro/members/bob", json={"role": "member"}, headers=alice)
    assert {m["username"] for m in added.json()["members"]} == {"alice", "bob", "root"}
    assert api.post("/api/projects", json={"name": "side"}, headers=alice).status_code == 201

    # Membership grants reading friendly objects of the project.
    lab = api.post("/api/experiment/lab", json={"name": "L", "project": "neuro"}, headers=alice)
    location = lab.json()["location"]
    assert api.get(f"/api/{location}", headers=bob).status_code == 200
    assert api.delete("/api/projects/neuro/members/bob", headers=alice).status_code == 204
    bob = token_for("bob")
    assert api.get(f"/api/{location}", headers=bob).status_code == 404


def test_bad_project_requests(api, make_user, token_for):
    make_user("root", admin=True)
    root = token_for("root")
    for body, path in (
        ({}, "name"),
        ({"name": "x", "members": "alice"}, "members"),
        ({"name": "Bad Name"}, "name"),
        ({"name": "x", "members": ["ghost"]}, "member"),
    ):
        answer = api.post("/api/projects", json=body, headers=root)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["details"]["path"] == path
    assert api.get("/api/projects/nope", headers=root).status_code == 404
    bad_role = api.put("/api/projects/nope/members/root", json={"role": "king"}, headers=root)
    assert bad_role.status_code == 400
    assert api.get("/api/projects/x", headers=root).status_code == 404  # nothing was made
