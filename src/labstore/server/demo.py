"""Demo data: a user, a project, and a small lab's worth of every built-in model.

Stored through the same writer the API uses, so demo objects pass every check real ones do.
Seeding twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select

from labstore.server.admin import add_project
from labstore.server.reads import Reader
from labstore.server.state import AppState
from labstore.server.writes import Writer

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_PROJECT = "demo-lab"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    created: bool


def seed_demo(state: AppState, *, experiments_per_subject: int = 4) -> DemoLogin:
    """Create the demo user, project and data unless they exist."""
    users = state.db.tables(state.registry.model("core/user"))
    with state.db.write() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == DEMO_USER)).first():
            return DemoLogin(DEMO_USER, DEMO_PASSWORD, created=False)
        user_id = state.accounts.create_user(
            conn, DEMO_USER, DEMO_PASSWORD, full_name="Demo User", email="demo@example.org"
        )
        add_project(
            state,
            conn,
            DEMO_PROJECT,
            owner=DEMO_USER,
            admins=[DEMO_USER],
            description="Demo data shipped with labstore",
        )
        principal = state.accounts.principal(conn, user_id, DEMO_USER, False)
        writer = Writer(Reader(state.db, principal))

        def make(model: str, **fields: object) -> str:
            obj = writer.create(
                conn, state.registry.model(model), {**fields, "project": DEMO_PROJECT}
            )
            return str(obj["location"])

        rng = random.Random(7)
        labs = [
            make("experiment/lab", name=name, institution=inst)
            for name, inst in (("cortexlab", "UCL"), ("churchlandlab", "CSHL"))
        ]
        day = dt.date(2024, 3, 4)
        for i, nickname in enumerate(("ZM_1085", "ZM_1087", "KS022", "NYU-12")):
            lab = labs[i % len(labs)]
            subject = make(
                "experiment/subject",
                nickname=nickname,
                lab=lab,
                species="mouse",
                strain="C57BL/6J",
                sex="MF"[i % 2],
                birth_date=(day - dt.timedelta(days=90 + i)).isoformat(),
            )
            for n in range(experiments_per_subject):
                experiment = make(
                    "experiment/experiment",
                    subject=subject,
                    lab=lab,
                    date=(day + dt.timedelta(days=n)).isoformat(),
                    number=1,
                    task_protocol="_iblrig_tasks_trainingChoiceWorld6.4.2",
                    projects=["demo"],
                    qc=rng.choice(["PASS", "WARNING", "NOT_SET"]),
                )
                for name in ("spikes.times.npy", "spikes.clusters.npy", "trials.table.pqt"):
                    make(
                        "experiment/dataset",
                        experiment=experiment,
                        name=name,
                        collection="alf/probe00" if name.startswith("spikes") else "alf",
                        size=rng.randint(10_000, 5_000_000),
                        qc="PASS",
                    )
        primer = make("inventory/sample_type", name="Primer", description="DNA oligo")
        plasmid = make("inventory/sample_type", name="Plasmid", description="Circular DNA")
        tube = make(
            "inventory/object_type",
            name="Primer Aliquot",
            unit="tube",
            sample_type=primer,
            prefix="M20",
        )
        stock = make(
            "inventory/object_type",
            name="Plasmid Glycerol Stock",
            unit="vial",
            sample_type=plasmid,
            prefix="M80",
        )
        for i in range(6):
            sample = make(
                "inventory/sample",
                name=f"fwd-primer-{i:02d}",
                sample_type=primer,
                properties={"sequence": "".join(rng.choice("ACGT") for _ in range(20))},
            )
            make("inventory/item", sample=sample, object_type=tube, storage=f"M20.1.{i}.1")
        for i in range(3):
            sample = make("inventory/sample", name=f"pGFP-{i}", sample_type=plasmid)
            make("inventory/item", sample=sample, object_type=stock, storage=f"M80.2.{i}.4")
    return DemoLogin(DEMO_USER, DEMO_PASSWORD, created=True)
