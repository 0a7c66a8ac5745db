#!/usr/bin/env python3
"""An independent GigaLedger verifier, written from schema/FORMAT.md alone.

Usage: verify_ledger.py LEDGER.sqlite [AUTHORITY_KEY_ID]
Exit 0 and "verified N HEAD" when the ledger verifies; exit 1 and "entry N: reason" when not (or
when its genesis authority is not AUTHORITY_KEY_ID, the root of trust, when given); exit 2 when
the file cannot be read.
Needs Python 3 and the `cryptography` package (Ed25519); nothing from GigaLedger's code.
"""
import datetime
import hashlib
import json
import os
import re
import sqlite3
import sys
import urllib.parse
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HASH_PREFIX = b"gigaledger/entry/v1\n"
SIG_PREFIX = b"gigaledger/entry-signature/v1\n"
KEY_ID_PREFIX = b"gigaledger/key-id/v1\n"
MEMBER_STATES = set("AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
CENTS_MAX = 10_000_000_000_000
ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\Z")


class Fail(Exception):
    pass


class Newer(Exception):
    """An entry of a later entry format (gigaledger/entry/vN, N > 1): this verifier cannot judge it."""


# Section 9: a public key must be a canonical encoding of a point of the prime-order subgroup, not of
# small order (what libsodium's crypto_core_ed25519_is_valid_point accepts); a signature's R must not
# be of small order and its S must be below L (what libsodium's crypto_sign_verify_detached checks
# beyond RFC 8032). Plain Ed25519 arithmetic, from RFC 8032 section 5.1.
P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_decode(encoded):
    """RFC 8032 5.1.3; None when not a canonical encoding of a curve point."""
    if len(encoded) != 32:
        return None
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    sign = encoded[31] >> 7
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def point_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    cc, dd = 2 * D * t1 * t2 % P, 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(k, point):
    result = (0, 1, 1, 0)
    while k:
        if k & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        k >>= 1
    return result


def is_identity(point):
    x, y, z, _ = point
    return x % P == 0 and (y - z) % P == 0


def valid_public_key(encoded):
    point = point_decode(encoded)
    return point is not None and not is_identity(point_mul(8, point)) and is_identity(point_mul(L, point))


def strict_signature(signature):
    r = point_decode(signature[:32])
    return len(signature) == 64 and r is not None and not is_identity(point_mul(8, r)) and int.from_bytes(signature[32:], "little") < L


def canonical(value):
    """Section 4: the one spelling of a JSON value."""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise Fail("integer out of range")
        return str(value).encode()
    if isinstance(value, str):
        out = bytearray(b'"')
        for ch in value:
            if ch == '"':
                out += b'\\"'
            elif ch == "\\":
                out += b"\\\\"
            elif ord(ch) < 0x20:
                out += b"\\u%04x" % ord(ch)
            else:
                out += ch.encode("utf-8")
        return bytes(out + b'"')
    if isinstance(value, list):
        return b"[" + b",".join(canonical(v) for v in value) + b"]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-8"))
        return b"{" + b",".join(canonical(k) + b":" + canonical(value[k]) for k in keys) + b"}"
    raise Fail("value of a type canonical JSON does not have: %r" % (value,))


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Fail("duplicate key")
    return dict(pairs)


def parse_body(raw):
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates, parse_float=lambda s: float(s),
                           parse_constant=lambda s: None)
    except (UnicodeDecodeError, ValueError) as error:
        raise Fail("body is not JSON: %s" % error)
    if canonical(value) != raw:
        raise Fail("body is not canonical JSON")
    return value


def key_id(public_key):
    """Section 9: 8 bytes of SHA-256, written little-endian in upper-case hex."""
    return hashlib.sha256(KEY_ID_PREFIX + public_key).digest()[:8][::-1].hex().upper()


def members(obj, names, optional=()):
    if not isinstance(obj, dict) or not set(names) <= set(obj) or not set(obj) <= set(names) | set(optional):
        raise Fail("members are %s, expected %s" % (sorted(obj) if isinstance(obj, dict) else obj, sorted(names)))
    return obj


# Section 5, "Text": the White_Space code points a text may not start or end with, and the code
# points no text may hold: general categories Cc, Cf, Zl and Zp as of Unicode 16.0, listed (not
# read from this Python's unicodedata, whose Unicode version may be another).
WHITE_SPACE = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000}
REFUSED_IN_TEXT = [
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
]


# Section 5, "country": the 249 codes ISO 3166-1 alpha-2 assigned officially (2024), Greece as EL
# (GR is never stored), and no others (XK, UK, EU refused).
COUNTRIES = set("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GS GT GU GW GY HK HM HN
HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI
LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC
NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA
SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW EL
""".split())


def refused_in_text(c):
    point = ord(c)
    return any(low <= point <= high for low, high in REFUSED_IN_TEXT)


def text(value, limit, empty=False):
    if not isinstance(value, str) or len(value.encode()) > limit or (not value and not empty):
        raise Fail("bad text %r" % (value,))
    if any(refused_in_text(c) for c in value):
        raise Fail("text holds a control, format or separator character: %r" % (value,))
    if value and (ord(value[0]) in WHITE_SPACE or ord(value[-1]) in WHITE_SPACE):
        raise Fail("text starts or ends with white space: %r" % (value,))
    return value


def origin(value):
    """Section 5: a C2SP signed-note key name: no white space anywhere, no '+'."""
    text(value, 200)
    if any(ord(c) in WHITE_SPACE or c == "+" for c in value):
        raise Fail("origin is not a C2SP key name: %r" % (value,))
    return value


def ident(value):
    if not isinstance(value, str) or not ID.match(value):
        raise Fail("bad id %r" % (value,))
    return value


def cents(value, zero=False):
    if type(value) is not int or not (0 if zero else 1) <= value <= CENTS_MAX:
        raise Fail("bad cents %r" % (value,))
    return value


def date(value):
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise Fail("bad date %r" % (value,))
    try:
        parsed = datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Fail("bad date %r" % (value,))
    if len(value) != 10 or not datetime.date(2021, 1, 1) <= parsed <= datetime.date(2099, 12, 31):
        raise Fail("bad date %r" % (value,))
    return value


def choice(value, options):
    if value not in options:
        raise Fail("%r is not one of %s" % (value, options))
    return value


def source(value):
    if value == "eu":
        return value
    if isinstance(value, str) and value.startswith("ms:") and value[3:] in MEMBER_STATES:
        return value
    if isinstance(value, str) and value.startswith("private:"):
        ident(value[8:])
        return value
    raise Fail("bad source %r" % (value,))


def scope(value):
    if isinstance(value, str) and value.startswith("factory:"):
        ident(value[8:])
        return value
    return source(value)


def enrolment(data):
    public_key = __import__("base64").b64decode(data["public_key"], validate=True)
    if len(public_key) != 32 or __import__("base64").b64encode(public_key).decode() != data["public_key"]:
        raise Fail("bad public key")
    if key_id(public_key) != data["key_id"]:
        raise Fail("key_id does not match public_key")
    if not valid_public_key(public_key):
        raise Fail("public key is not a valid Ed25519 key (small order, not canonical or not on the curve)")
    text(data["name"], 200)
    role = choice(data["role"], ["authority", "officer", "auditor", "log"])
    scopes = data["scopes"]
    if not isinstance(scopes, list) or len(scopes) > 64 or len(set(scopes)) != len(scopes):
        raise Fail("bad scopes")
    for s in scopes:
        scope(s)
    if (role == "officer") != bool(scopes):
        raise Fail("scopes are for officers only, and officers need one")
    return {"public_key": public_key, "role": role, "scopes": scopes}


ENROL = ["key_id", "public_key", "name", "role", "scopes"]
TYPES = {
    "genesis": ENROL + ["origin"],
    "key-enroll": ENROL,
    "key-revoke": ["key_id", "reason"],
    "factory-register": ["id", "name", "kind", "hosts", "capex_cents"],
    "factory-amend": ["id", "name", "kind", "hosts", "capex_cents", "reason"],
    "partner-amend": ["id", "name", "country", "sme", "reason"],
    "partner-register": ["id", "name", "country", "sme"],
    "contribution": ["factory", "source", "amount_cents", "date", "category", "kind", "ref"],
    "access": ["factory", "beneficiary", "category", "gpu_hours", "date", "pool", "commercial", "charge_cents"],
    "correction": ["entry", "reason"],
    "policy": ["policy", "version", "title", "rules"],
    "import": ["file_name", "file_sha256", "rows"],
    "countersign": ["entry", "reason"],
    "report-issue": ["entry_count", "period", "summary_sha256"],
}
# Section 4: the formats this verifier reads; section 5: the types and optional members format v2 added.
FORMATS = {"gigaledger/entry/v1": 1, "gigaledger/entry/v2": 2}
V2_TYPES = {"countersign", "report-issue"}
V2_OPTIONAL = {"factory-register": ["allow_twin"], "partner-register": ["allow_twin"], "factory-amend": ["effective_from"],
               "partner-amend": ["effective_from"], "contribution": ["allow_duplicate"], "access": ["allow_duplicate", "partner"]}
# Section 5, "policy": every rule gigaledger knows, its value's member, and whether every policy has it.
POLICY_RULES = {
    "union-capex-share-max-gigafactory": ("basis_points", True), "union-acquisition-share-max-ai-factory": ("basis_points", True),
    "union-opex-share-max-ai-factory": ("basis_points", True), "matching-min-gigafactory": ("basis_points", True),
    "union-access-share-max": ("basis_points", True), "union-access-proportionality-tolerance": ("basis_points", True),
    "commercial-share-of-union-access-max": ("basis_points", True), "union-access-free-for": ("categories", True),
    "sme-startup-access-share-min": ("basis_points", True), "host-states-commit-gigafactory": (None, False),
    "union-access-free-for-startups": ("categories", False), "commercial-union-access-charged": (None, False),
    "union-contribution-max-programme": ("cents", False), "matching-min-programme": ("basis_points", False),
    "union-opex-at-gigafactory": (None, False), "host-commitment-min-share": ("basis_points", False),
    "commercial-charge-min": ("cents", False), "access-participant-consistent": (None, False),
}
# Section 5: members an entry type may leave out.
OPTIONAL = {"factory-register": ["opex_cents"], "factory-amend": ["opex_cents"], "access": ["country"], "policy": ["effective_from"]}
CATEGORIES = ["sme", "startup", "scaleup", "research", "public", "industry"]


def check_values(kind, d):
    """Section 5."""
    for flag in ("allow_twin", "allow_duplicate"):
        if flag in d and d[flag] is not True:
            raise Fail("bad %s: written only as true" % flag)
    if "effective_from" in d and kind != "policy":
        date(d["effective_from"])
    if "partner" in d:
        ident(d["partner"])
    if kind == "countersign":
        if type(d["entry"]) is not int or d["entry"] < 1:
            raise Fail("bad entry")
        text(d["reason"], 500, empty=True)
        return None
    if kind == "report-issue":
        if type(d["entry_count"]) is not int or d["entry_count"] < 1 or not re.fullmatch(r"[0-9a-f]{64}", str(d["summary_sha256"])):
            raise Fail("bad report-issue")
        if not isinstance(d["period"], str):
            raise Fail("bad period")
        period = d["period"]
        quarter = re.fullmatch(r"([0-9]{4})-Q([1-4])", period)
        year = quarter.group(1) if quarter else period if re.fullmatch(r"[0-9]{4}", period) else None
        if year is None or not 2021 <= int(year) <= 2099:
            raise Fail("bad period")
        return None
    if kind in ("genesis", "key-enroll"):
        if kind == "genesis":
            origin(d["origin"])
        return enrolment(d)
    if kind == "key-revoke":
        if not re.fullmatch(r"[0-9A-F]{16}", str(d["key_id"])):
            raise Fail("bad key_id")
        text(d["reason"], 500)
    elif kind in ("factory-register", "factory-amend"):
        if kind == "factory-amend":
            text(d["reason"], 500)
        ident(d["id"]); text(d["name"], 200); choice(d["kind"], ["gigafactory", "ai-factory"]); cents(d["capex_cents"])
        if "opex_cents" in d:
            cents(d["opex_cents"])
        hosts = d["hosts"]
        if not isinstance(hosts, list) or not 1 <= len(hosts) <= 27 or len(set(hosts)) != len(hosts) or not set(hosts) <= MEMBER_STATES:
            raise Fail("bad hosts")
    elif kind in ("partner-register", "partner-amend"):
        if kind == "partner-amend":
            text(d["reason"], 500)
        ident(d["id"]); text(d["name"], 200)
        if not isinstance(d["sme"], bool) or not isinstance(d["country"], str) or d["country"] not in COUNTRIES:
            raise Fail("bad partner")
    elif kind == "contribution":
        ident(d["factory"]); source(d["source"]); cents(d["amount_cents"]); date(d["date"])
        choice(d["category"], ["capex", "opex"]); choice(d["kind"], ["commitment", "payment"]); text(d["ref"], 500, empty=True)
    elif kind == "access":
        ident(d["factory"]); text(d["beneficiary"], 200); date(d["date"]); cents(d["charge_cents"], zero=True)
        if "country" in d and (not isinstance(d["country"], str) or d["country"] not in COUNTRIES):
            raise Fail("bad country")
        choice(d["category"], ["sme", "startup", "scaleup", "research", "public", "industry"]); choice(d["pool"], ["union", "host"])
        if type(d["gpu_hours"]) is not int or not 1 <= d["gpu_hours"] <= 10_000_000_000 or not isinstance(d["commercial"], bool):
            raise Fail("bad access")
    elif kind == "correction":
        if type(d["entry"]) is not int or d["entry"] < 1:
            raise Fail("bad entry")
        text(d["reason"], 500)
    elif kind == "import":
        text(d["file_name"], 200)
        if not re.fullmatch(r"[0-9a-f]{64}", str(d["file_sha256"])) or type(d["rows"]) is not int or d["rows"] < 1:
            raise Fail("bad import record")
    elif kind == "policy":
        ident(d["policy"]); text(d["title"], 500)
        if type(d["version"]) is not int or d["version"] < 1 or not isinstance(d["rules"], list):
            raise Fail("bad policy")
        if "effective_from" in d:
            date(d["effective_from"])
        ids = [rule.get("id") if isinstance(rule, dict) else None for rule in d["rules"]]
        if len(set(map(str, ids))) != len(ids) or not set(ids) <= set(POLICY_RULES) \
                or any(required and rule_id not in ids for rule_id, (_, required) in POLICY_RULES.items()):
            raise Fail("policy rules are not known ones, once each, with every required one")
        for rule in d["rules"]:
            value = POLICY_RULES[rule["id"]][0]
            members(rule, ["id", "source", "confidence", "note"] + ([value] if value else []))
            if value == "categories":
                cats = rule["categories"]
                if not isinstance(cats, list) or not cats or any(c not in CATEGORIES for c in cats) or len(set(cats)) != len(cats):
                    raise Fail("bad categories")
            elif value == "basis_points":
                if type(rule["basis_points"]) is not int or not 0 <= rule["basis_points"] <= 1_000_000:
                    raise Fail("bad basis_points")
            elif value == "cents":
                cents(rule["cents"])
            text(rule["source"], 500); text(rule["note"], 500); choice(rule["confidence"], ["law", "recital", "reported", "policy", "absent"])
    return None


class Ledger:
    def __init__(self):
        self.keys = {}          # key ID -> {"public_key", "role", "scopes", "seq", "revoked"}
        self.factories = {}
        self.partners = {}
        self.corrections = {}   # corrected seq -> seq
        self.bodies = {}        # seq -> (type, data) of contributions and access records
        self.amendments = {}    # seq -> signer of each factory-amend
        self.version = None     # the format version of the last entry
        self.index = {"keys": [], "key_revocations": [], "factories": [], "partners": [], "corrections": [], "imports": [], "facts": [], "near_facts": []}

    def may_sign(self, key, kind, d):
        """Section 6, rule 3."""
        if kind in ("key-enroll", "key-revoke", "factory-register", "partner-register", "factory-amend", "partner-amend", "policy",
                    "countersign", "report-issue"):
            return key["role"] == "authority"
        if kind == "contribution":
            return key["role"] == "authority" or (key["role"] == "officer" and d["source"] in key["scopes"])
        if kind == "access":
            return key["role"] == "authority" or (key["role"] == "officer" and "factory:" + d["factory"] in key["scopes"])
        if kind == "correction":
            original = self.bodies.get(d["entry"])
            return original is not None and self.may_sign(key, *original)
        if kind == "import":
            return key["role"] in ("authority", "officer")
        return False

    def check(self, seq, kind, d, signer):
        """Section 6; returns the public key that must have signed."""
        if kind == "genesis" or seq == 1:
            if kind != "genesis" or seq != 1 or d["role"] != "authority" or d["key_id"] != signer:
                raise Fail("entry 1 must be the genesis, signed by the authority key it enrols")
            return
        key = self.keys.get(signer)
        if key is None:
            raise Fail("signer %s is not enrolled" % signer)
        if key["revoked"] is not None:
            raise Fail("signer %s was revoked at entry %d" % (signer, key["revoked"]))
        if not self.may_sign(key, kind, d):
            raise Fail("signer %s may not sign this %s" % (signer, kind))
        if kind == "key-enroll" and d["key_id"] in self.keys:
            raise Fail("key enrolled twice")
        if kind == "key-revoke":
            target = self.keys.get(d["key_id"])
            if target is None or target["revoked"] is not None:
                raise Fail("revokes a key that is not active")
            active = [k for k in self.keys.values() if k["role"] == "authority" and k["revoked"] is None]
            if target["role"] == "authority" and len(active) <= 1:
                raise Fail("revokes the last authority key")
        if kind == "factory-register" and d["id"] in self.factories:
            raise Fail("factory registered twice")
        if kind == "partner-register" and d["id"] in self.partners:
            raise Fail("partner registered twice")
        if kind == "factory-amend" and d["id"] not in self.factories:
            raise Fail("amends a factory never registered")
        if kind == "partner-amend" and d["id"] not in self.partners:
            raise Fail("amends a partner never registered")
        if kind in ("contribution", "access") and d["factory"] not in self.factories:
            raise Fail("unknown factory")
        if kind == "contribution" and d["source"].startswith("private:") and d["source"][8:] not in self.partners:
            raise Fail("unknown partner")
        if kind == "access" and "partner" in d and d["partner"] not in self.partners:
            raise Fail("unknown partner")
        if kind == "countersign" and (d["entry"] >= seq or d["entry"] not in self.amendments):
            raise Fail("countersigns an entry that is not an earlier factory-amend")
        if kind == "countersign" and self.amendments[d["entry"]] == signer:
            raise Fail("countersigned by the key that signed the amendment")
        if kind == "countersign" and key["seq"] >= d["entry"]:
            raise Fail("countersigned by a key enrolled after the amendment")
        if kind == "report-issue" and d["entry_count"] >= seq:
            raise Fail("a report issued at a state not before it")
        if kind == "import" and (d["rows"] >= seq or any(seq - back not in self.bodies for back in range(1, d["rows"] + 1))):
            raise Fail("an import record must follow its rows: contributions or access records")
        if kind == "correction" and (d["entry"] >= seq or d["entry"] not in self.bodies or d["entry"] in self.corrections):
            raise Fail("corrects an entry that is not an uncorrected earlier contribution or access record")

    def apply(self, seq, kind, d, enrolled):
        """Section 7: what each entry adds."""
        if enrolled is not None:
            self.keys[d["key_id"]] = dict(enrolled, seq=seq, revoked=None)
            scopes = canonical(d["scopes"]).decode()
            self.index["keys"].append((d["key_id"], enrolled["public_key"], d["name"], d["role"], scopes, seq))
        elif kind == "key-revoke":
            self.keys[d["key_id"]]["revoked"] = seq
            self.index["key_revocations"].append((d["key_id"], seq))
        elif kind == "factory-register":
            self.factories[d["id"]] = seq
            self.index["factories"].append((d["id"], seq))
        elif kind == "partner-register":
            self.partners[d["id"]] = seq
            self.index["partners"].append((d["id"], seq))
        elif kind == "correction":
            self.corrections[d["entry"]] = seq
            self.index["corrections"].append((d["entry"], seq))
        elif kind == "import":
            self.index["imports"].append((d["file_sha256"], seq))
        if kind in ("contribution", "access"):
            self.bodies[seq] = (kind, d)


def leaf_hash(entry_hash):
    """Section 11: RFC 9162 leaf and node hashes over the entry hashes."""
    return hashlib.sha256(b"\x00" + entry_hash).digest()


def tree_root(stack):
    """The root of a tree given its complete subtrees, largest first (a compact range)."""
    if not stack:
        return hashlib.sha256(b"").digest()
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = hashlib.sha256(b"\x01" + left + root).digest()
    return root


def tree_append(stack, leaf, index):
    """Adds leaf `index`; returns the complete subtrees it finishes as (level, idx, hash), leaf first."""
    level, node, finished = 0, leaf, [(0, index, leaf)]
    while stack and stack[-1][0] == level:
        node = hashlib.sha256(b"\x01" + stack.pop()[1] + node).digest()
        level += 1
        index >>= 1
        finished.append((level, index, node))
    stack.append((level, node))
    return finished


def open_checkpoint(note, origin, keys):
    """Section 12: a C2SP signed note whose text is origin, size, base64 root; at least one
    signature line by one of `keys` under the name `origin`, and every such line verifies."""
    if len(note.encode()) > 16384:
        raise Fail("stored checkpoint is larger than 16,384 bytes")
    text, blank, lines = note.partition("\n\n")
    if not blank or not lines.endswith("\n"):
        raise Fail("stored checkpoint is not a signed note")
    text += "\n"
    parts = text.split("\n")
    if len(parts) != 4 or parts[3] or parts[0] != origin or not re.fullmatch(r"0|[1-9][0-9]*", parts[1]):
        raise Fail("stored checkpoint text is not this ledger's checkpoint")
    root = __import__("base64").b64decode(parts[2], validate=True)
    if len(root) != 32:
        raise Fail("stored checkpoint root is not 32 bytes")
    known = 0
    signature_lines = lines[:-1].split("\n")
    if len(signature_lines) > 100:
        raise Fail("stored checkpoint has more than 100 signature lines")
    for line in signature_lines:
        # Section 12: "— ", a name of one or more code points without a space, one space, base64
        # of at least 5 bytes; any other line makes the note malformed, whoever's it is.
        fields = line[2:].split(" ")
        if not line.startswith("\u2014 ") or len(fields) != 2 or not fields[0]:
            raise Fail("stored checkpoint has a malformed signature line")
        name, blob = fields
        blob = __import__("base64").b64decode(blob, validate=True)
        if len(blob) < 5:
            raise Fail("stored checkpoint has a malformed signature line")
        for public_key in keys:
            if name == origin and blob[:4] == hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]:
                known += 1
                try:
                    Ed25519PublicKey.from_public_bytes(public_key).verify(blob[4:], text.encode())
                except InvalidSignature:
                    raise Fail("stored checkpoint signature does not verify")
    if not known:
        raise Fail("stored checkpoint is not signed by an active authority key")
    return int(parts[1]), root


def check_cosignature(row, texts, state):
    """Section 12: a stored cosignature is by an enrolled auditor key, of a stored checkpoint that
    verified, and verifies (C2SP tlog-cosignature) over that checkpoint's text."""
    size, key_id, line = row
    key = state.keys.get(key_id)
    if size not in texts or key is None or key["role"] != "auditor":
        raise Fail("stored cosignature of checkpoint %d by %s is not by an auditor of a kept checkpoint" % (size, key_id))
    if key["revoked"] is not None and key["revoked"] <= size:
        raise Fail("stored cosignature of checkpoint %d by %s is by an auditor key revoked at or before its size" % (size, key_id))
    if not line.startswith("\u2014 ") or len(line[2:].split(" ")) != 2:
        raise Fail("stored cosignature line is malformed")
    name, blob = line[2:].split(" ")
    blob = __import__("base64").b64decode(blob, validate=True)
    if len(blob) != 76 or blob[:4] != hashlib.sha256(name.encode() + b"\n\x04" + key["public_key"]).digest()[:4]:
        raise Fail("stored cosignature is not by its key")
    message = b"cosignature/v1\ntime %d\n" % int.from_bytes(blob[4:12], "big") + texts[size].encode()
    try:
        Ed25519PublicKey.from_public_bytes(key["public_key"]).verify(blob[12:], message)
    except InvalidSignature:
        raise Fail("stored cosignature does not verify")


def check_checkpoint(row, origin, state, stack):
    size, root, note, signed_at = row
    keys = [k["public_key"] for k in state.keys.values() if k["role"] in ("authority", "log") and k["revoked"] is None]
    note_size, note_root = open_checkpoint(note, origin, keys)
    if note_size != size or note_root != root:
        raise Fail("stored checkpoint %d: its columns differ from its signed note" % size)
    if root != tree_root(stack):
        raise Fail("stored checkpoint %d has another root than the entries give" % size)
    utc_time(signed_at)
    return note.partition("\n\n")[0] + "\n"


MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migrations")


def schema_objects(db):
    # SQLite's statistics tables (made by ANALYZE) are SQLite's own, not the schema's.
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\'").fetchall()
    return sorted(rows, key=lambda o: (o[0], o[1]))


def schema_difference(db):
    """Section 1: the schema is exactly what the migrations recorded in grdb_migrations make, and
    they are the first of schema/migrations/*.sql, in order."""
    known = sorted(name[:-4] for name in os.listdir(MIGRATIONS) if name.endswith(".sql"))
    applied = [row[0] for row in db.execute("SELECT identifier FROM grdb_migrations ORDER BY identifier")]
    if not applied or applied != known[:len(applied)]:
        return "the migrations recorded (%s) are not the first of %s" % (", ".join(applied), ", ".join(known))
    expected = sqlite3.connect(":memory:")
    expected.execute("CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
    for name in applied:
        with open(os.path.join(MIGRATIONS, name + ".sql"), encoding="utf-8") as migration:
            expected.executescript(migration.read())
    want, have = schema_objects(expected), schema_objects(db)
    for item in want:
        if item not in have:
            return "%s %s is missing or not defined as the schema defines it" % (item[0], item[1])
    for item in have:
        if item not in want:
            return "%s %s is not part of the schema" % (item[0], item[1])
    return None


UTC_TIME = re.compile(r"(20[2-9][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z", re.ASCII)


def utc_time(value):
    """Section 4: YYYY-MM-DDTHH:MM:SSZ, ASCII digits, a real time from 2021-01-01 to 2099-12-31."""
    if not isinstance(value, str) or not UTC_TIME.match(value) or not "2021" <= value[:4] <= "2099":
        raise Fail("bad UTC time %r" % (value,))
    datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    return value


def open_ledger(path):
    """Read-only; on read-only media (no -shm can be made) as immutable, section 1."""
    uri = "file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(path))
    db = sqlite3.connect(uri, uri=True)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        db = sqlite3.connect(uri + "&immutable=1", uri=True)
    return db


def near_key(tag, text):
    """Section 7, `near_facts`: the first 8 bytes of SHA-256 of the tag and the text, big-endian, signed; 0 is taken as 1."""
    value = int.from_bytes(hashlib.sha256(tag + text.encode("utf-8")).digest()[:8], "big", signed=True)
    return 1 if value == 0 else value


def folded_name(name):
    """Section 7, `near_facts`: NFKD, lower case (final sigma as sigma), only letters and digits (categories L, N); a name with none as it is."""
    kept = "".join(c for c in unicodedata.normalize("NFKD", name).lower().replace("\u03c2", "\u03c3") if unicodedata.category(c)[0] in "LN")
    return kept if kept else name


def near_keys(kind, d):
    """Section 7, `near_facts`: (amount_key, ref_key) of a contribution or access record's data."""
    days = (datetime.date.fromisoformat(d["date"]) - datetime.date(1970, 1, 1)).days
    week = str(days // 7)  # rounded down, also before 1970
    if kind == "contribution":
        fields = ["contribution", d["factory"], d["source"], d["kind"], d["category"], str(d["amount_cents"]), week]
        ref = d["ref"]
        folded = bytes(b + 32 if 0x41 <= b <= 0x5A else b for b in ref.encode("utf-8")).decode("utf-8")
        ref_key = near_key(b"gigaledger/ref/v1\n", d["source"] + "\n" + folded) if ref else 0
    else:
        fields = ["access", d["factory"], folded_name(d["beneficiary"]), str(d["gpu_hours"]), week]
        ref_key = 0
    return (near_key(b"gigaledger/near/v1\n", "\n".join(fields)), ref_key)


def verify(path, authority_key_id=None):
    db = open_ledger(path)
    # Text read whole and as UTF-8; bytes that are not UTF-8 become U+FFFD, which matches nothing.
    db.text_factory = lambda data: data.decode("utf-8", "replace")
    if db.execute("PRAGMA application_id").fetchone()[0] != 0x474C4447:
        raise SystemExit("not a GigaLedger ledger")
    difference = schema_difference(db)
    if difference:
        return 0, "the ledger file: schema: %s" % difference
    state, h, n = Ledger(), bytes(32), 1
    stack, origin, texts, pending_root = [], None, {}, None
    # Section 1: a table a migration the file has not recorded would make is absent and holds
    # nothing (a ledger of 0001 alone has no merkle_nodes, checkpoints, imports, ...).
    def has_table(name):
        return db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()[0] > 0
    stores_tree = has_table("merkle_nodes")
    nodes = {(level, idx): node for level, idx, node in db.execute("SELECT level, idx, hash FROM merkle_nodes")} if stores_tree else {}
    checkpoints = db.execute("SELECT size, root, note, signed_at FROM checkpoints ORDER BY size").fetchall() if has_table("checkpoints") else []
    # Section 7: the stored index rows, compared in section 8's order as each entry implies its own.
    columns = {"keys": "key_id, public_key, name, role, scopes, seq", "key_revocations": "key_id, seq",
               "factories": "id, seq", "partners": "id, seq", "corrections": "corrected_seq, seq",
               "imports": "file_sha256, seq", "facts": "digest, seq", "near_facts": "amount_key, ref_key, seq"}
    stored_index = {table: db.execute("SELECT %s FROM %s ORDER BY seq" % (cols, table)).fetchall()
                    for table, cols in columns.items() if has_table(table)}
    compared = {table: 0 for table in stored_index}
    rows = db.execute("SELECT seq, type, body, prev_hash, hash, signer, signature, recorded_at FROM entries ORDER BY seq")
    for seq, kind, body, prev, stored, signer, signature, recorded_at in rows:
        try:
            if seq != n:
                raise Fail("missing")
            if prev != h:
                raise Fail("prev_hash does not link")
            if hashlib.sha256(HASH_PREFIX + prev + body).digest() != stored:
                raise Fail("hash does not match")
            top = members(parse_body(body), ["data", "format", "recorded_at", "seq", "signer", "type"])
            newer = re.match(r"gigaledger/entry/v([1-9][0-9]*)\Z", top["format"]) if isinstance(top["format"], str) else None
            if newer and int(newer.group(1)) > max(FORMATS.values()):
                raise Newer("entry %d: written by a newer GigaLedger (body format %s; this verifier reads gigaledger/entry/v1 and v2)" % (seq, top["format"]))
            version = FORMATS.get(top["format"]) if isinstance(top["format"], str) else None
            if version is None or top["type"] not in TYPES or (version < 2 and top["type"] in V2_TYPES):
                raise Fail("unknown format or type")
            if state.version is not None and version < state.version:
                raise Fail("format goes back (an entry of v%d after v%d)" % (version, state.version))
            if (top["seq"], top["type"], top["signer"], top["recorded_at"]) != (seq, kind, signer, recorded_at):
                raise Fail("columns differ from the body")
            utc_time(recorded_at)
            if len(body) > 65536:
                raise Fail("body is more than 65,536 bytes")
            d = members(top["data"], TYPES[kind], OPTIONAL.get(kind, []) + (V2_OPTIONAL.get(kind, []) if version >= 2 else []))
            enrolled = check_values(kind, d)
            if version >= 2 and kind == "contribution" and d["kind"] == "payment" and \
                    (datetime.date.fromisoformat(d["date"]) - datetime.date.fromisoformat(recorded_at[:10])).days > 1:
                raise Fail("a payment dated more than 1 day after the day it is recorded")
            state.check(seq, kind, d, signer)
            public_key = enrolled["public_key"] if kind == "genesis" else state.keys[signer]["public_key"]
            try:
                if not strict_signature(signature):
                    raise InvalidSignature()
                Ed25519PublicKey.from_public_bytes(public_key).verify(signature, SIG_PREFIX + stored)
            except InvalidSignature:
                raise Fail("signature does not verify")
            state.apply(seq, kind, d, enrolled)
            state.version = version
            if kind == "factory-amend":
                state.amendments[seq] = signer
            if pending_root is not None and signer == pending_root and kind != "genesis" and state.keys[signer]["role"] == "authority":
                pending_root = None  # section 12: an entry the trusted later authority signed vouches for the chain before it
            if kind in ("contribution", "access"):
                # Section 7, `facts`: SHA-256 of the tag and the bytes of the body's `data` object.
                data_bytes = body[len(b'{"data":'):body.index(b',"format":"')]
                digest = hashlib.sha256(b"gigaledger/facts/v1\n" + data_bytes).digest()
                state.index["facts"].append((int.from_bytes(digest[:8], "big", signed=True), seq))
                state.index["near_facts"].append(near_keys(kind, d) + (seq,))
            if kind == "genesis":
                origin = d["origin"]
                # The root of trust, when the auditor gives it: the authority key the genesis enrols,
                # or (section 12, a rotated root) a later authority key that signed a stored
                # checkpoint while it was valid: checked when the checkpoints are reached.
                if authority_key_id is not None and d["key_id"] != authority_key_id:
                    pending_root = authority_key_id
            for table, rows_stored in stored_index.items():
                # Section 8, step 9: the rows this entry implies are the next stored rows of each table.
                while compared[table] < len(state.index[table]):
                    i = compared[table]
                    if i >= len(rows_stored) or rows_stored[i] != state.index[table][i]:
                        raise Fail("index table %s does not match the entries (its row for this entry is missing or differs)" % table)
                    compared[table] += 1
            for level, idx, node in tree_append(stack, leaf_hash(stored), n - 1):
                # Section 11: every complete subtree is stored once, with the hash the entries give.
                if stores_tree and nodes.pop((level, idx), None) != node:
                    raise Fail("merkle_nodes level %d index %d is missing or not the hash the entries give" % (level, idx))
            while checkpoints and checkpoints[0][0] <= n:
                row = checkpoints.pop(0)
                texts[row[0]] = check_checkpoint(row, origin, state, stack)
                pinned = state.keys.get(pending_root) if pending_root else None
                if pinned and pinned["role"] == "authority" and pinned["revoked"] is None:
                    try:
                        open_checkpoint(row[2], origin, [pinned["public_key"]])
                        pending_root = None
                    except Fail:
                        pass
        except (Fail, KeyError, TypeError, ValueError) as error:
            return n, "entry %d: %s" % (n, error)
        h, n = stored, n + 1
    # Section 8, after the last entry, in this order.
    if n == 1:
        return 1, "entry 1: no entries"
    if checkpoints:
        return n, "entry %d: stored checkpoint %d covers more entries than the ledger holds" % (n, checkpoints[0][0])
    if pending_root:
        return 1, "entry 1: the authority key is not the trusted %s, and %s signed no checkpoint of it" % (pending_root, pending_root)
    for table, rows_stored in stored_index.items():
        if compared[table] < len(rows_stored):
            extra = rows_stored[compared[table]][-1]
            return extra, "entry %d: index table %s has a row no entry gives (seq %d)" % (extra, table, extra)
    if nodes:
        return n - 1, "entry %d: merkle_nodes holds nodes the entries do not give" % (n - 1)
    for row in db.execute("SELECT size, key_id, line FROM cosignatures ORDER BY size, key_id") if has_table("cosignatures") else []:
        try:
            check_cosignature(row, texts, state)
        except (Fail, KeyError, TypeError, ValueError) as error:
            return max(1, min(row[0], n - 1)), "entry %d: %s" % (max(1, min(row[0], n - 1)), error)
    return None, "verified %d %s" % (n - 1, h.hex())


if __name__ == "__main__":
    # Exit 0 verified, 1 not verified, 2 could not verify (usage, a missing or unreadable file).
    if len(sys.argv) not in (2, 3) or not os.path.isfile(sys.argv[1]):
        print("usage: verify_ledger.py LEDGER.sqlite [AUTHORITY_KEY_ID]: the ledger file must exist", file=sys.stderr)
        sys.exit(2)
    try:
        failed, message = verify(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    except sqlite3.Error as error:
        print("cannot read %s: %s" % (sys.argv[1], error), file=sys.stderr)
        sys.exit(2)
    except Newer as error:
        print("cannot verify with this verifier: %s" % error)
        sys.exit(2)
    print(message)
    if len(sys.argv) == 2 and failed is None:
        print("note: no AUTHORITY_KEY_ID given: the chain is checked from its own genesis; the root of trust is not", file=sys.stderr)
    sys.exit(1 if failed is not None else 0)
