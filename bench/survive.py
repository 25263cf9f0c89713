"""Survive: a store's traffic through the production processes while they are broken on purpose.

    .venv/bin/python bench/survive.py                    # the fault run, about 8-9 minutes
    .venv/bin/python bench/survive.py --soak-minutes 30  # steady traffic, no faults; RSS, lag

On a private PostgreSQL cluster and Redis server (bench/survive_stack.py: never the machine's
shared ones), it runs the api (uvicorn), two Celery workers, beat and the fake Kavenegar (its own
process, `--control`) and drives one store's traffic: signed webhooks (companion-plugin carts,
WooCommerce orders shaped like the real captured delivery, replays), opt-outs by «۱۱» replies
pushed into the fake, and clicks on the short links of the texts the fake received.

The fault run, while traffic flows: kill -9 a worker every few seconds (a pool child, or the
whole worker, started again), kill -9 Redis and start it again, restart PostgreSQL with
`pg_ctl -m immediate` (a crash: WAL recovery), 30% of gateway calls fail / drop / time out,
then a minute of 418 (no credit), then recovery. The store's sending window opens about 90 s
after the start: what falls due before that must wait for it.

Afterwards it drains (no more faults, traffic stopped) and checks the invariants; exit 1 if one
fails. A table on stdout, everything in bench/results/survive.json (or survive-soak.json).
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import RESULTS, time_limit
from survive_stack import Stack, children, rss_mb, tree_rss_mb, wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "woocommerce" / "real"
API_KEY = "survive-key-0000"
LINE = "10004346"
TEHRAN = ZoneInfo("Asia/Tehran")
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0 Mobile Safari/537.36")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Why a message may legitimately not go out (app/campaigns/dispatch.py): anything else is a loss.
FINE_SKIPS = ("opted out", "purchased", "enrollment exited", "cart emptied", "nothing to recommend",
              "order is", "order deleted")


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def last10(phone: str) -> str:
    return re.sub(r"\D", "", phone.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")))[-10:]


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------

def setup_store(url: str, *, window_opens: datetime | None) -> dict:
    """Migrate, open a store on Kavenegar (the fake), short campaign delays so that messages
    fall due within minutes, a cap that lets all three cart reminders out, and the sending
    window (opening at `window_opens`, local time, if given)."""
    from app.campaigns.models import (
        ABANDONED_CART,
        CROSS_SELL,
        POST_PURCHASE_SURVEY,
        Campaign,
        CampaignStep,
    )
    from app.db import make_engine, make_sessionmaker, unit_of_work
    from app.migrate import upgrade
    from app.onboarding import open_store
    from app.stores.schemas import StoreCreate

    upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            store, _ = open_store(session, StoreCreate(name="چای‌خانه", url="https://shop.example"))
            store.sms_provider, store.sms_api_key, store.sms_sender = "kavenegar", API_KEY, LINE
            store.cap_per_day, store.cap_per_week = 10, 30
            if window_opens is not None:
                local = window_opens.astimezone(TEHRAN)
                store.send_from_minute = local.hour * 60 + local.minute
                store.send_until_minute = 24 * 60
            delays = {ABANDONED_CART: (1, [1, 2, 3]), POST_PURCHASE_SURVEY: (0, [1]),
                      CROSS_SELL: (0, [2])}
            for campaign in session.scalars(sa.select(Campaign).where(
                    Campaign.store_id == store.id)):
                if campaign.kind not in delays:
                    continue
                trigger, steps = delays[campaign.kind]
                campaign.trigger_minutes = trigger
                for step in session.scalars(sa.select(CampaignStep).where(
                        CampaignStep.campaign_id == campaign.id)):
                    step.delay_minutes = steps[step.position - 1]
            session.flush()
            return {"id": store.id, "secret": store.webhook_secret,
                    "from_minute": store.send_from_minute, "until_minute": store.send_until_minute}
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Traffic
# ---------------------------------------------------------------------------------------------

def wc_body(payload) -> bytes:
    """Like WooCommerce's wp_json_encode (tests/helpers.py): \\uXXXX, and '\\/' for '/'."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def _real_order() -> dict:
    data = json.loads((FIXTURES / "010_order.created.json").read_text())
    return json.loads(base64.b64decode(data["body_b64"]))


class Traffic:
    """One store's customers: carts (some updated, some abandoned, some bought), orders and
    their completion, replays; clicks on links the fake received; «۱۱» replies.

    Every webhook answer is recorded: a 2xx is a promise that the delivery is kept."""

    def __init__(self, stack: Stack, store: dict, *, cart_rate: float, seed: int,
                 upfront_opt_outs: int):
        self.stack, self.store = stack, store
        self.cart_rate = cart_rate
        self.rng = random.Random(seed)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{stack.api_port}", timeout=10.0)
        self.clicker = httpx.Client(base_url=f"http://127.0.0.1:{stack.api_port}", timeout=10.0)
        self.order_template = _real_order()
        self.base = self.rng.randrange(1_000_000, 8_000_000)
        self.deliveries: list[dict] = []
        self.clicks: list[dict] = []
        self.opt_outs: dict[str, float] = {}  # phone (last 10 digits) → when the «۱۱» was pushed
        self.upfront = [self.phone(i) for i in range(upfront_opt_outs)]
        self.next_contact = upfront_opt_outs  # the up-front opted-out come back as shoppers too
        self.pending: list[tuple[float, str, dict]] = []  # (when, topic, payload) to deliver
        self.seen_messages: set[int] = set()
        self.generate = threading.Event()
        self.generate.set()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def phone(self, i: int) -> str:
        return f"0912{self.base + i:07d}"

    # -- webhooks ----------------------------------------------------------------------------

    def deliver(self, topic: str, payload: dict, *, replay_of: dict | None = None) -> None:
        body = replay_of["body"] if replay_of else wc_body(payload)
        resource, _, event = topic.partition(".")
        sig = base64.b64encode(hmac.new(self.store["secret"].encode(), body,
                                        hashlib.sha256).digest()).decode()
        delivery_id = hashlib.md5(body).hexdigest()
        headers = {"Content-Type": "application/json",
                   "User-Agent": "WooCommerce/10.0.2 Hookshot (WordPress/6.8.8)",
                   "X-WC-Webhook-Source": "https://shop.example/", "X-WC-Webhook-Topic": topic,
                   "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
                   "X-WC-Webhook-ID": "7", "X-WC-Webhook-Delivery-ID": delivery_id,
                   "X-WC-Webhook-Signature": sig}
        record = {"topic": topic, "delivery_id": delivery_id, "body": body, "t": time.time(),
                  "key": payload.get("token") or payload.get("id"), "replay": bool(replay_of),
                  "status": None}
        try:
            record["status"] = self.http.post(f"/webhooks/woocommerce/{self.store['id']}",
                                              content=body, headers=headers).status_code
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
        with self.lock:
            self.deliveries.append(record)
        # WooCommerce never retries; some plugins replay: a copy now and then.
        if not replay_of and self.rng.random() < 0.05:
            self.deliver(topic, payload, replay_of=record)

    def cart(self, i: int, *, total: int, modified: datetime, token: str) -> dict:
        phone = self.phone(i)
        return {"token": token, "phone": phone.translate(PERSIAN) if i % 3 == 0 else phone,
                "first_name": "مریم", "last_name": "احمدی", "currency": "IRT",
                "total": str(total), "items": [{"product_id": 11, "name": "چای سبز ممتاز",
                                                "quantity": 2, "total": str(total)}],
                "cart_url": "https://shop.example/cart/",
                "restore_url": f"https://shop.example/?bazgasht-restore={token}",
                "date_modified_gmt": modified.replace(tzinfo=None, microsecond=0).isoformat()}

    def order(self, i: int, status: str, at: datetime) -> dict:
        o = copy.deepcopy(self.order_template)
        stamp = at.replace(tzinfo=None, microsecond=0).isoformat()
        o.update(id=500_000 + i, number=str(500_000 + i), status=status,
                 order_key=f"wc_order_survive{i}", date_created_gmt=stamp, date_modified_gmt=stamp,
                 date_created=stamp, date_modified=stamp, date_paid_gmt=stamp,
                 date_completed_gmt=stamp if status == "completed" else None)
        o["billing"]["phone"] = self.phone(i)
        return o

    def new_shopper(self) -> None:
        i = self.next_contact
        self.next_contact += 1
        now = utcnow()
        token = f"survive-{self.base}-{i:06d}"
        total = self.rng.choice([550000, 1200000, 2200000])
        self.deliver("bazgasht_cart.updated", self.cart(i, total=total, modified=now, token=token))
        r = self.rng.random()
        t = time.time()
        if r < 0.10:  # came back and changed the cart: the sequence starts over
            self.pending.append((t + 20, "bazgasht_cart.updated",
                                 self.cart(i, total=total + 50000, modified=now + timedelta(
                                     seconds=20), token=token)))
        if r > 0.70:  # bought, at some point of the sequence; most get it completed later
            buy = t + self.rng.uniform(30, 150)
            bought = datetime.fromtimestamp(buy, UTC)
            self.pending.append((buy, "order.created", self.order(i, "processing", bought)))
            if self.rng.random() < 0.6:
                self.pending.append((buy + 10, "order.updated",
                                     self.order(i, "completed", bought)))

    def run_webhooks(self) -> None:
        next_cart = time.time()
        while not self.stop.is_set():
            try:
                now = time.time()
                if self.generate.is_set() and now >= next_cart:
                    self.new_shopper()
                    next_cart += 1.0 / self.cart_rate
                    next_cart = max(next_cart, now - 1)
                due = [p for p in self.pending if p[0] <= now]
                for p in due:
                    self.pending.remove(p)
                    self.deliver(p[1], p[2])
                if not due:
                    time.sleep(0.05)
            except Exception:
                self.errors.append(traceback.format_exc())
                time.sleep(0.5)

    # -- what the customers did with the texts ------------------------------------------------

    def run_customers(self) -> None:
        link = re.compile(rf"http://127\.0\.0\.1:{self.stack.api_port}/([A-Za-z0-9_-]+)")
        while not self.stop.wait(3.0):
            try:
                fresh = [m for m in self.stack.fake.messages()
                         if m["messageid"] not in self.seen_messages]
            except Exception as exc:
                self.errors.append(f"reading the fake: {exc}")
                continue
            for m in fresh:
                self.seen_messages.add(m["messageid"])
                roll = (m["localid"] or 0) * 2654435761 % 100
                if roll < 40:
                    for code in link.findall(m["message"]):
                        self.click(code, m["localid"])
                phone = last10(m["receptor"])
                if 40 <= roll < 48 and phone not in self.opt_outs:
                    self.opt_out(m["receptor"], digits=PERSIAN)

    def click(self, code: str, localid: int) -> None:
        rec = {"code": code, "localid": localid, "t": time.time(), "status": None}
        try:
            rec["status"] = self.clicker.get(f"/{code}", headers={"User-Agent": MOBILE_UA},
                                             follow_redirects=False).status_code
        except httpx.HTTPError as exc:
            rec["error"] = type(exc).__name__
        self.clicks.append(rec)

    def opt_out(self, sender: str, digits=None) -> None:
        text = "11".translate(digits) if digits else "11"
        self.stack.fake.control("push_inbound", sender=sender, message=text)
        self.opt_outs[last10(sender)] = time.time()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.run_webhooks, daemon=True, name="webhooks"),
                   threading.Thread(target=self.run_customers, daemon=True, name="customers")]
        for t in threads:
            t.start()
        return threads


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

class Faults:
    def __init__(self, stack: Stack, engine, store_id: int, seed: int):
        self.stack, self.engine, self.store_id = stack, engine, store_id
        self.rng = random.Random(seed + 1)
        self.events: list[dict] = []
        self.kills = Counter()
        self.stop_killing = threading.Event()

    def note(self, what: str, **kw) -> None:
        self.events.append({"t": time.time(), "what": what, **kw})
        log(what + (f" {kw}" if kw else ""))

    def killer(self, every: float) -> None:
        """kill -9 a worker every `every` seconds: alternately one pool child (the main process
        sees it die and starts another) and the whole worker (a new one is started)."""
        n = 0
        while not self.stop_killing.wait(every):
            n += 1
            try:
                alive = [w for w in self.stack.workers if w.poll() is None]
                if not alive:
                    continue
                victim = self.rng.choice(alive)
                kids = children(victim.pid)
                if n % 2 and kids:
                    os.kill(self.rng.choice(kids), signal.SIGKILL)
                    self.kills["pool child"] += 1
                else:
                    self.stack.kill_worker(victim)
                    self.kills["whole worker"] += 1
                    time.sleep(1.0)
                    self.stack.start_worker()
            except Exception as exc:
                self.note("killer error", error=str(exc))

    def restart_redis(self, down: float = 3.0) -> None:
        self.note("redis: kill -9")
        self.stack.redis.kill()
        time.sleep(down)
        self.stack.redis.start()
        self.note("redis: started again")

    def restart_postgres(self, down: float = 5.0) -> None:
        self.note("postgres: pg_ctl stop -m immediate")
        self.stack.pg.stop("immediate")
        time.sleep(down)
        self.stack.pg.start()
        self.note("postgres: started again (crash recovery)")

    def chaos(self, rate: float) -> None:
        self.stack.fake.control("chaos", rate=rate, timeout=20.0, seed=7)
        self.note(f"gateway: {rate:.0%} of calls fail/drop/time out" if rate else
                  "gateway: chaos off")

    def credit(self, value: int) -> None:
        self.stack.fake.control("credit", value=value)
        self.note("gateway: credit 0 (418 on every send)" if not value else
                  "gateway: credit topped up")


# ---------------------------------------------------------------------------------------------
# Drain
# ---------------------------------------------------------------------------------------------

def unresolved(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT status, count(*) FROM messages WHERE status IN ('sending','held') OR "
            "(status='scheduled' AND due_at <= now() + interval '5 minutes') GROUP BY status"))
        return dict(rows.all())


# ---------------------------------------------------------------------------------------------
# Invariants
# ---------------------------------------------------------------------------------------------

def check(engine, stack: Stack, traffic: Traffic, store: dict, *,
          window_opens: datetime | None) -> tuple[dict, dict]:
    """(invariants: name → {ok, detail}, figures)."""
    inv: dict[str, dict] = {}
    fig: dict = {}
    sent_at_gateway = stack.fake.messages()
    with engine.connect() as conn:
        messages = {r.id: r for r in conn.execute(sa.text(
            "SELECT m.id, m.status, m.reason, m.sent_at, m.due_at, m.attempts, m.contact_id, "
            "c.phone, c.opted_out_at, c.opt_out_source FROM messages m "
            "JOIN contacts c ON c.id = m.contact_id WHERE m.store_id=:s"), {"s": store["id"]})}
        contacts = conn.execute(sa.text(
            "SELECT phone, opted_out_at, opt_out_source FROM contacts WHERE store_id=:s"),
            {"s": store["id"]}).all()
        rows_by_delivery = Counter(dict(conn.execute(sa.text(
            "SELECT delivery_id, count(*) FROM webhook_deliveries WHERE store_id=:s "
            "GROUP BY delivery_id"), {"s": store["id"]}).all()))
        delivery_status = Counter(dict(conn.execute(sa.text(
            "SELECT status, count(*) FROM webhook_deliveries WHERE store_id=:s GROUP BY status"),
            {"s": store["id"]}).all()))
        carts = set(conn.execute(sa.text("SELECT token FROM carts WHERE store_id=:s"),
                                 {"s": store["id"]}).scalars())
        orders = dict(conn.execute(sa.text("SELECT wc_id, status FROM orders WHERE store_id=:s"),
                                   {"s": store["id"]}).all())

    by_status = Counter(m.status for m in messages.values())
    fig["messages"] = dict(by_status)

    # 1. Exactly once at the gateway, and the database agrees with the gateway.
    per_localid = Counter(g["localid"] for g in sent_at_gateway)
    went_out = {i for i, m in messages.items() if m.status in ("sent", "delivered")}
    twice = {k: v for k, v in per_localid.items() if v > 1}
    no_localid = per_localid.pop(None, 0)
    unknown = set(per_localid) - set(messages)
    sent_not_recorded = {i for i in per_localid if i in messages and i not in went_out}
    recorded_not_sent = went_out - set(per_localid)
    wrong_receptor = [g["localid"] for g in sent_at_gateway if g["localid"] in messages
                      and last10(g["receptor"]) != last10(messages[g["localid"]].phone)]
    resubmitted = {g["localid"]: g["resubmitted"] for g in sent_at_gateway if g["resubmitted"]}
    inv["sent exactly once (by localid at the gateway)"] = {
        "ok": not (twice or no_localid or unknown or sent_not_recorded or recorded_not_sent
                   or wrong_receptor),
        "detail": f"{len(per_localid)} localids at the gateway, {len(went_out)} messages sent in "
                  f"the database; twice {len(twice)}, without localid {no_localid}, unknown "
                  f"{len(unknown)}, taken but not recorded sent {sorted(sent_not_recorded)[:10]}, "
                  f"recorded sent but not taken {sorted(recorded_not_sent)[:10]}, wrong receptor "
                  f"{wrong_receptor[:10]}"}
    fig["gateway messages"] = len(sent_at_gateway)
    fig["localids offered again after being taken (deduped by localid)"] = len(resubmitted)

    # 2. Everything that should have gone out did: nothing left hanging, every other outcome
    #    has a reason the rules give.
    hanging = {i: m.status for i, m in messages.items()
               if m.status in ("sending", "held")
               or (m.status == "scheduled" and m.due_at <= utcnow())}
    odd = Counter()
    gave_up = Counter()
    for m in messages.values():
        if m.status == "skipped" and not (m.reason or "").startswith(FINE_SKIPS):
            odd[f"skipped: {m.reason}"] += 1
        if m.status == "failed":
            if m.attempts >= 5 and (m.reason or "").startswith("gateway:"):
                gave_up[(m.reason or "")[:60]] += 1
            else:
                odd[f"failed: {m.reason}"] += 1
    inv["every due message resolved (sent, or not sent for a rule's reason)"] = {
        "ok": not hanging and not odd,
        "detail": f"unresolved {len(hanging)} {dict(Counter(hanging.values()))}; without a rule's "
                  f"reason {dict(odd)}; gave up after 5 gateway attempts {sum(gave_up.values())}"}
    fig["skipped by reason"] = dict(Counter((m.reason or "")[:40] for m in messages.values()
                                            if m.status == "skipped"))
    fig["gave up after 5 attempts"] = sum(gave_up.values())
    fig["sent, by how it was settled"] = dict(Counter(m.reason or "answered" for m in
                                                      messages.values() if m.id in went_out))

    # 3. Nobody opted out got a text after opting out; those opted out up front got none.
    upfront = {last10(p) for p in traffic.upfront}
    to_upfront = [g["localid"] for g in sent_at_gateway if last10(g["receptor"]) in upfront]
    after_opt_out = [i for i in went_out if messages[i].opted_out_at is not None
                     and messages[i].sent_at is not None
                     and messages[i].sent_at >= messages[i].opted_out_at]
    opted = {last10(c.phone): c.opted_out_at for c in contacts if c.opted_out_at}
    not_recorded = [p for p in list(traffic.opt_outs) + list(upfront) if p not in opted]
    # At the gateway's clock: a send that left more than a tick after the opt-out was recorded
    # was decided after it (the guard locks the contact; ticks are a few seconds apart).
    late = [g["localid"] for g in sent_at_gateway if last10(g["receptor"]) in opted
            and g["accepted_at"] > opted[last10(g["receptor"])].timestamp() + 60]
    # At the customer's clock: texts taken by the gateway more than a minute after the «۱۱» was
    # in its inbox (whether or not we ever learned of it).
    after_reply = [g["localid"] for g in sent_at_gateway
                   if last10(g["receptor"]) in traffic.opt_outs
                   and g["accepted_at"] > traffic.opt_outs[last10(g["receptor"])] + 60]
    fig["opt-outs never recorded"] = [
        {"phone": "…" + p[-4:], "pushed": datetime.fromtimestamp(traffic.opt_outs[p], UTC)
         .strftime("%H:%M:%S"), "texts taken after it": sum(
             1 for g in sent_at_gateway if last10(g["receptor"]) == p
             and g["accepted_at"] > traffic.opt_outs[p])} for p in not_recorded]
    inv["nothing sent to an opted-out contact"] = {
        "ok": not (to_upfront or after_opt_out or not_recorded or late or after_reply),
        "detail": f"{len(upfront)} opted out up front (sends to them: {len(to_upfront)}), "
                  f"{len(traffic.opt_outs) - len(upfront)} «۱۱» replies during the run; opt-outs not recorded "
                  f"{len(not_recorded)}; decided after the opt-out {len(after_opt_out)}; "
                  f"taken >60 s after it {len(late)}; taken >60 s after the «۱۱» reached the "
                  f"gateway {len(after_reply)}"}

    # 4. Quiet hours: nothing before the window opened (gateway clock and guard clock).
    if window_opens is not None:
        early = [g["localid"] for g in sent_at_gateway
                 if g["accepted_at"] < window_opens.timestamp()]
        early_db = [i for i in went_out if messages[i].sent_at < window_opens]
        waited = sum(1 for i in went_out if messages[i].sent_at < window_opens + timedelta(
            seconds=30))
        inv["nothing sent in quiet hours"] = {
            "ok": not early and not early_db,
            "detail": f"window opened {window_opens:%H:%M:%S} UTC; sends before it: gateway "
                      f"{len(early)}, database {len(early_db)}; {waited} went out in its "
                      f"first 30 s"}

    # 5. Every acknowledged delivery is a row, and was applied.
    acked = [d for d in traffic.deliveries if d["status"] and 200 <= d["status"] < 300]
    acked_per_id = Counter(d["delivery_id"] for d in acked)
    missing = {k: n - rows_by_delivery[k] for k, n in acked_per_id.items()
               if rows_by_delivery[k] < n}
    not_applied = []
    for d in acked:
        if d["topic"].startswith("bazgasht_cart") and d["key"] not in carts:
            not_applied.append(d["delivery_id"])
        if d["topic"].startswith("order") and d["key"] not in orders:
            not_applied.append(d["delivery_id"])
    stuck = {s: n for s, n in delivery_status.items() if s in ("pending", "dead_letter")}
    refused = Counter(str(d["status"] or d.get("error")) for d in traffic.deliveries
                      if not (d["status"] and 200 <= d["status"] < 300))
    inv["no acknowledged webhook delivery lost"] = {
        "ok": not missing and not not_applied and not stuck,
        "detail": f"{len(acked)} answered 2xx ({sum(d['replay'] for d in acked)} replays), "
                  f"rows missing {sum(missing.values())}, not applied {len(not_applied)}, "
                  f"pending/dead letters {stuck}; not acknowledged (the sender knows) "
                  f"{dict(refused)}"}
    fig["webhook deliveries"] = {"sent": len(traffic.deliveries), "acknowledged": len(acked),
                                 "rows by status": dict(delivery_status),
                                 "not acknowledged": dict(refused)}

    # 6. The report's figures are the raw tables' counts.
    report, raw = report_vs_raw(engine, store["id"])
    diff = {k: (report[k], raw[k]) for k in raw if report[k] != raw[k]}
    inv["report matches the raw tables"] = {
        "ok": not diff, "detail": "equal: " + ", ".join(f"{k} {raw[k]}" for k in raw)
        if not diff else f"differ (report, raw): {diff}"}
    fig["clicks"] = {"followed (302)": sum(1 for c in traffic.clicks if c["status"] == 302),
                     "other answers": dict(Counter(str(c["status"] or c.get("error"))
                                                   for c in traffic.clicks
                                                   if c["status"] != 302)),
                     "messages clicked (report)": report["clicks"]}
    return inv, fig


def report_vs_raw(engine, store_id: int) -> tuple[dict, dict]:
    from app.broadcasts.service import of_campaigns
    from app.clock import local_today
    from app.db import make_sessionmaker
    from app.reports.period import period_for
    from app.reports.service import summary
    from app.stores.models import Store

    factory = make_sessionmaker(engine)
    with factory() as session:
        store = session.get(Store, store_id)
        today = local_today(store.timezone, utcnow())
        period = period_for(first=str(today), last=str(today), tz=store.timezone, today=today)
        totals = summary(session, store=store, period=period,
                         broadcasts_of=of_campaigns)["totals"]
    q = {
        "messages": "SELECT count(*) FROM messages WHERE store_id=:s",
        "sent": "SELECT count(*) FROM messages WHERE store_id=:s AND sent_at IS NOT NULL AND "
                "status IN ('sent','delivered','failed')",
        "delivered": "SELECT count(*) FROM messages WHERE store_id=:s AND status='delivered'",
        "failed": "SELECT count(*) FROM messages WHERE store_id=:s AND status='failed'",
        "skipped": "SELECT count(*) FROM messages WHERE store_id=:s AND status='skipped'",
        "scheduled": "SELECT count(*) FROM messages WHERE store_id=:s AND status='scheduled'",
        "held": "SELECT count(*) FROM messages WHERE store_id=:s AND status='held'",
        "sending": "SELECT count(*) FROM messages WHERE store_id=:s AND status='sending'",
        "parts": "SELECT coalesce(sum(parts),0) FROM messages WHERE store_id=:s AND "
                 "status IN ('sent','delivered','failed') AND sent_at IS NOT NULL",
        "clicks": "SELECT count(DISTINCT l.message_id) FROM clicks k JOIN links l ON "
                  "l.id=k.link_id WHERE l.store_id=:s AND NOT k.bot",
        "orders": "SELECT count(*) FROM attributions WHERE store_id=:s AND removed_at IS NULL",
        "revenue": "SELECT coalesce(sum(revenue),0) FROM attributions WHERE store_id=:s AND "
                   "removed_at IS NULL",
        "opt_outs": "SELECT count(*) FROM contacts WHERE store_id=:s AND opted_out_at IS NOT NULL",
    }
    with engine.connect() as conn:
        raw = {k: int(conn.execute(sa.text(sql), {"s": store_id}).scalar_one())
               for k, sql in q.items()}
    return {k: totals[k] for k in raw}, raw


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------

def queue_lag(engine) -> float | None:
    """Seconds since the oldest scheduled message still waiting was due (0: none is)."""
    try:
        with engine.connect() as conn:
            v = conn.execute(sa.text(
                "SELECT extract(epoch FROM now() - min(due_at)) FROM messages "
                "WHERE status='scheduled' AND due_at <= now()")).scalar()
        return max(0.0, float(v)) if v is not None else 0.0
    except Exception:
        return None


def start_stack(stack: Stack, *, window_opens: datetime | None, workers: int) -> dict:
    stack.open()
    stack.start_fake(API_KEY)
    store = setup_store(stack.db_url, window_opens=window_opens)
    stack.fake.control("outcome", status=10, after_polls=1)  # delivered at the second poll
    stack.fake.control("credit", value=10**12)  # a soak sends more than the fake's default pays
    stack.start_api()
    for _ in range(workers):
        stack.start_worker()
    stack.start_beat()
    return store


def upfront_opt_outs(traffic: Traffic, engine, store_id: int) -> None:
    for phone in traffic.upfront:
        traffic.opt_out(phone)
    ok = wait_until(lambda: _count(engine, "SELECT count(*) FROM contacts WHERE store_id=:s AND "
                                           "opted_out_at IS NOT NULL", store_id)
                    >= len(traffic.upfront), 90)
    if not ok:
        raise RuntimeError("the up-front opt-outs were not read in 90 s (is beat ticking?)")


def _count(engine, sql: str, store_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), {"s": store_id}).scalar_one()


def drain(engine, stack, store_id: int, timeout: float) -> tuple[bool, list]:
    """Faults over, traffic stopped: wait for everything due to be resolved by the system alone
    (the reaper, the paused store's recheck and the retries all act within seconds). Returns
    (drained, the waits seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(5)
        left = unresolved(engine)
        log(f"drain: waiting on {left or 'nothing'}")
        if not left:
            return True, seen
        seen.append({"t": time.time(), **left})
    return False, seen


def print_table(inv: dict, fig: dict, extra: dict) -> None:
    w = max(len(k) for k in inv)
    print("\n" + "=" * 100)
    for name, r in inv.items():
        print(f"[{'PASS' if r['ok'] else 'FAIL'}] {name:<{w}}  {r['detail']}")
    print("-" * 100)
    for k, v in {**fig, **extra}.items():
        print(f"  {k}: {json.dumps(v, ensure_ascii=False, default=str)}")
    print("=" * 100)


def fault_run(args) -> int:
    stack = Stack(tick_seconds=args.tick_seconds)
    engine = None
    started = time.time()
    try:
        t0 = utcnow()
        # Opens at the start of a local minute at least 90 s from now.
        window_opens = (t0 + timedelta(seconds=150)).replace(second=0, microsecond=0)
        store = start_stack(stack, window_opens=window_opens, workers=2)
        engine = sa.create_engine(stack.db_url, pool_pre_ping=True)
        traffic = Traffic(stack, store, cart_rate=args.cart_rate, seed=args.seed,
                          upfront_opt_outs=20)
        log(f"stack up in {stack.base} (postgres :{stack.pg.port}, redis :{stack.redis.port}, "
            f"api :{stack.api_port}, fake :{stack.fake.port}); window opens "
            f"{window_opens:%H:%M:%S} UTC")
        upfront_opt_outs(traffic, engine, store["id"])
        faults = Faults(stack, engine, store["id"], args.seed)
        threads = traffic.start()
        t = time.monotonic()

        def at(seconds: float) -> None:
            time.sleep(max(0.0, t + seconds - time.monotonic()))

        killer = threading.Thread(target=faults.killer, args=(args.kill_every,), daemon=True)
        at(15)
        faults.note("worker kills start")
        killer.start()
        at(40)
        faults.restart_redis()
        at(75)
        faults.restart_postgres()
        at(100)
        faults.chaos(0.30)
        at(160)
        faults.chaos(0.0)
        faults.credit(0)
        at(220)
        faults.credit(10**12)
        at(args.traffic_seconds - 40)
        traffic.generate.clear()
        faults.note("no new carts (their orders and updates still come)")
        at(args.traffic_seconds)
        faults.stop_killing.set()
        killer.join()
        faults.note("worker kills end")
        wait_until(lambda: not traffic.pending, 120)
        traffic.stop.set()
        for th in threads:
            th.join(15)
        if len([w for w in stack.workers if w.poll() is None]) < 2:
            stack.start_worker()
        drained, forwarded = drain(engine, stack, store["id"], timeout=args.drain_seconds)
        time.sleep(3)  # clicks recorded in the api's batches
        inv, fig = check(engine, stack, traffic, store, window_opens=window_opens)
        inv["drained in time"] = {"ok": drained, "detail": f"{args.drain_seconds} s at most"}
        extra = {"worker kills": dict(faults.kills), "fake gateway": stack.fake.state(),
                 "waits in the drain": forwarded,
                 "traffic errors": traffic.errors[:5],
                 "wall seconds": round(time.time() - started)}
        print_table(inv, fig, extra)
        result = {"mode": "faults", "started": t0.isoformat(), "invariants": inv,
                  "figures": fig, **extra, "events": faults.events,
                  "params": vars(args)}
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "survive.json").write_text(json.dumps(result, ensure_ascii=False, indent=1,
                                                         default=str))
        ok = all(r["ok"] for r in inv.values())
        print(f"{'ALL INVARIANTS HOLD' if ok else 'INVARIANT FAILED'}; "
              f"bench/results/survive.json; logs in {stack.base if args.keep else '(removed)'}")
        return 0 if ok else 1
    finally:
        if engine is not None:
            engine.dispose()
        stack.close(keep=args.keep)


def slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    pts = [(t, v) for t, v in samples if v is not None]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (v - mv) for t, v in pts) / den * 3600 if den else None


def series_summary(samples: list[tuple[float, float]], unit: str) -> dict:
    vals = [v for _, v in samples if v is not None]
    if not vals:
        return {}
    half = samples[len(samples) // 2:]
    q = max(1, len(vals) // 4)
    return {"first": round(vals[0], 1), "last": round(vals[-1], 1), "max": round(max(vals), 1),
            "mean": round(sum(vals) / len(vals), 1),
            "first quarter mean": round(sum(vals[:q]) / q, 1),
            "last quarter mean": round(sum(vals[-q:]) / q, 1),
            f"slope {unit}/h (all)": _r(slope_per_hour(samples)),
            f"slope {unit}/h (second half)": _r(slope_per_hour(half))}


def _r(v):
    return None if v is None else round(v, 2)


def soak_run(args) -> int:
    stack = Stack(tick_seconds=args.tick_seconds)
    engine = None
    started = time.time()
    try:
        t0 = utcnow()
        store = start_stack(stack, window_opens=None, workers=2)
        engine = sa.create_engine(stack.db_url, pool_pre_ping=True)
        traffic = Traffic(stack, store, cart_rate=args.cart_rate, seed=args.seed,
                          upfront_opt_outs=20)
        log(f"soak: stack up in {stack.base}; {args.soak_minutes} min at {args.cart_rate} "
            f"carts/s")
        upfront_opt_outs(traffic, engine, store["id"])
        threads = traffic.start()
        samples = []
        end = time.monotonic() + args.soak_minutes * 60
        while time.monotonic() < end:
            workers = [w for w in stack.workers if w.poll() is None]
            s = {"t": time.time(), "api_mb": rss_mb(stack.api.pid),
                 "workers_mb": sum(tree_rss_mb(w.pid) for w in workers),
                 "beat_mb": tree_rss_mb(stack.beat.pid), "lag_s": queue_lag(engine),
                 "sent": len(traffic.seen_messages), "deliveries": len(traffic.deliveries)}
            samples.append(s)
            if len(samples) % 12 == 1:
                log(f"soak: api {s['api_mb']:.0f} MB, workers {s['workers_mb']:.0f} MB, "
                    f"lag {s['lag_s']} s, {s['deliveries']} deliveries, {s['sent']} sent")
            # Jittered: a fixed period close to TICK_SECONDS samples the same phase of the tick
            # cycle for minutes on end, and its slow drift looks like a trend in the lag.
            time.sleep(traffic.rng.uniform(0.5, 1.5) * args.sample_seconds)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "survive-soak-series.json").write_text(json.dumps(samples))
        traffic.generate.clear()
        wait_until(lambda: not traffic.pending, 160)
        traffic.stop.set()
        for th in threads:
            th.join(15)
        try:
            drained, forwarded = drain(engine, stack, store["id"], timeout=args.drain_seconds)
            time.sleep(3)
            inv, fig = check(engine, stack, traffic, store, window_opens=None)
            inv["drained in time"] = {"ok": drained, "detail": f"{args.drain_seconds} s at most"}
        except Exception:
            forwarded, fig = [], {}
            inv = {"checks ran": {"ok": False, "detail": traceback.format_exc()[-800:]}}
        t_0 = samples[0]["t"]
        warm = [s for s in samples if s["t"] - t_0 >= 120] or samples  # after a 2-minute warm-up
        soak = {
            "api RSS MB": series_summary([(s["t"], s["api_mb"]) for s in warm], "MB"),
            "workers RSS MB (all processes)": series_summary(
                [(s["t"], s["workers_mb"]) for s in warm], "MB"),
            "beat RSS MB": series_summary([(s["t"], s["beat_mb"]) for s in warm], "MB"),
            "queue lag s": series_summary([(s["t"], s["lag_s"]) for s in warm], "s"),
        }
        for name, summ in soak.items():
            if summ:
                summ["flat"] = flat(summ, name)
        extra = {"soak": soak, "waits in the drain": forwarded,
                 "traffic errors": traffic.errors[:5], "samples": len(samples),
                 "wall seconds": round(time.time() - started)}
        print_table(inv, fig, extra)
        result = {"mode": "soak", "started": t0.isoformat(), "minutes": args.soak_minutes,
                  "invariants": inv, "figures": fig, **extra, "series": samples,
                  "params": vars(args)}
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "survive-soak.json").write_text(json.dumps(result, ensure_ascii=False,
                                                              indent=1, default=str))
        ok = all(r["ok"] for r in inv.values()) and all(s.get("flat", True) for s in soak.values())
        print(f"{'SOAK OK' if ok else 'SOAK: SOMETHING FAILED'}; bench/results/survive-soak.json")
        return 0 if ok else 1
    finally:
        if engine is not None:
            engine.dispose()
        stack.close(keep=args.keep)


def flat(summ: dict, name: str) -> bool:
    """No upward trend beyond noise: the last quarter's mean within 10% (or 5 MB / one tick of
    lag) of the first quarter's."""
    first, last = summ["first quarter mean"], summ["last quarter mean"]
    noise = 10.0 if name.startswith("queue") else 5.0
    return last <= first * 1.10 + noise


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--soak-minutes", type=float, default=0,
                    help="soak mode: steady traffic this long, no faults")
    ap.add_argument("--cart-rate", type=float, default=None, help="new carts per second")
    ap.add_argument("--traffic-seconds", type=float, default=270)
    ap.add_argument("--kill-every", type=float, default=6.0)
    ap.add_argument("--tick-seconds", type=float, default=5.0, help="TICK_SECONDS of the stack")
    ap.add_argument("--drain-seconds", type=float, default=420)
    ap.add_argument("--sample-seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args(argv)
    if args.cart_rate is None:
        args.cart_rate = 1.0 if args.soak_minutes else 2.0
    limit = int(args.soak_minutes * 60 + args.drain_seconds + 600) if args.soak_minutes else \
        int(args.traffic_seconds + args.drain_seconds + 600)
    time_limit(limit)
    return soak_run(args) if args.soak_minutes else fault_run(args)


if __name__ == "__main__":
    sys.exit(main())
