"""The web UI in a real headless Chromium against a real server process.

One browser per module (each test gets fresh contexts, i.e. fresh cookies); the server is the
e2e ``live_server`` on SQLite only: the pages read through the same API whose database
variants the other tests cover. Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

import labstore
from tests.integration.test_arrays import npy
from tests.support.browser import chromium, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("live_server", ["sqlite"], indirect=True, scope="module"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def alice_session(live_server, tmp_path_factory) -> Iterator[labstore.Session]:
    folder = tmp_path_factory.mktemp("alice")
    options = {"location": live_server.url, "username": "alice", "password": "alice-password"}
    with labstore.Session(options, file_name=folder / "config.toml") as session:
        yield session


@pytest.fixture(scope="module")
def data(alice_session) -> dict[str, Any]:
    """A lab, a subject filed in /neuro/raw, and two experiments of it, made by alice."""
    s = alice_session
    lab = s.set(s.Lab.new(name="cortexlab"))
    subject = s.set(s.Subject.new(nickname="ZM_4242", lab=lab, species="mouse"))
    experiments = [
        s.set(s.Experiment.new(subject=subject, date=f"2024-05-0{i}", task_protocol="passive"))
        for i in (1, 2)
    ]
    s.create_paths("/neuro/raw")
    s.assign_paths({"entity": subject, "path": "/neuro/raw"})
    return {"lab": lab, "subject": subject, "experiments": experiments}


class Visitor:
    """A browser tab of one user, failing the test on any script error."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1200, "height": 900}
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def log_in(self, username: str, password: str) -> None:
        self.page.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_selector(f"#username:text-is('{username}')")

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors


@pytest.fixture
def visitor(browser, live_server) -> Iterator[Any]:
    opened: list[Visitor] = []

    def open_tab() -> Visitor:
        opened.append(Visitor(browser, live_server.url))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.close()


def test_log_in_browse_and_open_an_object(visitor, data):
    alice = visitor()
    alice.log_in("alice", "alice-password")
    page = alice.page
    page.wait_for_selector("text=neuro")
    screenshot(page, "home")
    page.click("header >> text=Browse")
    page.click("a:text-is('📁 neuro')")
    page.click("a:text-is('📁 raw')")
    page.wait_for_selector("h1:text-is('/neuro/raw')")
    screenshot(page, "browse")
    page.click("a:text-is('ZM_4242')")
    page.wait_for_selector("#title:text-is('ZM_4242')")
    assert page.url.endswith(f"/objects/{data['subject'].location}")
    assert page.inner_text("[data-field=species]") == "mouse"
    assert page.inner_text("#path") == "/neuro/raw/ZM_4242"
    # The experiments below it are listed; the lab is a link to its own page.
    tree = page.inner_text("[data-children='experiment/experiment']")
    assert "experiments (2)" in tree
    screenshot(page, "object")
    page.click("a.relation")
    page.wait_for_selector("#title:text-is('cortexlab')")
    assert "ZM_4242" in page.inner_text("[data-children='experiment/subject']")


def test_search_with_filters_and_tag(visitor, data, alice_session):
    alice = visitor()
    alice.log_in("alice", "alice-password")
    page = alice.page
    page.goto("/search/experiment/experiment")
    page.fill(".filter [name=field]", "date")
    page.select_option(".filter [name=lookup]", "gte")
    page.fill(".filter [name=value]", "2024-05-02")
    page.click("#search button[type=submit]")
    page.wait_for_selector("#summary:text-is('1 found')")
    assert "date__gte=2024-05-02" in page.url
    screenshot(page, "search")
    # Open the one result and tag it.
    page.click("#results a >> nth=0")
    page.wait_for_selector("#add-tag")
    page.fill("#add-tag [name=tag]", "good")
    page.click("#add-tag button")
    page.wait_for_selector("#tags .tag:has-text('good')")
    assert alice_session.list_tags(data["experiments"][1]) == [{"tag": "good", "project": None}]


def test_sharing_and_a_private_page_another_user_cannot_reach(visitor, data, alice_session):
    lab = alice_session.set(alice_session.Lab.new(name="private-lab"))
    url = f"/objects/{lab.location}"
    alice, bob = visitor(), visitor()
    alice.log_in("alice", "alice-password")
    bob.log_in("bob", "bob-password")
    # friendly: bob, a member of neuro, may read it but not change its sharing
    assert bob.page.goto(url).status == 200
    bob.page.wait_for_selector("#title:text-is('private-lab')")
    assert bob.page.locator("#safety-form").count() == 0
    # alice makes it private in the page
    page = alice.page
    page.goto(url)
    page.select_option("#safety-form select", "1")
    page.click("#safety-form button")
    page.wait_for_selector("#safety-level:has-text('1 private')")
    assert alice_session.permissions(lab)["safety_level"] == 1
    screenshot(page, "sharing")
    answer = bob.page.goto(url)
    assert answer.status == 404
    bob.page.wait_for_selector("h1:text-is('Not found')")
    assert "private-lab" not in bob.page.content()
    screenshot(bob.page, "not-found")
    # shared with bob in the page: he sees it again
    page.fill("#share-form [name=with]", "bob")
    page.click("#share-form button")
    page.wait_for_selector("#shares td:text-is('bob')")
    assert bob.page.goto(url).status == 200
    bob.page.wait_for_selector("#title:text-is('private-lab')")
    # logging out ends the cookie's token
    page.click("#logout")
    page.wait_for_selector("form.login")
    assert page.goto(url).status == 404


def api_post(live_server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create an object as alice over plain REST (the ephys pack's raw array references)."""
    token = httpx.post(
        f"{live_server.url}/api/auth/token",
        json={"username": "alice", "password": "alice-password"},
    ).json()["token"]
    made = httpx.post(
        f"{live_server.url}{path}", headers={"Authorization": f"Bearer {token}"}, json=body
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


# How many pixels of a canvas are not blank.
DRAWN_PIXELS = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas.width || !canvas.height) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) drawn++;
  return drawn;
}"""


def test_signal_plot_zooms_by_asking_for_the_visible_range(visitor, live_server, alice_session):
    samples = np.sin(np.arange(200_000) / 300.0)[:, None].astype("<f4")
    samples[150_000, 0] = 5.0
    data, ref = npy(samples)
    assert alice_session.blobs.put(data) == ref["sha256"]
    made = api_post(live_server, "/api/ephys/analogsignal", {
        "name": "lfp", "signal": ref, "units": "mV", "sampling_rate": 1000.0,
        "sampling_rate_units": "Hz", "t_start": 0.0, "t_start_units": "s",
    })  # fmt: skip
    alice = visitor()
    alice.log_in("alice", "alice-password")
    page = alice.page
    envelopes: list[str] = []
    page.on("request", lambda r: "/envelope?" in r.url and envelopes.append(r.url))
    page.goto(f"/objects/{made['location']}")
    plot = page.locator(".plot[data-field=signal]")
    plot.locator("text=samples 0 to 200000 of 200000").wait_for()
    assert plot.get_attribute("data-ready") == "1"
    assert page.evaluate(DRAWN_PIXELS, ".plot[data-field=signal] canvas") > 1000
    screenshot(page, "signal")
    # Zoom in around the middle with the wheel: the page asks for the visible rows only.
    box = plot.locator("canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -200)
    plot.locator("text=samples 50000 to 150000 of 200000").wait_for()
    assert "start=50000" in envelopes[-1] and "stop=150000" in envelopes[-1]
    assert len(envelopes) == 2


def test_spike_times_are_drawn_as_ticks(visitor, live_server, alice_session):
    times = np.sort(np.random.default_rng(3).uniform(0, 60, 5000))
    data, ref = npy(times)
    alice_session.blobs.put(data)
    train = api_post(live_server, "/api/ephys/spiketrain", {
        "name": "unit 7", "times": ref, "units": "s", "t_start": 0.0, "t_start_units": "s",
        "t_stop": 60.0, "t_stop_units": "s",
    })  # fmt: skip
    alice = visitor()
    alice.log_in("alice", "alice-password")
    page = alice.page
    page.goto(f"/objects/{train['location']}")
    page.locator(".plot[data-field=times][data-ready='1']").wait_for()
    assert page.evaluate(DRAWN_PIXELS, ".plot[data-field=times] canvas") > 1000
    screenshot(page, "spiketrain")


def test_odml_metadata_is_a_tree(visitor, alice_session):
    import odml

    document = odml.Document(author="alice")
    subject = odml.Section(name="Subject", type="subject", parent=document)
    odml.Property(name="Species", values="Mus musculus", parent=subject)
    surgery = odml.Section(name="Surgery", type="surgery", parent=subject)
    odml.Property(name="Anaesthesia", values="isoflurane", parent=surgery)
    stored = alice_session.set(document, recursive=True)
    alice = visitor()
    alice.log_in("alice", "alice-password")
    page = alice.page
    page.goto(f"/objects/{stored.location}")
    page.click("details.tree summary:has(a:text-is('Subject'))")
    page.click("details.tree summary:has(a:text-is('Surgery'))")
    page.wait_for_selector("li:has(a:text-is('Anaesthesia')) .value:text-is(' = isoflurane')")
    assert page.inner_text("li:has(> a:text-is('Species')) .value") == " = Mus musculus"
    screenshot(page, "odml")
