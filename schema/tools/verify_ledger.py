#!/usr/bin/env python3
"""An independent GigaLedger verifier, written from schema/FORMAT.md alone.

Usage: verify_ledger.py LEDGER.sqlite [AUTHORITY_KEY_ID]
Exit 0 and "verified N HEAD" when the ledger verifies; exit 1 and "entry N: reason" when not (or
when its genesis authority is not AUTHORITY_KEY_ID, the root of trust, when given); exit 2 when
the file cannot be read.
Needs Python 3.11 or later (Unicode 14.0 or later: section 7) and the `cryptography` package (Ed25519); nothing from GigaLedger's code.
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


class NotALedger(Exception):
    """A file of another application (section 1): nothing to verify (exit 2)."""


def unbase64(text):
    """Standard padded base64 (RFC 4648 section 4), canonical: exactly what encoding the bytes gives
    (no other characters, spare bits zero; section 4), else a failure."""
    data = __import__("base64").b64decode(text, validate=True)
    if __import__("base64").b64encode(data).decode() != text:
        raise Fail("%r is not canonical base64" % text[:60])
    return data


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
    root = unbase64(parts[2])
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
        blob = unbase64(blob)
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
    blob = unbase64(blob)
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
    if len(applied) > len(known) and applied[:len(known)] == known:
        # Every known migration, then later ones: a newer GigaLedger's schema (exit 2, as a newer entry format).
        raise Newer("the ledger file: its schema is a newer GigaLedger's (migrations %s; this verifier knows %s)" % (", ".join(applied[len(known):]), known[-1]))
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


# Section 7, `near_facts`: names are folded with Unicode 17.0's tables, character by character,
# and a code point unassigned in Unicode 17.0 is dropped. This Python's unicodedata (Unicode 14.0 on
# Python 3.11, Debian 12's) answers for the characters it knows; these tables give Unicode 17.0's
# answer for the rest: the letters and numbers assigned since 14.0, kept as they are
# (NEAR_KEPT_SINCE_14), those folded to another character (NEAR_MAPPED_SINCE_14: lower case or
# compatibility decomposition), and every code point unassigned in 17.0 (UNASSIGNED_IN_17), which
# a later Python may know. A test compares this with the binary on every code point.
NEAR_KEPT_SINCE_14 = [
    (0x088F, 0x088F), (0x0C5C, 0x0C5C), (0x0CDC, 0x0CDC), (0x1C8A, 0x1C8A), (0xA7CD, 0xA7CD),
    (0xA7CF, 0xA7CF), (0xA7DB, 0xA7DB), (0xA7F1, 0xA7F1), (0x105C0, 0x105F3), (0x10940, 0x10959),
    (0x10D40, 0x10D4F), (0x10D6F, 0x10D85), (0x10EC2, 0x10EC7), (0x1123F, 0x11240), (0x11380, 0x11389),
    (0x1138B, 0x1138B), (0x1138E, 0x1138E), (0x11390, 0x113B5), (0x113B7, 0x113B7), (0x113D1, 0x113D1),
    (0x113D3, 0x113D3), (0x116D0, 0x116E3), (0x11BC0, 0x11BE0), (0x11BF0, 0x11BF9), (0x11DB0, 0x11DDB),
    (0x11DE0, 0x11DE9), (0x11F02, 0x11F02), (0x11F04, 0x11F10), (0x11F12, 0x11F33), (0x11F50, 0x11F59),
    (0x1342F, 0x1342F), (0x13441, 0x13446), (0x13460, 0x143FA), (0x16100, 0x1611D), (0x16130, 0x16139),
    (0x16D40, 0x16D6C), (0x16D70, 0x16D79), (0x16EBB, 0x16ED3), (0x16FF2, 0x16FF6), (0x187F8, 0x187FF),
    (0x18CFF, 0x18CFF), (0x18D09, 0x18D1E), (0x18D80, 0x18DF2), (0x1B132, 0x1B132), (0x1B155, 0x1B155),
    (0x1CCF0, 0x1CCF9), (0x1D2C0, 0x1D2D3), (0x1DF25, 0x1DF2A), (0x1E4D0, 0x1E4EB), (0x1E4F0, 0x1E4F9),
    (0x1E5D0, 0x1E5ED), (0x1E5F0, 0x1E5FA), (0x1E6C0, 0x1E6DE), (0x1E6E0, 0x1E6E2), (0x1E6E4, 0x1E6E5),
    (0x1E6E7, 0x1E6ED), (0x1E6F0, 0x1E6F4), (0x1E6FE, 0x1E6FF), (0x2B739, 0x2B73F), (0x2CEA2, 0x2CEAD),
    (0x2EBF0, 0x2EE5D), (0x31350, 0x33479),
]
NEAR_MAPPED_SINCE_14 = {
    0x1C89: 0x1C8A, 0xA7CB: 0x0264, 0xA7CC: 0xA7CD, 0xA7CE: 0xA7CF, 0xA7D2: 0xA7D3, 0xA7D4: 0xA7D5, 0xA7DA: 0xA7DB,
    0xA7DC: 0x019B, 0x10D50: 0x10D70, 0x10D51: 0x10D71, 0x10D52: 0x10D72, 0x10D53: 0x10D73, 0x10D54: 0x10D74, 0x10D55: 0x10D75,
    0x10D56: 0x10D76, 0x10D57: 0x10D77, 0x10D58: 0x10D78, 0x10D59: 0x10D79, 0x10D5A: 0x10D7A, 0x10D5B: 0x10D7B, 0x10D5C: 0x10D7C,
    0x10D5D: 0x10D7D, 0x10D5E: 0x10D7E, 0x10D5F: 0x10D7F, 0x10D60: 0x10D80, 0x10D61: 0x10D81, 0x10D62: 0x10D82, 0x10D63: 0x10D83,
    0x10D64: 0x10D84, 0x10D65: 0x10D85, 0x16EA0: 0x16EBB, 0x16EA1: 0x16EBC, 0x16EA2: 0x16EBD, 0x16EA3: 0x16EBE, 0x16EA4: 0x16EBF,
    0x16EA5: 0x16EC0, 0x16EA6: 0x16EC1, 0x16EA7: 0x16EC2, 0x16EA8: 0x16EC3, 0x16EA9: 0x16EC4, 0x16EAA: 0x16EC5, 0x16EAB: 0x16EC6,
    0x16EAC: 0x16EC7, 0x16EAD: 0x16EC8, 0x16EAE: 0x16EC9, 0x16EAF: 0x16ECA, 0x16EB0: 0x16ECB, 0x16EB1: 0x16ECC, 0x16EB2: 0x16ECD,
    0x16EB3: 0x16ECE, 0x16EB4: 0x16ECF, 0x16EB5: 0x16ED0, 0x16EB6: 0x16ED1, 0x16EB7: 0x16ED2, 0x16EB8: 0x16ED3, 0x1E030: 0x0430,
    0x1E031: 0x0431, 0x1E032: 0x0432, 0x1E033: 0x0433, 0x1E034: 0x0434, 0x1E035: 0x0435, 0x1E036: 0x0436, 0x1E037: 0x0437,
    0x1E038: 0x0438, 0x1E039: 0x043A, 0x1E03A: 0x043B, 0x1E03B: 0x043C, 0x1E03C: 0x043E, 0x1E03D: 0x043F, 0x1E03E: 0x0440,
    0x1E03F: 0x0441, 0x1E040: 0x0442, 0x1E041: 0x0443, 0x1E042: 0x0444, 0x1E043: 0x0445, 0x1E044: 0x0446, 0x1E045: 0x0447,
    0x1E046: 0x0448, 0x1E047: 0x044B, 0x1E048: 0x044D, 0x1E049: 0x044E, 0x1E04A: 0xA689, 0x1E04B: 0x04D9, 0x1E04C: 0x0456,
    0x1E04D: 0x0458, 0x1E04E: 0x04E9, 0x1E04F: 0x04AF, 0x1E050: 0x04CF, 0x1E051: 0x0430, 0x1E052: 0x0431, 0x1E053: 0x0432,
    0x1E054: 0x0433, 0x1E055: 0x0434, 0x1E056: 0x0435, 0x1E057: 0x0436, 0x1E058: 0x0437, 0x1E059: 0x0438, 0x1E05A: 0x043A,
    0x1E05B: 0x043B, 0x1E05C: 0x043E, 0x1E05D: 0x043F, 0x1E05E: 0x0441, 0x1E05F: 0x0443, 0x1E060: 0x0444, 0x1E061: 0x0445,
    0x1E062: 0x0446, 0x1E063: 0x0447, 0x1E064: 0x0448, 0x1E065: 0x044A, 0x1E066: 0x044B, 0x1E067: 0x0491, 0x1E068: 0x0456,
    0x1E069: 0x0455, 0x1E06A: 0x045F, 0x1E06B: 0x04AB, 0x1E06C: 0xA651, 0x1E06D: 0x04B1,
}
UNASSIGNED_IN_17 = [
    (0x0378, 0x0379), (0x0380, 0x0383), (0x038B, 0x038B), (0x038D, 0x038D), (0x03A2, 0x03A2),
    (0x0530, 0x0530), (0x0557, 0x0558), (0x058B, 0x058C), (0x0590, 0x0590), (0x05C8, 0x05CF),
    (0x05EB, 0x05EE), (0x05F5, 0x05FF), (0x070E, 0x070E), (0x074B, 0x074C), (0x07B2, 0x07BF),
    (0x07FB, 0x07FC), (0x082E, 0x082F), (0x083F, 0x083F), (0x085C, 0x085D), (0x085F, 0x085F),
    (0x086B, 0x086F), (0x0892, 0x0896), (0x0984, 0x0984), (0x098D, 0x098E), (0x0991, 0x0992),
    (0x09A9, 0x09A9), (0x09B1, 0x09B1), (0x09B3, 0x09B5), (0x09BA, 0x09BB), (0x09C5, 0x09C6),
    (0x09C9, 0x09CA), (0x09CF, 0x09D6), (0x09D8, 0x09DB), (0x09DE, 0x09DE), (0x09E4, 0x09E5),
    (0x09FF, 0x0A00), (0x0A04, 0x0A04), (0x0A0B, 0x0A0E), (0x0A11, 0x0A12), (0x0A29, 0x0A29),
    (0x0A31, 0x0A31), (0x0A34, 0x0A34), (0x0A37, 0x0A37), (0x0A3A, 0x0A3B), (0x0A3D, 0x0A3D),
    (0x0A43, 0x0A46), (0x0A49, 0x0A4A), (0x0A4E, 0x0A50), (0x0A52, 0x0A58), (0x0A5D, 0x0A5D),
    (0x0A5F, 0x0A65), (0x0A77, 0x0A80), (0x0A84, 0x0A84), (0x0A8E, 0x0A8E), (0x0A92, 0x0A92),
    (0x0AA9, 0x0AA9), (0x0AB1, 0x0AB1), (0x0AB4, 0x0AB4), (0x0ABA, 0x0ABB), (0x0AC6, 0x0AC6),
    (0x0ACA, 0x0ACA), (0x0ACE, 0x0ACF), (0x0AD1, 0x0ADF), (0x0AE4, 0x0AE5), (0x0AF2, 0x0AF8),
    (0x0B00, 0x0B00), (0x0B04, 0x0B04), (0x0B0D, 0x0B0E), (0x0B11, 0x0B12), (0x0B29, 0x0B29),
    (0x0B31, 0x0B31), (0x0B34, 0x0B34), (0x0B3A, 0x0B3B), (0x0B45, 0x0B46), (0x0B49, 0x0B4A),
    (0x0B4E, 0x0B54), (0x0B58, 0x0B5B), (0x0B5E, 0x0B5E), (0x0B64, 0x0B65), (0x0B78, 0x0B81),
    (0x0B84, 0x0B84), (0x0B8B, 0x0B8D), (0x0B91, 0x0B91), (0x0B96, 0x0B98), (0x0B9B, 0x0B9B),
    (0x0B9D, 0x0B9D), (0x0BA0, 0x0BA2), (0x0BA5, 0x0BA7), (0x0BAB, 0x0BAD), (0x0BBA, 0x0BBD),
    (0x0BC3, 0x0BC5), (0x0BC9, 0x0BC9), (0x0BCE, 0x0BCF), (0x0BD1, 0x0BD6), (0x0BD8, 0x0BE5),
    (0x0BFB, 0x0BFF), (0x0C0D, 0x0C0D), (0x0C11, 0x0C11), (0x0C29, 0x0C29), (0x0C3A, 0x0C3B),
    (0x0C45, 0x0C45), (0x0C49, 0x0C49), (0x0C4E, 0x0C54), (0x0C57, 0x0C57), (0x0C5B, 0x0C5B),
    (0x0C5E, 0x0C5F), (0x0C64, 0x0C65), (0x0C70, 0x0C76), (0x0C8D, 0x0C8D), (0x0C91, 0x0C91),
    (0x0CA9, 0x0CA9), (0x0CB4, 0x0CB4), (0x0CBA, 0x0CBB), (0x0CC5, 0x0CC5), (0x0CC9, 0x0CC9),
    (0x0CCE, 0x0CD4), (0x0CD7, 0x0CDB), (0x0CDF, 0x0CDF), (0x0CE4, 0x0CE5), (0x0CF0, 0x0CF0),
    (0x0CF4, 0x0CFF), (0x0D0D, 0x0D0D), (0x0D11, 0x0D11), (0x0D45, 0x0D45), (0x0D49, 0x0D49),
    (0x0D50, 0x0D53), (0x0D64, 0x0D65), (0x0D80, 0x0D80), (0x0D84, 0x0D84), (0x0D97, 0x0D99),
    (0x0DB2, 0x0DB2), (0x0DBC, 0x0DBC), (0x0DBE, 0x0DBF), (0x0DC7, 0x0DC9), (0x0DCB, 0x0DCE),
    (0x0DD5, 0x0DD5), (0x0DD7, 0x0DD7), (0x0DE0, 0x0DE5), (0x0DF0, 0x0DF1), (0x0DF5, 0x0E00),
    (0x0E3B, 0x0E3E), (0x0E5C, 0x0E80), (0x0E83, 0x0E83), (0x0E85, 0x0E85), (0x0E8B, 0x0E8B),
    (0x0EA4, 0x0EA4), (0x0EA6, 0x0EA6), (0x0EBE, 0x0EBF), (0x0EC5, 0x0EC5), (0x0EC7, 0x0EC7),
    (0x0ECF, 0x0ECF), (0x0EDA, 0x0EDB), (0x0EE0, 0x0EFF), (0x0F48, 0x0F48), (0x0F6D, 0x0F70),
    (0x0F98, 0x0F98), (0x0FBD, 0x0FBD), (0x0FCD, 0x0FCD), (0x0FDB, 0x0FFF), (0x10C6, 0x10C6),
    (0x10C8, 0x10CC), (0x10CE, 0x10CF), (0x1249, 0x1249), (0x124E, 0x124F), (0x1257, 0x1257),
    (0x1259, 0x1259), (0x125E, 0x125F), (0x1289, 0x1289), (0x128E, 0x128F), (0x12B1, 0x12B1),
    (0x12B6, 0x12B7), (0x12BF, 0x12BF), (0x12C1, 0x12C1), (0x12C6, 0x12C7), (0x12D7, 0x12D7),
    (0x1311, 0x1311), (0x1316, 0x1317), (0x135B, 0x135C), (0x137D, 0x137F), (0x139A, 0x139F),
    (0x13F6, 0x13F7), (0x13FE, 0x13FF), (0x169D, 0x169F), (0x16F9, 0x16FF), (0x1716, 0x171E),
    (0x1737, 0x173F), (0x1754, 0x175F), (0x176D, 0x176D), (0x1771, 0x1771), (0x1774, 0x177F),
    (0x17DE, 0x17DF), (0x17EA, 0x17EF), (0x17FA, 0x17FF), (0x181A, 0x181F), (0x1879, 0x187F),
    (0x18AB, 0x18AF), (0x18F6, 0x18FF), (0x191F, 0x191F), (0x192C, 0x192F), (0x193C, 0x193F),
    (0x1941, 0x1943), (0x196E, 0x196F), (0x1975, 0x197F), (0x19AC, 0x19AF), (0x19CA, 0x19CF),
    (0x19DB, 0x19DD), (0x1A1C, 0x1A1D), (0x1A5F, 0x1A5F), (0x1A7D, 0x1A7E), (0x1A8A, 0x1A8F),
    (0x1A9A, 0x1A9F), (0x1AAE, 0x1AAF), (0x1ADE, 0x1ADF), (0x1AEC, 0x1AFF), (0x1B4D, 0x1B4D),
    (0x1BF4, 0x1BFB), (0x1C38, 0x1C3A), (0x1C4A, 0x1C4C), (0x1C8B, 0x1C8F), (0x1CBB, 0x1CBC),
    (0x1CC8, 0x1CCF), (0x1CFB, 0x1CFF), (0x1F16, 0x1F17), (0x1F1E, 0x1F1F), (0x1F46, 0x1F47),
    (0x1F4E, 0x1F4F), (0x1F58, 0x1F58), (0x1F5A, 0x1F5A), (0x1F5C, 0x1F5C), (0x1F5E, 0x1F5E),
    (0x1F7E, 0x1F7F), (0x1FB5, 0x1FB5), (0x1FC5, 0x1FC5), (0x1FD4, 0x1FD5), (0x1FDC, 0x1FDC),
    (0x1FF0, 0x1FF1), (0x1FF5, 0x1FF5), (0x1FFF, 0x1FFF), (0x2065, 0x2065), (0x2072, 0x2073),
    (0x208F, 0x208F), (0x209D, 0x209F), (0x20C2, 0x20CF), (0x20F1, 0x20FF), (0x218C, 0x218F),
    (0x242A, 0x243F), (0x244B, 0x245F), (0x2B74, 0x2B75), (0x2CF4, 0x2CF8), (0x2D26, 0x2D26),
    (0x2D28, 0x2D2C), (0x2D2E, 0x2D2F), (0x2D68, 0x2D6E), (0x2D71, 0x2D7E), (0x2D97, 0x2D9F),
    (0x2DA7, 0x2DA7), (0x2DAF, 0x2DAF), (0x2DB7, 0x2DB7), (0x2DBF, 0x2DBF), (0x2DC7, 0x2DC7),
    (0x2DCF, 0x2DCF), (0x2DD7, 0x2DD7), (0x2DDF, 0x2DDF), (0x2E5E, 0x2E7F), (0x2E9A, 0x2E9A),
    (0x2EF4, 0x2EFF), (0x2FD6, 0x2FEF), (0x3040, 0x3040), (0x3097, 0x3098), (0x3100, 0x3104),
    (0x3130, 0x3130), (0x318F, 0x318F), (0x31E6, 0x31EE), (0x321F, 0x321F), (0xA48D, 0xA48F),
    (0xA4C7, 0xA4CF), (0xA62C, 0xA63F), (0xA6F8, 0xA6FF), (0xA7DD, 0xA7F0), (0xA82D, 0xA82F),
    (0xA83A, 0xA83F), (0xA878, 0xA87F), (0xA8C6, 0xA8CD), (0xA8DA, 0xA8DF), (0xA954, 0xA95E),
    (0xA97D, 0xA97F), (0xA9CE, 0xA9CE), (0xA9DA, 0xA9DD), (0xA9FF, 0xA9FF), (0xAA37, 0xAA3F),
    (0xAA4E, 0xAA4F), (0xAA5A, 0xAA5B), (0xAAC3, 0xAADA), (0xAAF7, 0xAB00), (0xAB07, 0xAB08),
    (0xAB0F, 0xAB10), (0xAB17, 0xAB1F), (0xAB27, 0xAB27), (0xAB2F, 0xAB2F), (0xAB6C, 0xAB6F),
    (0xABEE, 0xABEF), (0xABFA, 0xABFF), (0xD7A4, 0xD7AF), (0xD7C7, 0xD7CA), (0xD7FC, 0xD7FF),
    (0xFA6E, 0xFA6F), (0xFADA, 0xFAFF), (0xFB07, 0xFB12), (0xFB18, 0xFB1C), (0xFB37, 0xFB37),
    (0xFB3D, 0xFB3D), (0xFB3F, 0xFB3F), (0xFB42, 0xFB42), (0xFB45, 0xFB45), (0xFDD0, 0xFDEF),
    (0xFE1A, 0xFE1F), (0xFE53, 0xFE53), (0xFE67, 0xFE67), (0xFE6C, 0xFE6F), (0xFE75, 0xFE75),
    (0xFEFD, 0xFEFE), (0xFF00, 0xFF00), (0xFFBF, 0xFFC1), (0xFFC8, 0xFFC9), (0xFFD0, 0xFFD1),
    (0xFFD8, 0xFFD9), (0xFFDD, 0xFFDF), (0xFFE7, 0xFFE7), (0xFFEF, 0xFFF8), (0xFFFE, 0xFFFF),
    (0x1000C, 0x1000C), (0x10027, 0x10027), (0x1003B, 0x1003B), (0x1003E, 0x1003E), (0x1004E, 0x1004F),
    (0x1005E, 0x1007F), (0x100FB, 0x100FF), (0x10103, 0x10106), (0x10134, 0x10136), (0x1018F, 0x1018F),
    (0x1019D, 0x1019F), (0x101A1, 0x101CF), (0x101FE, 0x1027F), (0x1029D, 0x1029F), (0x102D1, 0x102DF),
    (0x102FC, 0x102FF), (0x10324, 0x1032C), (0x1034B, 0x1034F), (0x1037B, 0x1037F), (0x1039E, 0x1039E),
    (0x103C4, 0x103C7), (0x103D6, 0x103FF), (0x1049E, 0x1049F), (0x104AA, 0x104AF), (0x104D4, 0x104D7),
    (0x104FC, 0x104FF), (0x10528, 0x1052F), (0x10564, 0x1056E), (0x1057B, 0x1057B), (0x1058B, 0x1058B),
    (0x10593, 0x10593), (0x10596, 0x10596), (0x105A2, 0x105A2), (0x105B2, 0x105B2), (0x105BA, 0x105BA),
    (0x105BD, 0x105BF), (0x105F4, 0x105FF), (0x10737, 0x1073F), (0x10756, 0x1075F), (0x10768, 0x1077F),
    (0x10786, 0x10786), (0x107B1, 0x107B1), (0x107BB, 0x107FF), (0x10806, 0x10807), (0x10809, 0x10809),
    (0x10836, 0x10836), (0x10839, 0x1083B), (0x1083D, 0x1083E), (0x10856, 0x10856), (0x1089F, 0x108A6),
    (0x108B0, 0x108DF), (0x108F3, 0x108F3), (0x108F6, 0x108FA), (0x1091C, 0x1091E), (0x1093A, 0x1093E),
    (0x1095A, 0x1097F), (0x109B8, 0x109BB), (0x109D0, 0x109D1), (0x10A04, 0x10A04), (0x10A07, 0x10A0B),
    (0x10A14, 0x10A14), (0x10A18, 0x10A18), (0x10A36, 0x10A37), (0x10A3B, 0x10A3E), (0x10A49, 0x10A4F),
    (0x10A59, 0x10A5F), (0x10AA0, 0x10ABF), (0x10AE7, 0x10AEA), (0x10AF7, 0x10AFF), (0x10B36, 0x10B38),
    (0x10B56, 0x10B57), (0x10B73, 0x10B77), (0x10B92, 0x10B98), (0x10B9D, 0x10BA8), (0x10BB0, 0x10BFF),
    (0x10C49, 0x10C7F), (0x10CB3, 0x10CBF), (0x10CF3, 0x10CF9), (0x10D28, 0x10D2F), (0x10D3A, 0x10D3F),
    (0x10D66, 0x10D68), (0x10D86, 0x10D8D), (0x10D90, 0x10E5F), (0x10E7F, 0x10E7F), (0x10EAA, 0x10EAA),
    (0x10EAE, 0x10EAF), (0x10EB2, 0x10EC1), (0x10EC8, 0x10ECF), (0x10ED9, 0x10EF9), (0x10F28, 0x10F2F),
    (0x10F5A, 0x10F6F), (0x10F8A, 0x10FAF), (0x10FCC, 0x10FDF), (0x10FF7, 0x10FFF), (0x1104E, 0x11051),
    (0x11076, 0x1107E), (0x110C3, 0x110CC), (0x110CE, 0x110CF), (0x110E9, 0x110EF), (0x110FA, 0x110FF),
    (0x11135, 0x11135), (0x11148, 0x1114F), (0x11177, 0x1117F), (0x111E0, 0x111E0), (0x111F5, 0x111FF),
    (0x11212, 0x11212), (0x11242, 0x1127F), (0x11287, 0x11287), (0x11289, 0x11289), (0x1128E, 0x1128E),
    (0x1129E, 0x1129E), (0x112AA, 0x112AF), (0x112EB, 0x112EF), (0x112FA, 0x112FF), (0x11304, 0x11304),
    (0x1130D, 0x1130E), (0x11311, 0x11312), (0x11329, 0x11329), (0x11331, 0x11331), (0x11334, 0x11334),
    (0x1133A, 0x1133A), (0x11345, 0x11346), (0x11349, 0x1134A), (0x1134E, 0x1134F), (0x11351, 0x11356),
    (0x11358, 0x1135C), (0x11364, 0x11365), (0x1136D, 0x1136F), (0x11375, 0x1137F), (0x1138A, 0x1138A),
    (0x1138C, 0x1138D), (0x1138F, 0x1138F), (0x113B6, 0x113B6), (0x113C1, 0x113C1), (0x113C3, 0x113C4),
    (0x113C6, 0x113C6), (0x113CB, 0x113CB), (0x113D6, 0x113D6), (0x113D9, 0x113E0), (0x113E3, 0x113FF),
    (0x1145C, 0x1145C), (0x11462, 0x1147F), (0x114C8, 0x114CF), (0x114DA, 0x1157F), (0x115B6, 0x115B7),
    (0x115DE, 0x115FF), (0x11645, 0x1164F), (0x1165A, 0x1165F), (0x1166D, 0x1167F), (0x116BA, 0x116BF),
    (0x116CA, 0x116CF), (0x116E4, 0x116FF), (0x1171B, 0x1171C), (0x1172C, 0x1172F), (0x11747, 0x117FF),
    (0x1183C, 0x1189F), (0x118F3, 0x118FE), (0x11907, 0x11908), (0x1190A, 0x1190B), (0x11914, 0x11914),
    (0x11917, 0x11917), (0x11936, 0x11936), (0x11939, 0x1193A), (0x11947, 0x1194F), (0x1195A, 0x1199F),
    (0x119A8, 0x119A9), (0x119D8, 0x119D9), (0x119E5, 0x119FF), (0x11A48, 0x11A4F), (0x11AA3, 0x11AAF),
    (0x11AF9, 0x11AFF), (0x11B0A, 0x11B5F), (0x11B68, 0x11BBF), (0x11BE2, 0x11BEF), (0x11BFA, 0x11BFF),
    (0x11C09, 0x11C09), (0x11C37, 0x11C37), (0x11C46, 0x11C4F), (0x11C6D, 0x11C6F), (0x11C90, 0x11C91),
    (0x11CA8, 0x11CA8), (0x11CB7, 0x11CFF), (0x11D07, 0x11D07), (0x11D0A, 0x11D0A), (0x11D37, 0x11D39),
    (0x11D3B, 0x11D3B), (0x11D3E, 0x11D3E), (0x11D48, 0x11D4F), (0x11D5A, 0x11D5F), (0x11D66, 0x11D66),
    (0x11D69, 0x11D69), (0x11D8F, 0x11D8F), (0x11D92, 0x11D92), (0x11D99, 0x11D9F), (0x11DAA, 0x11DAF),
    (0x11DDC, 0x11DDF), (0x11DEA, 0x11EDF), (0x11EF9, 0x11EFF), (0x11F11, 0x11F11), (0x11F3B, 0x11F3D),
    (0x11F5B, 0x11FAF), (0x11FB1, 0x11FBF), (0x11FF2, 0x11FFE), (0x1239A, 0x123FF), (0x1246F, 0x1246F),
    (0x12475, 0x1247F), (0x12544, 0x12F8F), (0x12FF3, 0x12FFF), (0x13456, 0x1345F), (0x143FB, 0x143FF),
    (0x14647, 0x160FF), (0x1613A, 0x167FF), (0x16A39, 0x16A3F), (0x16A5F, 0x16A5F), (0x16A6A, 0x16A6D),
    (0x16ABF, 0x16ABF), (0x16ACA, 0x16ACF), (0x16AEE, 0x16AEF), (0x16AF6, 0x16AFF), (0x16B46, 0x16B4F),
    (0x16B5A, 0x16B5A), (0x16B62, 0x16B62), (0x16B78, 0x16B7C), (0x16B90, 0x16D3F), (0x16D7A, 0x16E3F),
    (0x16E9B, 0x16E9F), (0x16EB9, 0x16EBA), (0x16ED4, 0x16EFF), (0x16F4B, 0x16F4E), (0x16F88, 0x16F8E),
    (0x16FA0, 0x16FDF), (0x16FE5, 0x16FEF), (0x16FF7, 0x16FFF), (0x18CD6, 0x18CFE), (0x18D1F, 0x18D7F),
    (0x18DF3, 0x1AFEF), (0x1AFF4, 0x1AFF4), (0x1AFFC, 0x1AFFC), (0x1AFFF, 0x1AFFF), (0x1B123, 0x1B131),
    (0x1B133, 0x1B14F), (0x1B153, 0x1B154), (0x1B156, 0x1B163), (0x1B168, 0x1B16F), (0x1B2FC, 0x1BBFF),
    (0x1BC6B, 0x1BC6F), (0x1BC7D, 0x1BC7F), (0x1BC89, 0x1BC8F), (0x1BC9A, 0x1BC9B), (0x1BCA4, 0x1CBFF),
    (0x1CCFD, 0x1CCFF), (0x1CEB4, 0x1CEB9), (0x1CED1, 0x1CEDF), (0x1CEF1, 0x1CEFF), (0x1CF2E, 0x1CF2F),
    (0x1CF47, 0x1CF4F), (0x1CFC4, 0x1CFFF), (0x1D0F6, 0x1D0FF), (0x1D127, 0x1D128), (0x1D1EB, 0x1D1FF),
    (0x1D246, 0x1D2BF), (0x1D2D4, 0x1D2DF), (0x1D2F4, 0x1D2FF), (0x1D357, 0x1D35F), (0x1D379, 0x1D3FF),
    (0x1D455, 0x1D455), (0x1D49D, 0x1D49D), (0x1D4A0, 0x1D4A1), (0x1D4A3, 0x1D4A4), (0x1D4A7, 0x1D4A8),
    (0x1D4AD, 0x1D4AD), (0x1D4BA, 0x1D4BA), (0x1D4BC, 0x1D4BC), (0x1D4C4, 0x1D4C4), (0x1D506, 0x1D506),
    (0x1D50B, 0x1D50C), (0x1D515, 0x1D515), (0x1D51D, 0x1D51D), (0x1D53A, 0x1D53A), (0x1D53F, 0x1D53F),
    (0x1D545, 0x1D545), (0x1D547, 0x1D549), (0x1D551, 0x1D551), (0x1D6A6, 0x1D6A7), (0x1D7CC, 0x1D7CD),
    (0x1DA8C, 0x1DA9A), (0x1DAA0, 0x1DAA0), (0x1DAB0, 0x1DEFF), (0x1DF1F, 0x1DF24), (0x1DF2B, 0x1DFFF),
    (0x1E007, 0x1E007), (0x1E019, 0x1E01A), (0x1E022, 0x1E022), (0x1E025, 0x1E025), (0x1E02B, 0x1E02F),
    (0x1E06E, 0x1E08E), (0x1E090, 0x1E0FF), (0x1E12D, 0x1E12F), (0x1E13E, 0x1E13F), (0x1E14A, 0x1E14D),
    (0x1E150, 0x1E28F), (0x1E2AF, 0x1E2BF), (0x1E2FA, 0x1E2FE), (0x1E300, 0x1E4CF), (0x1E4FA, 0x1E5CF),
    (0x1E5FB, 0x1E5FE), (0x1E600, 0x1E6BF), (0x1E6DF, 0x1E6DF), (0x1E6F6, 0x1E6FD), (0x1E700, 0x1E7DF),
    (0x1E7E7, 0x1E7E7), (0x1E7EC, 0x1E7EC), (0x1E7EF, 0x1E7EF), (0x1E7FF, 0x1E7FF), (0x1E8C5, 0x1E8C6),
    (0x1E8D7, 0x1E8FF), (0x1E94C, 0x1E94F), (0x1E95A, 0x1E95D), (0x1E960, 0x1EC70), (0x1ECB5, 0x1ED00),
    (0x1ED3E, 0x1EDFF), (0x1EE04, 0x1EE04), (0x1EE20, 0x1EE20), (0x1EE23, 0x1EE23), (0x1EE25, 0x1EE26),
    (0x1EE28, 0x1EE28), (0x1EE33, 0x1EE33), (0x1EE38, 0x1EE38), (0x1EE3A, 0x1EE3A), (0x1EE3C, 0x1EE41),
    (0x1EE43, 0x1EE46), (0x1EE48, 0x1EE48), (0x1EE4A, 0x1EE4A), (0x1EE4C, 0x1EE4C), (0x1EE50, 0x1EE50),
    (0x1EE53, 0x1EE53), (0x1EE55, 0x1EE56), (0x1EE58, 0x1EE58), (0x1EE5A, 0x1EE5A), (0x1EE5C, 0x1EE5C),
    (0x1EE5E, 0x1EE5E), (0x1EE60, 0x1EE60), (0x1EE63, 0x1EE63), (0x1EE65, 0x1EE66), (0x1EE6B, 0x1EE6B),
    (0x1EE73, 0x1EE73), (0x1EE78, 0x1EE78), (0x1EE7D, 0x1EE7D), (0x1EE7F, 0x1EE7F), (0x1EE8A, 0x1EE8A),
    (0x1EE9C, 0x1EEA0), (0x1EEA4, 0x1EEA4), (0x1EEAA, 0x1EEAA), (0x1EEBC, 0x1EEEF), (0x1EEF2, 0x1EFFF),
    (0x1F02C, 0x1F02F), (0x1F094, 0x1F09F), (0x1F0AF, 0x1F0B0), (0x1F0C0, 0x1F0C0), (0x1F0D0, 0x1F0D0),
    (0x1F0F6, 0x1F0FF), (0x1F1AE, 0x1F1E5), (0x1F203, 0x1F20F), (0x1F23C, 0x1F23F), (0x1F249, 0x1F24F),
    (0x1F252, 0x1F25F), (0x1F266, 0x1F2FF), (0x1F6D9, 0x1F6DB), (0x1F6ED, 0x1F6EF), (0x1F6FD, 0x1F6FF),
    (0x1F7DA, 0x1F7DF), (0x1F7EC, 0x1F7EF), (0x1F7F1, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8AF), (0x1F8BC, 0x1F8BF), (0x1F8C2, 0x1F8CF),
    (0x1F8D9, 0x1F8FF), (0x1FA58, 0x1FA5F), (0x1FA6E, 0x1FA6F), (0x1FA7D, 0x1FA7F), (0x1FA8B, 0x1FA8D),
    (0x1FAC7, 0x1FAC7), (0x1FAC9, 0x1FACC), (0x1FADD, 0x1FADE), (0x1FAEB, 0x1FAEE), (0x1FAF9, 0x1FAFF),
    (0x1FB93, 0x1FB93), (0x1FBFB, 0x1FFFF), (0x2A6E0, 0x2A6FF), (0x2B81E, 0x2B81F), (0x2CEAE, 0x2CEAF),
    (0x2EBE1, 0x2EBEF), (0x2EE5E, 0x2F7FF), (0x2FA1E, 0x2FFFF), (0x3134B, 0x3134F), (0x3347A, 0xE0000),
    (0xE0002, 0xE001F), (0xE0080, 0xE00FF), (0xE01F0, 0xEFFFF), (0xFFFFE, 0xFFFFF), (0x10FFFE, 0x10FFFF),
]


def _in_ranges(cp, ranges):
    low, high = 0, len(ranges)
    while low < high:
        middle = (low + high) // 2
        if ranges[middle][1] < cp:
            low = middle + 1
        else:
            high = middle
    return low < len(ranges) and ranges[low][0] <= cp


def folded_char(c):
    """Section 7: one character of a name folded (NFKD, lower case, final sigma as sigma, only L and N kept), as Unicode 17.0 does."""
    cp = ord(c)
    if _in_ranges(cp, UNASSIGNED_IN_17):
        return ""
    if cp in NEAR_MAPPED_SINCE_14:
        return chr(NEAR_MAPPED_SINCE_14[cp])
    if _in_ranges(cp, NEAR_KEPT_SINCE_14):
        return c
    folded = unicodedata.normalize("NFKD", c).lower().replace("\u03c2", "\u03c3")
    return "".join(f for f in folded if unicodedata.category(f)[0] in "LN")


def folded_name(name):
    """Section 7, `near_facts`: each character folded (folded_char); a name with nothing kept as it is."""
    kept = "".join(folded_char(c) for c in name)
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
        raise NotALedger("%s is not a GigaLedger ledger (SQLite application_id is not 0x474C4447)" % path)
    difference = schema_difference(db)
    if difference:
        return 0, "the ledger file: schema: %s" % difference
    # Section 8: SQLite's own check of the pages and b-trees, whatever this verifier reads.
    check = [row[0] for row in db.execute("PRAGMA quick_check(1)")]
    if check != ["ok"]:
        return 0, "the ledger file: SQLite's check of the file: %s" % (check[0] if check else "no answer")
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
    if tuple(int(part) for part in unicodedata.unidata_version.split(".")) < (14, 0, 0):
        # The tables above bring Unicode 14.0's to 17.0's (section 7); an older Python's lack more.
        print("cannot verify with this Python: its Unicode tables are %s, older than 14.0 (Python 3.11)" % unicodedata.unidata_version, file=sys.stderr)
        sys.exit(2)
    try:
        failed, message = verify(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    except sqlite3.Error as error:
        print("cannot read %s: %s" % (sys.argv[1], error), file=sys.stderr)
        sys.exit(2)
    except Newer as error:
        print("cannot verify with this verifier: %s" % error)
        sys.exit(2)
    except NotALedger as error:
        print("cannot verify: %s" % error, file=sys.stderr)
        sys.exit(2)
    print(message)
    if len(sys.argv) == 2 and failed is None:
        print("note: no AUTHORITY_KEY_ID given: the chain is checked from its own genesis; the root of trust is not", file=sys.stderr)
    sys.exit(1 if failed is not None else 0)
