"""Locust load for bankdrill: each simulated candidate runs one drill through the API.

Run by benchmarks/load/run.py (which prepares the instance, users and tokens); not by pytest.
Environment: LOAD_SETUP (JSON: tokens, customer facts, hosts), LOAD_RECORD (where each
user's accepted messages and work orders are written at the end, for the loss check).

Per candidate, on its own 2 s beat (random phase): poll messages every tick (2 s), post a message every 5th
tick (10 s), search the KB every 7th-8th tick (~15 s); once per drill: identity check,
one lookup (the card bill), one work order.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time

from locust import FastHttpUser, events, task

SETUP = json.loads(open(os.environ["LOAD_SETUP"], encoding="utf-8").read())
RECORD = os.environ["LOAD_RECORD"]
TOKENS = SETUP["tokens"]
HOSTS = SETUP["hosts"]
FACTS = SETUP["facts"]
QUERIES = ["信用卡账单", "卡丢了怎么办", "最低还款", "理财风险等级", "转账限额", "密码忘了", "賬單分期", "年费"]
PACING_S = 2.0
# LOAD_LOCKSTEP=1 (run.py --lockstep): every user on the same beat, the worst case (see staggered_pacing).
LOCKSTEP = os.environ.get("LOAD_LOCKSTEP") == "1"
_next = itertools.count()
_lock = threading.Lock()
ACCEPTED: list[dict] = []  # every 201 this process saw (messages, work orders)


def staggered_pacing(user: Candidate) -> float:
    """One step every PACING_S seconds on the user's own beat.

    Locust's constant_pacing measures from when the user was created, and locust creates each
    second's batch of users at the same instant: all 200 candidates then poll inside the same
    100 ms of every second (seen in the server's trace), a thundering herd no exam room makes.
    Browsers poll on their own clocks, so each user here keeps a beat with a random phase.
    """
    now = time.monotonic()
    user.next_beat = max(user.next_beat + PACING_S, now)  # a late step does not cause a burst of catch-ups
    return user.next_beat - now


IDENTITY_REPLY = re.compile(r"我叫(?P<name>[^，,。]+)[，,]身份证后六位是(?P<id_last6>\w{6})[，,]手机尾号(?P<phone_last4>\d{4})")

class Candidate(FastHttpUser):
    wait_time = staggered_pacing
    host = HOSTS[0]

    def on_start(self) -> None:
        n = next(_next)
        self.n = n
        self.token = TOKENS[n % len(TOKENS)]
        # Several server processes: round-robin users over them (each user sticks to one).
        self.base = HOSTS[n % len(HOSTS)]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.rng = random.Random(n)
        self.tick = 0
        self.after = 0
        self.conv = None
        # Each user's beat starts at a random point of the 2 s cycle (see staggered_pacing),
        # or, in lockstep, on the next multiple of the beat: all users together.
        now = time.monotonic()
        self.next_beat = PACING_S * (int(now // PACING_S) + 1) if LOCKSTEP else now + self.rng.uniform(0, PACING_S)
        time.sleep(self.next_beat - now)
        r = self.post("/api/v1/drills", {"scenario": "cc-bill-enquiry"}, name="POST /drills")
        if r is not None:
            body = r.json()
            self.drill = body["id"]
            self.conv = body["conversations"][0]["id"]

    def post(self, path, body, name):
        with self.client.post(self.base + path, json=body, headers=self.headers, name=name,
                              catch_response=True) as r:
            if r.status_code not in (200, 201):
                r.failure(f"{r.status_code} {r.text[:200]}")
                return None
            return r

    def get(self, path, name):
        with self.client.get(self.base + path, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return None
            return r

    def say(self, conversation_path: str, text: str) -> dict | None:
        """Post an agent message; an accepted one is recorded for the end-of-run check."""
        r = self.post(f"{conversation_path}/messages", {"text": text}, "POST /conversations/{id}/messages")
        if r is None:
            return None
        body = r.json()
        with _lock:
            ACCEPTED.append({"kind": "message", "conversation": self.conv, "seq": body["message"]["seq"], "text": text})
        return body

    @task
    def step(self) -> None:
        if self.conv is None:
            return
        self.tick += 1
        c = f"/api/v1/conversations/{self.conv}"
        r = self.get(f"{c}/messages?after={self.after}", "GET /conversations/{id}/messages")
        if r is not None:
            msgs = r.json()["messages"]
            if msgs:
                self.after = msgs[-1]["seq"]
        if self.tick == 1:
            # Each drill's customer has a fresh identity: ask for it, as an agent does, and verify
            # with what the customer answers (the seed customer's facts when no answer came).
            body = self.say(c, "您好，请提供您的姓名、身份证后六位和手机尾号。")
            if body is not None:
                said = " ".join(m.get("text") or "" for m in body["replies"])
                m = IDENTITY_REPLY.search(said)
                self.identity = m.groupdict() if m else None
        elif self.tick == 2:
            ident = getattr(self, "identity", None) or {k: FACTS[k] for k in ("name", "id_last6", "phone_last4")}
            self.post(f"{c}/identity/verify", {"method": "id_phone", **ident},
                      "POST /conversations/{id}/identity/verify")
        elif self.tick == 3:
            cards = self.get(f"{c}/cards", "GET /conversations/{id}/cards")
            if cards is not None and cards.json()["cards"]:
                self.get(f"{c}/cards/{cards.json()['cards'][0]['ref']}/bill", "GET /conversations/{id}/cards/{ref}/bill")
        elif self.tick == 4:
            r = self.post("/api/v1/workorders", {"category": "信用卡", "title": "账单咨询", "type": "咨询",
                                                 "conversation_id": self.conv, "description": "负载测试"},
                          "POST /workorders")
            if r is not None:
                with _lock:
                    ACCEPTED.append({"kind": "workorder", "number": r.json()["number"], "conversation": self.conv})
        if self.tick % 5 == 0:
            # A text of this candidate's own: the dialogue reading is cached per text in a server
            # process, and 200 candidates saying the same sentence would cost one reading, not 200.
            self.say(c, f"好的，{self.n}号坐席这边正在为您查询第{self.tick}项，请稍等。")
        if self.tick % 15 in (0, 8):  # every 7-8 ticks, i.e. about every 15 s
            q = self.rng.choice(QUERIES)
            self.get(f"/api/v1/kb/search?q={q}&conversation={self.conv}", "GET /kb/search")


@events.test_stop.add_listener
def _dump(environment, **_kwargs) -> None:
    with open(RECORD, "w", encoding="utf-8") as fh:
        json.dump(ACCEPTED, fh, ensure_ascii=False)
