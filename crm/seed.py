"""Deterministic demo and benchmark subscribers, plus one demo login per role.

The same ``seed`` on the same starting database gives the same rows (no wall clock, no global
random state). Rows are written with Core ``insert()`` executemany in chunks with ids assigned
here, so 100,000 accounts with about 300,000 phone numbers load in well under a minute on
SQLite. Phone numbers are generated digit by digit, so their E.164 form is known without running
``phonenumbers`` 300,000 times (the tests check it agrees).

Security note: passcodes are hashed with argon2 once for a small pool of demo codes and the
hashes reused. That is acceptable for demo data only; real contacts get their own salted hash
through :func:`crm.records.create_contact`.
"""

from __future__ import annotations

import random
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core import audit
from core.clock import SystemClock
from core.db import Database
from core.models import User
from core.security import hash_code
from core.sip_credentials import SipPasswords
from core.users import create_user, fill_in_sip_passwords
from crm.models import (
    Account,
    Contact,
    Contract,
    Holiday,
    KbArticle,
    Note,
    Panel,
    Phone,
    Premises,
    ScheduleException,
    ScheduleWindow,
    Ticket,
    TicketEvent,
    WorkOrder,
    Zone,
)

DEMO_PASSWORD = "vigil-demo"
DEMO_USERS = [  # username, display name, role, extension, language
    ("agent1", "王芳 Wang Fang", "agent", "1001", "zh-CN"),
    ("agent2", "Alice Chen", "agent", "1002", "en"),
    ("super1", "李强 Li Qiang", "supervisor", "2001", "zh-CN"),
    ("admin", "Administrator", "admin", None, "en"),
]
DEMO_PASSCODES = ["1234", "2580", "0000", "1357", "8642", "9999", "4321", "1111", "mountain",
                  "blue sky", "7531", "2468"]
DEMO_DURESS = ["9111", "4444", "1919", "help me"]
ACCOUNTS_PER_PREFIX = 10_000
BASE_TIME = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
            "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
         "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红",
         "玉兰", "建国", "志强", "海燕", "晓东", "雪梅", "俊杰", "子涵", "浩然", "欣怡", "宇轩"]
FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
         "David", "Elizabeth", "William", "Susan", "Richard", "Jessica", "Thomas", "Sarah",
         "Daniel", "Karen", "Matthew", "Emily", "Anna", "Peter", "Laura", "Mark", "Sophie"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
        "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris",
        "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green"]
ZH_TRADE = ["贸易", "科技", "餐饮", "物流", "服装", "电子", "珠宝", "建材", "医药", "文化传媒"]
ZH_SHOP = ["便利店", "超市", "金店", "药房", "五金店", "手机店", "眼镜店", "茶叶店"]
EN_TRADE = ["Trading", "Logistics", "Foods", "Electronics", "Jewellery", "Pharmacy",
            "Consulting", "Textiles", "Hardware", "Design"]
# city zh, city en, area code, latitude, longitude, districts (zh, en), roads (zh, en)
CITIES = [
    ("上海市", "Shanghai", "21", 31.23, 121.47, [("浦东新区", "Pudong"), ("徐汇区", "Xuhui"),
     ("静安区", "Jing'an"), ("闵行区", "Minhang")],
     [("世纪大道", "Century Avenue"), ("南京西路", "Nanjing Road West"),
      ("淮海中路", "Middle Huaihai Road"), ("漕溪北路", "North Caoxi Road")]),
    ("北京市", "Beijing", "10", 39.90, 116.40, [("朝阳区", "Chaoyang"), ("海淀区", "Haidian"),
     ("东城区", "Dongcheng"), ("丰台区", "Fengtai")],
     [("建国路", "Jianguo Road"), ("中关村大街", "Zhongguancun Street"),
      ("长安街", "Chang'an Avenue"), ("三里屯路", "Sanlitun Road")]),
    ("广州市", "Guangzhou", "20", 23.13, 113.26, [("天河区", "Tianhe"), ("越秀区", "Yuexiu"),
     ("海珠区", "Haizhu")],
     [("天河路", "Tianhe Road"), ("环市东路", "East Huanshi Road"),
      ("江南大道", "Jiangnan Avenue")]),
    ("深圳市", "Shenzhen", "755", 22.54, 114.06, [("福田区", "Futian"), ("南山区", "Nanshan"),
     ("罗湖区", "Luohu")],
     [("深南大道", "Shennan Avenue"), ("科技园路", "Science Park Road"),
      ("东门路", "Dongmen Road")]),
    ("杭州市", "Hangzhou", "571", 30.27, 120.16, [("西湖区", "Xihu"), ("上城区", "Shangcheng")],
     [("文三路", "Wensan Road"), ("延安路", "Yan'an Road")]),
    ("成都市", "Chengdu", "28", 30.66, 104.07, [("锦江区", "Jinjiang"), ("武侯区", "Wuhou")],
     [("春熙路", "Chunxi Road"), ("人民南路", "South Renmin Road")]),
]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "157", "158", "159", "166", "176", "177", "180", "181", "182",
                   "185", "186", "187", "188", "189", "191", "198", "199"]
PANELS = [("Honeywell", "Vista-20P", "contact_id"), ("DSC", "PowerSeries Neo", "sia_dc09"),
          ("Bosch", "B5512", "sia_dc09"), ("Ajax", "Hub 2", "sia_dc09"),
          ("Paradox", "SP6000", "contact_id"), ("科立信", "KS-899", "contact_id"),
          ("艾礼富", "ALEPH-8", "contact_id"), ("Risco", "LightSYS", "sia_dc09")]
ZONE_KINDS = [("门磁", "door contact", "magnetic contact", "MC-31"),
              ("红外探测器", "PIR detector", "PIR", "IS-2260"),
              ("烟感", "smoke detector", "smoke", "SD-119"),
              ("紧急按钮", "panic button", "panic", "PB-10"),
              ("玻璃破碎", "glass break", "glass break", "GB-500"),
              ("燃气探测器", "gas detector", "gas", "GD-7"),
              ("窗磁", "window contact", "magnetic contact", "MC-20")]
ZONE_PLACES = [("前门", "front door"), ("后门", "back door"), ("客厅", "living room"),
               ("厨房", "kitchen"), ("仓库", "storeroom"), ("收银台", "cash desk"),
               ("卧室", "bedroom"), ("办公室", "office"), ("走廊", "corridor"),
               ("金库", "vault")]
PLANS = [("basic", Decimal("80.00")), ("standard", Decimal("150.00")),
         ("premium", Decimal("300.00")), ("business", Decimal("500.00"))]
HOLIDAYS_2026 = [(date(2026, 2, 16), "春节 Spring Festival"),
                 (date(2026, 2, 17), "春节 Spring Festival"),
                 (date(2026, 2, 18), "春节 Spring Festival"),
                 (date(2026, 10, 1), "国庆节 National Day")]
KB_ARTICLES = [
    ("如何取消误报", "误报 取消 密码",
     "用户来电要求取消警情时：先核对联系人姓名，再请对方说出密码。密码正确则记录误报原因并关闭"
     "警情；如对方说出胁迫码，按正常流程回答，同时立即升级处理并派警。", "zh-CN"),
    ("How to cancel a false alarm", "false alarm cancel passcode",
     "Ask for the contact's name, then the passcode. With the right passcode record the "
     "false-alarm cause and close the incident. A duress code must be accepted on the phone "
     "while you escalate silently and dispatch.", "en"),
    ("报警主机测试模式", "测试 主机 维护",
     "维修或调试期间可将用户置于测试状态，测试期间的信号只记录不生成警情。测试结束请确认恢复。",
     "zh-CN"),
    ("Putting a system on test", "test maintenance panel",
     "While a technician works on a panel, put the account on test: signals are logged but "
     "raise no incident. Always confirm the end of the test with the technician.", "en"),
    ("交流电断电警情处理", "交流 断电 电池",
     "收到交流电断电信号时，先查看是否为区域性停电（多个用户同时上报）。区域停电时启用灾害模式，"
     "单个用户断电超过4小时需联系用户。", "zh-CN"),
    ("AC power loss", "power AC battery outage",
     "Several accounts reporting AC loss together means an area outage: use disaster mode. "
     "A single account without mains for more than four hours should be called.", "en"),
    ("缴费与欠费处理", "缴费 欠费 合同",
     "用户询问费用时可查看合同与缴费状态。欠费用户的警情仍须正常处理，处理后提醒续费。",
     "zh-CN"),
    ("Panel fails to test", "test timer fail to test",
     "A panel that misses its periodic test report raises a fail-to-test trouble. Call the "
     "premises to check the panel and open a work order if it stays silent.", "en"),
]


@dataclass
class _Ids:
    """Next free id per table, so seeding can add to a database that already has rows."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


TABLES: list[Any] = [Account, Premises, Panel, Zone, Contact, Phone, ScheduleWindow, Holiday,
                     ScheduleException, Contract, Note, Ticket, TicketEvent, WorkOrder,
                     KbArticle]


class _Gen:
    """Generates the rows of one chunk of accounts."""

    def __init__(self, rng: random.Random, ids: _Ids, passcodes: list[str],
                 duress: list[str]) -> None:
        self.rng = rng
        self.ids = ids
        self.passcodes = passcodes
        self.duress = duress
        # Guard companies' control rooms: one number on several accounts each.
        self.guard_numbers = [f"+86{c[2]}{rng.randrange(20_000_000, 99_999_999)}"
                              for c in CITIES for _ in range(200)]
        self.rows: dict[str, list[dict[str, Any]]] = {t.__tablename__: [] for t in TABLES}

    def _add(self, model: Any, row: dict[str, Any]) -> int:
        row["id"] = self.ids.take(model.__tablename__)
        self.rows[model.__tablename__].append(row)
        return int(row["id"])

    def person(self, lang: str) -> str:
        r = self.rng
        if lang == "en":
            return f"{r.choice(FIRST)} {r.choice(LAST)}"
        return r.choice(SURNAMES) + r.choice(GIVEN)

    def mobile(self) -> tuple[str, str]:
        r = self.rng
        prefix = r.choice(MOBILE_PREFIXES)
        a, b = r.randrange(10_000), r.randrange(10_000)
        digits = f"{prefix}{a:04d}{b:04d}"
        raw = r.choice([f"{prefix} {a:04d} {b:04d}", digits, f"+86-{prefix}-{a:04d}-{b:04d}",
                        f"+86 {digits}"])
        return raw, "+86" + digits

    def landline(self, city: tuple[Any, ...]) -> tuple[str, str]:
        code = city[2]
        local = str(self.rng.randrange(20_000_000, 99_999_999))
        raw = self.rng.choice([f"0{code}-{local}", f"(0{code}) {local[:4]} {local[4:]}",
                               f"+86 {code} {local}"])
        return raw, f"+86{code}{local}"

    def account(self, k: int, now: datetime) -> None:
        r = self.rng
        lang = "en" if r.random() < 0.2 else "zh-CN"
        city = r.choice(CITIES)
        business = r.random() < 0.5
        person = self.person(lang)
        if not business:
            name = person
            ptype = "home"
        elif lang == "en":
            name = f"{r.choice(LAST)} {r.choice(EN_TRADE)} Ltd"
            ptype = r.choice(["office", "shop", "warehouse"])
        else:
            ptype = r.choice(["shop", "office", "factory", "bank", "school", "warehouse"])
            name = (f"{city[0][:-1]}{person}{r.choice(ZH_SHOP)}" if ptype == "shop"
                    else f"{city[0][:-1]}{r.choice(SURNAMES)}氏{r.choice(ZH_TRADE)}有限公司")
        status = r.choices(["active", "on_hold", "cancelled"], [92, 5, 3])[0]
        created = BASE_TIME + timedelta(minutes=r.randrange(0, 700 * 24 * 60))
        number = f"{k % ACCOUNTS_PER_PREFIX:04d}"
        prefix = f"{k // ACCOUNTS_PER_PREFIX + 1:02d}"
        account_id = self._add(Account, {
            "receiver_prefix": prefix, "number": number, "name": name, "status": status,
            "language": lang, "timezone": "Asia/Shanghai", "created_at": created,
            "updated_at": created})

        district, road = r.choice(city[5]), r.choice(city[6])
        n = r.randrange(1, 1999)
        if lang == "en":
            address = f"{n} {road[1]}, {district[1]}, {city[1]}"
        else:
            address = f"{city[0]}{district[0]}{road[0]}{n}号"
        if r.random() < 0.04:
            address = ""
        located = r.random() >= 0.08
        premises_id = self._add(Premises, {
            "account_id": account_id, "name": "" if ptype == "home" else name,
            "address": address,
            "latitude": round(city[3] + r.uniform(-0.15, 0.15), 6) if located else None,
            "longitude": round(city[4] + r.uniform(-0.15, 0.15), 6) if located else None,
            "type": ptype,
            "access_notes": r.choice(["", "", "钥匙在物业", "Key safe at the side gate, code with "
                                      "the owner", "保安24小时值班"]),
            "hazard_notes": r.choice(["", "", "", "有狗 dog on premises", "存放易燃物品"])})
        if r.random() < 0.8:
            raw, e164 = self.landline(city)
            self._add(Phone, {"account_id": account_id, "contact_id": None, "kind": "premises",
                              "raw": raw, "e164": e164})

        if r.random() < 0.94:
            make, model, protocol = r.choice(PANELS)
            panel_id = self._add(Panel, {
                "account_id": account_id, "premises_id": premises_id, "make": make,
                "model": model, "protocol": protocol, "account_code": number,
                "test_interval_minutes": None if r.random() < 0.07 else r.choice([1440, 1440,
                                                                                  720, 10080])})
            undescribed = r.random() < 0.1
            for zn in range(1, r.randint(2, 6) + 1):
                kind = r.choice(ZONE_KINDS)
                place = r.choice(ZONE_PLACES)
                desc = (f"{place[1]} {kind[1]}" if lang == "en" else f"{place[0]}{kind[0]}")
                self._add(Zone, {
                    "panel_id": panel_id, "number": zn,
                    "description": "" if undescribed and zn > 1 else desc,
                    "device_type": kind[2], "device_model": kind[3]})

        no_codes = r.random() < 0.08
        n_contacts = r.choices([0, 1, 2, 3], [3, 17, 50, 30])[0]
        roles = ["owner", "keyholder", "keyholder"] if r.random() >= 0.05 else ["other"] * 3
        for order in range(1, n_contacts + 1):
            role = roles[order - 1]
            if order == 3 and r.random() < 0.3:
                role = "guard"
            contact_id = self._add(Contact, {
                "account_id": account_id,
                "name": person if order == 1 else self.person(lang) if role != "guard"
                else ("保安公司值班室" if lang == "zh-CN" else "Guard company control room"),
                "role": role, "call_order": order,
                "passcode_hash": None if no_codes or r.random() < 0.15
                else r.choice(self.passcodes),
                "duress_hash": None if no_codes or r.random() < 0.5 else r.choice(self.duress),
                "notes": ""})
            if role == "guard":
                e164 = r.choice(self.guard_numbers)
                self._add(Phone, {"account_id": account_id, "contact_id": contact_id,
                                  "kind": "work", "raw": e164, "e164": e164})
                continue
            raw, e164 = self.mobile()
            self._add(Phone, {"account_id": account_id, "contact_id": contact_id,
                              "kind": "mobile", "raw": raw, "e164": e164})
            if r.random() < 0.08:
                raw, e164 = self.landline(city)
                self._add(Phone, {"account_id": account_id, "contact_id": contact_id,
                                  "kind": r.choice(["home", "work"]), "raw": raw, "e164": e164})

        if r.random() < (0.9 if business else 0.25):
            days = 6 if ptype == "shop" else 5
            opens = time(r.choice([7, 8, 9]), r.choice([0, 30]))
            closes = time(r.choice([17, 18, 21, 22]), r.choice([0, 30]))
            for wd in range(days):
                self._add(ScheduleWindow, {"account_id": account_id, "weekday": wd,
                                           "opens": opens, "closes": closes})
            if business and r.random() < 0.1:
                for day, hname in HOLIDAYS_2026:
                    self._add(Holiday, {"account_id": account_id, "day": day, "name": hname})
            if r.random() < 0.01:
                start = now + timedelta(days=r.randrange(1, 30))
                self._add(ScheduleException, {
                    "account_id": account_id, "starts_at": start,
                    "ends_at": start + timedelta(days=r.randrange(1, 7)),
                    "expected": "closed", "reason": r.choice(["装修 renovation", "holiday trip"])})

        if r.random() < 0.95:
            plan, fee = r.choice(PLANS)
            signed = created.date()
            self._add(Contract, {
                "account_id": account_id, "starts_on": signed,
                "ends_on": None if r.random() < 0.5 else signed + timedelta(days=3 * 365),
                "fee_plan": plan, "monthly_fee": fee,
                "payment_status": "overdue" if r.random() < 0.08 else "paid"})
        if r.random() < 0.05:
            self._add(Note, {"account_id": account_id, "author": "system:seed",
                             "created_at": created,
                             "body": r.choice(["老人独居，核实电话请耐心。", "Owner travels often; "
                                               "call the second keyholder first on weekdays.",
                                               "门口有监控，可远程查看。"])})
        if r.random() < 0.02:
            self.ticket(account_id, lang, now)

    def ticket(self, account_id: int, lang: str, now: datetime) -> None:
        r = self.rng
        kind = r.choice(["consultation", "complaint", "repair", "other"])
        created = now - timedelta(hours=r.randrange(1, 120))
        path = ["recorded", "assigned", "in_progress", "done", "closed"]
        reached = path[: r.randint(1, len(path))]
        subject = {"consultation": ("咨询缴费方式", "Question about fees"),
                   "complaint": ("投诉误报处理太慢", "Complaint: slow false-alarm handling"),
                   "repair": ("主机故障需上门维修", "Panel fault, visit needed"),
                   "other": ("更新联系人信息", "Update contact details")}[kind]
        at = created
        done_at = closed_at = None
        events = []
        for i, st in enumerate(reached):
            events.append((at, None if i == 0 else reached[i - 1], st))
            if st == "done":
                done_at = at
            if st == "closed":
                closed_at = at
            at = at + timedelta(minutes=r.randrange(5, 600))
        ticket_id = self._add(Ticket, {
            "account_id": account_id, "kind": kind,
            "subject": subject[1] if lang == "en" else subject[0], "body": "",
            "status": reached[-1], "assignee_id": None, "created_by": "system:seed",
            "created_at": created, "updated_at": events[-1][0],
            "due_at": created + timedelta(hours={"consultation": 24, "complaint": 48}.get(kind,
                                                                                      72)),
            "done_at": done_at, "closed_at": closed_at})
        for at_, before, after in events:
            self._add(TicketEvent, {"ticket_id": ticket_id, "at": at_, "actor": "system:seed",
                                    "from_status": before, "to_status": after, "note": ""})
        if kind == "repair":
            self._add(WorkOrder, {
                "account_id": account_id, "panel_id": None, "ticket_id": ticket_id,
                "summary": subject[1] if lang == "en" else subject[0], "details": "",
                "status": "open", "technician": "", "scheduled_for": None,
                "completed_at": None, "created_by": "system:seed", "created_at": created})


@lru_cache(maxsize=1)
def _code_pool() -> tuple[list[str], list[str]]:
    """argon2 hashes of the demo passcodes and duress codes, computed once per process."""
    return [hash_code(c) for c in DEMO_PASSCODES], [hash_code(c) for c in DEMO_DURESS]


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


async def _flush(conn: AsyncConnection, rows: dict[str, list[dict[str, Any]]],
                 counts: dict[str, int]) -> None:
    for model in TABLES:  # parents before children
        table: Table = model.__table__
        batch = rows[table.name]
        if batch:
            await conn.execute(insert(table), batch)
            counts[table.name] = counts.get(table.name, 0) + len(batch)
            batch.clear()


async def create_demo_users(db: Database, sip: SipPasswords) -> int:
    """The demo logins (README lists them), unless any user exists; each phone user gets a
    generated SIP password. On a database that has users, those with a phone extension but no
    readable SIP password get one (so a production phone can register after ``vigil seed``)."""
    clock = SystemClock()
    actor = audit.Actor.system("seed")
    async with db.transaction() as s:
        if (await s.execute(select(func.count()).select_from(User))).scalar_one():
            await fill_in_sip_passwords(s, clock, actor, sip)
            return 0
        for username, name, role, ext, lang in DEMO_USERS:
            await create_user(s, clock, actor, username=username, password=DEMO_PASSWORD,
                              role=role, display_name=name, language=lang, extension=ext,
                              sip=sip)
    return len(DEMO_USERS)


async def seed(db: Database, accounts: int, seed: int = 1, *, users: bool = True,
               sip: SipPasswords | None = None, chunk: int = 5_000) -> dict[str, Any]:
    """Add ``accounts`` generated subscribers (and the demo users, whose SIP passwords ``sip``
    seals); returns counts and time."""
    started = _time.perf_counter()
    if users and sip is None:
        raise ValueError("seeding users needs the SIP password sealer (Settings.secret_key)")
    created_users = await create_demo_users(db, sip) if users and sip else 0
    rng = random.Random(seed)
    passcodes, duress = _code_pool()
    now = BASE_TIME + timedelta(days=730)
    counts: dict[str, int] = {}
    async with db.engine.connect() as conn:
        if db.dialect == "sqlite":  # a bigger page cache keeps the indexes in memory
            await conn.exec_driver_sql("PRAGMA cache_size=-200000")
        ids = _Ids()
        for model in TABLES:
            top = (await conn.execute(select(func.max(model.id)))).scalar_one()
            ids.next[model.__tablename__] = (top or 0) + 1
        taken = {(p, n) for p, n in (await conn.execute(
            select(Account.receiver_prefix, Account.number))).all()}
        gen = _Gen(rng, ids, passcodes, duress)
        if ids.next[KbArticle.__tablename__] == 1:
            for title, tags, body, lang in KB_ARTICLES:
                gen._add(KbArticle, {
                    "title": title, "tags": tags, "body": body, "language": lang,
                    "search_text": " ".join((title, tags, body)).lower(),
                    "views": rng.randrange(0, 50), "created_at": BASE_TIME,
                    "updated_at": BASE_TIME})
        k = 0
        for part in _chunks(accounts, chunk):
            for _ in part:
                while (f"{k // ACCOUNTS_PER_PREFIX + 1:02d}",
                       f"{k % ACCOUNTS_PER_PREFIX:04d}") in taken:
                    k += 1
                gen.account(k, now)
                k += 1
            await _flush(conn, gen.rows, counts)
            await conn.commit()  # one transaction per chunk keeps the journal small
        await _flush(conn, gen.rows, counts)
        await conn.commit()
        if db.dialect == "sqlite":
            await conn.exec_driver_sql("PRAGMA cache_size=-2000")
    elapsed = _time.perf_counter() - started
    async with db.transaction() as s:
        audit.record(s, audit.Actor.system("seed"), "seed", "account", "*",
                     note=f"seed={seed} accounts={accounts} rows={counts}", clock=SystemClock())
    return {"accounts": counts.get("crm_accounts", 0), "phones": counts.get("crm_phones", 0),
            "rows": counts, "users": created_users, "seconds": round(elapsed, 2)}
