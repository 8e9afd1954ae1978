"""The REST object API: CRUD with versions and ETags, listing with filters and cursors, batch."""

from __future__ import annotations

import string
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture
def alice(make_user, token_for):
    make_user("alice", projects=("neuro",))
    return token_for("alice")


def create(api, headers, model, **data):
    answer = api.post(f"/api/{model}", json=data, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_create_get_and_etags(api, alice):
    lab = create(api, alice, "experiment/lab", name="cortexlab", project="neuro")
    assert lab["location"] == f"experiment/lab/{lab['id']}"
    assert len(lab["id"]) == 10 and lab["id"].isalnum() and lab["id"].isupper()
    assert lab["version"] == 1 and lab["owner"] == "alice" and lab["project"] == "neuro"
    assert lab["created"].endswith("Z") and lab["created"] == lab["modified"]
    got = api.get(f"/api/{lab['location']}", headers=alice)
    assert got.status_code == 200 and got.headers["etag"] == '"1"' and got.json() == lab
    cached = api.get(f"/api/{lab['location']}", headers={**alice, "If-None-Match": '"1"'})
    assert cached.status_code == 304 and cached.content == b""


def test_patch_put_and_if_match(api, alice):
    lab = create(api, alice, "experiment/lab", name="lab", institution="UCL")
    url = f"/api/{lab['location']}"
    patched = api.patch(
        url, json={"timezone": "Europe/London"}, headers={**alice, "If-Match": '"1"'}
    )
    assert patched.status_code == 200
    assert patched.json()["version"] == 2 and patched.json()["institution"] == "UCL"
    assert patched.json()["modified"] > lab["modified"]
    stale = api.patch(url, json={"name": "x"}, headers={**alice, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["error"]["details"]["current_version"] == 2
    replaced = api.put(url, json={"name": "renamed"}, headers=alice)
    assert replaced.status_code == 200
    body = replaced.json()
    # PUT replaces every field: omitted ones return to their defaults.
    assert (body["name"], body["institution"], body["timezone"], body["version"]) == (
        "renamed",
        None,
        "UTC",
        3,
    )
    # A whole object sent back (server-set keys included) is accepted; those keys are ignored.
    echoed = api.put(url, json={**body, "version": 99, "owner": "mallory"}, headers=alice)
    assert echoed.status_code == 200 and echoed.json()["owner"] == "alice"
    assert echoed.json()["version"] == 4


def test_delete_rules(api, alice):
    lab = create(api, alice, "experiment/lab", name="lab")
    subject = create(api, alice, "experiment/subject", nickname="S", lab=lab["location"])
    experiment = create(
        api, alice, "experiment/experiment", subject=subject["location"], date="2024-01-01"
    )
    file = create(api, alice, "core/file", name="f.bin", size=3)
    dataset = create(
        api,
        alice,
        "experiment/dataset",
        experiment=experiment["location"],
        name="d",
        file=file["location"],
    )
    # protect: a lab with subjects stays
    assert api.delete(f"/api/{lab['location']}", headers=alice).status_code == 409
    # set_null: deleting the file clears the dataset's link and bumps its version
    assert api.delete(f"/api/{file['location']}", headers=alice).status_code == 204
    after = api.get(f"/api/{dataset['location']}", headers=alice).json()
    assert after["file"] is None and after["version"] == 2
    # cascade: deleting the experiment deletes its datasets
    assert api.delete(f"/api/{experiment['location']}", headers=alice).status_code == 204
    assert api.get(f"/api/{dataset['location']}", headers=alice).status_code == 404
    stale = api.delete(f"/api/{subject['location']}", headers={**alice, "If-Match": '"7"'})
    assert stale.status_code == 412
    assert api.delete(f"/api/{subject['location']}", headers=alice).status_code == 204
    assert api.delete(f"/api/{lab['location']}", headers=alice).status_code == 204


def test_recursive_get_returns_the_subtree(api, alice):
    subject = create(api, alice, "experiment/subject", nickname="S")
    experiment = create(
        api, alice, "experiment/experiment", subject=subject["location"], date="2024-01-01"
    )
    dataset = create(api, alice, "experiment/dataset", experiment=experiment["location"], name="d")
    tree = api.get(f"/api/{subject['location']}", params={"recursive": 1}, headers=alice).json()
    assert [o["location"] for o in tree["objects"]] == [
        subject["location"],
        experiment["location"],
        dataset["location"],
    ]


def test_filters_across_relations_and_lookups(api, alice):
    labs = {n: create(api, alice, "experiment/lab", name=n) for n in ("cortexlab", "mainenlab")}
    subjects = {}
    for nickname, lab in (("ZM_1", "cortexlab"), ("ZM_2", "cortexlab"), ("KS_9", "mainenlab")):
        subjects[nickname] = create(
            api, alice, "experiment/subject", nickname=nickname, lab=labs[lab]["location"], sex="F"
        )
    for i, nickname in enumerate(("ZM_1", "ZM_1", "KS_9")):
        create(
            api,
            alice,
            "experiment/experiment",
            subject=subjects[nickname]["location"],
            date=f"2024-02-0{i + 1}",
            number=i,
            projects=["ibl", f"p{i}"],
        )

    def names(model, **params):
        items = api.get(f"/api/{model}", params=params, headers=alice).json()["items"]
        return sorted(i.get("nickname") or i.get("date") for i in items)

    subject = "experiment/subject"
    experiment = "experiment/experiment"
    assert names(subject, lab__name="cortexlab") == ["ZM_1", "ZM_2"]
    assert names(subject, lab__name__iexact="MAINENLAB") == ["KS_9"]
    assert names(subject, nickname__contains="M_") == ["ZM_1", "ZM_2"]
    assert names(subject, nickname__contains="m_") == []  # contains is case-sensitive
    assert names(subject, nickname__icontains="m_") == ["ZM_1", "ZM_2"]
    assert names(subject, nickname__endswith="_9") == ["KS_9"]
    assert names(subject, nickname__in="ZM_2,KS_9") == ["KS_9", "ZM_2"]
    assert names(subject, experiments__date__gte="2024-02-02") == ["KS_9", "ZM_1"]
    assert names(subject, experiments__isnull="true") == ["ZM_2"]
    assert names(subject, experiments__isnull="false") == ["KS_9", "ZM_1"]
    assert names(subject, experiments__number=2, experiments__date="2024-02-03") == ["KS_9"]
    # Both conditions must hold for the same experiment: none has number 2 on Feb 1.
    assert names(subject, experiments__number=2, experiments__date="2024-02-01") == []
    assert names(experiment, subject__lab__name="cortexlab") == ["2024-02-01", "2024-02-02"]
    assert names(experiment, date__range="2024-02-02,2024-02-03") == ["2024-02-02", "2024-02-03"]
    assert names(experiment, number__lt=1) == ["2024-02-01"]
    assert names(experiment, projects__contains="p1") == ["2024-02-02"]
    assert names(experiment, lab__isnull="true") == ["2024-02-01", "2024-02-02", "2024-02-03"]
    assert names(subject, owner="alice", project__isnull="true") == ["KS_9", "ZM_1", "ZM_2"]
    count = api.get(f"/api/{subject}/count", params={"nickname__startswith": "ZM"}, headers=alice)
    assert count.json() == {"count": 2}


def test_order_by_and_cursor_pages_are_stable(api, alice):
    sample_type = create(api, alice, "inventory/sample_type", name="Primer")
    for i in range(23):
        create(
            api,
            alice,
            "inventory/sample",
            name=f"s{(i * 7) % 23:02d}",
            sample_type=sample_type["location"],
        )
    for order in ("name", "-name", "created", "-created,name"):
        seen, cursor = [], None
        while True:
            params = {"order_by": order, "limit": 5, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/inventory/sample", params=params, headers=alice).json()
            seen += [i["name"] for i in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
            # A row created mid-listing never shifts or repeats the pages that follow.
        assert len(seen) == 23 and len(set(seen)) == 23
        if order == "name":
            assert seen == sorted(seen)
        if order == "-name":
            assert seen == sorted(seen, reverse=True)
    first = api.get(
        "/api/inventory/sample", params={"order_by": "name", "limit": 5}, headers=alice
    ).json()
    mismatched = api.get(
        "/api/inventory/sample",
        params={"order_by": "-name", "cursor": first["next"]},
        headers=alice,
    )
    assert mismatched.status_code == 400


def test_null_values_order_first_and_page_correctly(api, alice):
    for i, institution in enumerate([None, "b", None, "a", "c"]):
        create(api, alice, "experiment/lab", name=f"lab{i}", institution=institution)
    for order, expected in (
        ("institution", [None, None, "a", "b", "c"]),
        ("-institution", ["c", "b", "a", None, None]),
    ):
        seen, cursor = [], None
        while True:
            params = {"order_by": order, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/experiment/lab", params=params, headers=alice).json()
            seen += [i["institution"] for i in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == expected


def test_batch_with_references_in_any_order(api, alice):
    lab = create(api, alice, "experiment/lab", name="lab")
    body = {
        "objects": [
            {"model": "experiment/dataset", "data": {"experiment": {"ref": "e"}, "name": "d"}},
            {
                "model": "experiment/experiment",
                "ref": "e",
                "data": {"subject": {"ref": "s"}, "date": "2024-01-01"},
            },
            {
                "model": "experiment/subject",
                "ref": "s",
                "data": {"nickname": "S", "lab": lab["location"]},
            },
            {"location": lab["location"], "if_match": 1, "data": {"institution": "UCL"}},
        ]
    }
    answer = api.post("/api/batch", json=body, headers=alice)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [o["model"] for o in result["objects"]] == [
        "experiment/dataset",
        "experiment/experiment",
        "experiment/subject",
        "experiment/lab",
    ]
    assert result["objects"][0]["experiment"] == result["refs"]["e"]
    assert result["objects"][1]["subject"] == result["refs"]["s"]
    assert result["objects"][3]["version"] == 2


LIKE_TEXT = st.text(alphabet=string.ascii_letters[:6] + "%_\\ ", min_size=0, max_size=6)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    needle=LIKE_TEXT.filter(bool),
    names=st.lists(LIKE_TEXT.filter(bool), min_size=1, max_size=6, unique=True),
)
def test_text_lookups_agree_with_python(api, alice, needle, names):
    """contains/startswith/... match Python's semantics, LIKE wildcards included."""
    prefix = f"{uuid.uuid4().int}:"  # digits: no needle can match inside the prefix
    for name in names:
        create(api, alice, "experiment/lab", name=prefix + name)
    checks = {
        "contains": (needle, lambda n: needle in n),
        "icontains": (needle, lambda n: needle.lower() in n.lower()),
        "startswith": (prefix + needle, lambda n: n.startswith(needle)),
        "endswith": (needle, lambda n: n.endswith(needle)),
        "iexact": (prefix + needle, lambda n: n.lower() == needle.lower()),
    }
    for lookup, (value, expected) in checks.items():
        params = {f"name__{lookup}": value, "limit": 100}
        if lookup != "startswith":
            params["name__startswith"] = prefix
        items = api.get("/api/experiment/lab", params=params, headers=alice).json()["items"]
        got = sorted(i["name"].removeprefix(prefix) for i in items)
        assert got == sorted(n for n in names if expected(n)), lookup
