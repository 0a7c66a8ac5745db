#!/usr/bin/env python3
"""An independent reader of a published GigaLedger ledger (`gigaledger publish`, or `serve`'s read
path), written from the C2SP specifications and schema/FORMAT.md sections 9, 11, 12, 17 and 18.

Usage: check_tiles.py DIR_OR_URL --key LOG_OR_AUTHORITY.pub [--key ...]
                      [--witness WITNESS.pub ...] [--quorum N]

What is checked, and where each check comes from:
- Key files (FORMAT.md section 9): minisign public keys, "Ed" || 8-byte key ID || 32-byte Ed25519
  key; the key ID must be the one derived from the key, and the key a valid point.
- `checkpoint` (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, FORMAT.md section 12): a signed
  note whose text is origin, tree size and base64 root (no extension lines); at least one
  signature line by a --key, under the key name = origin and key ID SHA-256(name || 0x0A || 0x01 ||
  key)[:4], and every line from a --key verifies (Ed25519, with libsodium's strictness, section 9).
- Tiles (c2sp.org/tlog-tiles, FORMAT.md sections 17 and 18): for size S, the level-0 tiles
  `tile/0/<N>[.p/<W>]` and the entry bundles `tile/entries/<N>[.p/<W>]`; each bundle holds W
  big-endian uint16 length-prefixed leaves (32-byte entry hashes), and each leaf's RFC 9162 leaf hash
  SHA-256(0x00 || leaf) is the level-0 tile's hash at the same index.
- Root (RFC 9162 section 2.1, FORMAT.md section 11): MTH of the S level-0 hashes, with node hash
  SHA-256(0x01 || left || right), equals the checkpoint's root.
- Higher tiles (c2sp.org/tlog-tiles): tile L holds the MTH of each complete run of 256^L leaves,
  i.e. the tree nodes of height 8*L; each is recomputed from level 0 and compared.
- With --witness (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1, FORMAT.md section 12): a
  witness's line has key ID SHA-256(name || 0x0A || 0x04 || key)[:4] (any name), holds an 8-byte
  big-endian time and a signature of "cosignature/v1\\ntime <T>\\n" || note text. Lines are taken
  from the checkpoint note and from the cosignatures kept for size S in `ledger/v1/checkpoints`
  (section 18 names that document; it does not say that `checkpoint` carries them). --quorum of the
  witnesses (default: all) must have cosigned.

One line per finding; exit 0 and "verified: ORIGIN at tree size S, root HEX" when everything checks,
1 when something does not verify, 2 on a usage or I/O error. Needs Python 3 and `cryptography`.
"""
import argparse
import base64
import binascii
import gzip
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
import zlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# FORMAT.md section 9: the extra checks libsodium makes (valid points; S below L, R not of small
# order), from the other independent tool beside this one.
sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_ledger import strict_signature, valid_public_key  # noqa: E402

DASH = "\u2014 "
EMPTY_ROOT = hashlib.sha256(b"").digest()


class Unusable(Exception):
    """A usage or I/O error: exit 2."""


class Missing(Exception):
    """A file the checkpoint requires is not there (a finding)."""


def read_key(path):
    """FORMAT.md section 9: a minisign public key file; returns the 32-byte Ed25519 key."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if not lines[0].startswith("untrusted comment:") or len(lines) < 2:
            raise ValueError("not a minisign public key file")
        blob = base64.b64decode(lines[1], validate=True)
    except (OSError, UnicodeDecodeError, ValueError, binascii.Error) as error:
        raise Unusable("%s: %s" % (path, error))
    if len(blob) != 42 or blob[:2] != b"Ed":
        raise Unusable("%s: not an Ed25519 minisign public key" % path)
    public_key = blob[10:]
    if blob[2:10] != hashlib.sha256(b"gigaledger/key-id/v1\n" + public_key).digest()[:8]:
        raise Unusable("%s: its key ID is not the one derived from its key" % path)
    if not valid_public_key(public_key):
        raise Unusable("%s: not a valid Ed25519 public key" % path)
    return public_key


def note_key_id(name, kind, public_key):
    """c2sp.org/signed-note: SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


def verifies(public_key, signature, message):
    try:
        if not strict_signature(signature):
            return False
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except InvalidSignature:
        return False


class Source:
    """Files of a publication: a local folder or an http(s):// base URL."""

    def __init__(self, where):
        self.where = where
        self.remote = re.match(r"https?://", where) is not None

    def get(self, path):
        if not self.remote:
            try:
                with open(os.path.join(self.where, path), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                raise Missing(path)
            except OSError as error:
                raise Unusable("%s: %s" % (path, error))
        url = self.where.rstrip("/") + "/" + path
        # c2sp.org/tlog-tiles: clients ask for gzip and identity; logs may gzip without asking.
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, identity"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                body = answer.read()
                return gzip.decompress(body) if answer.headers.get("Content-Encoding") == "gzip" else body
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise Missing(path)
            raise Unusable("%s: HTTP %d" % (url, error.code))
        except (urllib.error.URLError, OSError, EOFError, zlib.error) as error:
            raise Unusable("%s: %s" % (url, error))


def signature_line(line):
    """c2sp.org/signed-note: em dash, space, key name, space, base64(4-byte key ID || signature)."""
    fields = line[len(DASH):].split(" ") if line.startswith(DASH) else []
    try:
        blob = base64.b64decode(fields[1], validate=True) if len(fields) == 2 and fields[0] else b""
    except binascii.Error:
        blob = b""
    return (fields[0], blob) if len(blob) > 4 else None


def open_checkpoint(note, keys, findings):
    """c2sp.org/signed-note and tlog-checkpoint as FORMAT.md section 12 narrows them.
    Returns (origin, size, root, text, signature lines) or None when it does not open."""
    try:
        note = note.decode("utf-8")
    except UnicodeDecodeError:
        findings.append("checkpoint: not UTF-8")
        return None
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        findings.append("checkpoint: holds a control character")
        return None
    # The text ends at the last empty line, which is followed by the signature lines.
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        findings.append("checkpoint: not a signed note")
        return None
    text, signatures = note[:split + 1], note[split + 2:-1].split("\n")
    parts = text[:-1].split("\n")
    if len(parts) != 3:
        findings.append("checkpoint: its text is %d lines, not origin, size and root (FORMAT.md section 12)" % len(parts))
        return None
    origin, size, root_b64 = parts
    try:
        root = base64.b64decode(root_b64, validate=True)
    except binascii.Error:
        root = b""
    if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size) or len(root) != 32:
        findings.append("checkpoint: malformed origin, size or root line")
        return None
    lines, known, good = [signature_line(line) for line in signatures], 0, 0
    if None in lines:
        findings.append("checkpoint: malformed signature line %r" % signatures[lines.index(None)])
        return None
    for name, blob in lines:
        for public_key in keys:
            if name == origin and blob[:4] == note_key_id(name, 0x01, public_key):
                known += 1
                if verifies(public_key, blob[4:], text.encode()):
                    good += 1
                else:
                    findings.append("checkpoint: the signature by key %s does not verify" % blob[:4].hex())
    if known > good:
        return None
    if not good:
        findings.append("checkpoint: no signature line by a --key key under the name %s" % origin)
        return None
    return origin, int(size), root, text, lines


def count_cosigners(text, lines, witnesses):
    """c2sp.org/tlog-cosignature, Ed25519 cosignature/v1. Returns (cosigners, findings)."""
    cosigned, findings = set(), []
    for name, blob in lines:
        for index, public_key in enumerate(witnesses):
            if blob[:4] != note_key_id(name, 0x04, public_key):
                continue
            timestamp = int.from_bytes(blob[4:12], "big")
            message = b"cosignature/v1\ntime %d\n" % timestamp + text.encode()
            if len(blob) == 76 and timestamp < 2 ** 63 and verifies(public_key, blob[12:], message):
                cosigned.add(index)
            else:
                findings.append("cosignature by %s (key %s) does not verify" % (name, blob[:4].hex()))
    return cosigned, findings


def published_cosignatures(source, size):
    """FORMAT.md section 18: `ledger/v1/checkpoints` keeps the cosignature lines of each checkpoint."""
    try:
        document = json.loads(source.get("ledger/v1/checkpoints"))
        rows = [row["line"] for row in document["cosignatures"] if row["size"] == size]
    except Missing:
        return [], []
    except (ValueError, KeyError, TypeError):
        return [], ["ledger/v1/checkpoints: not the document FORMAT.md section 18 describes"]
    lines = [signature_line(line) if isinstance(line, str) else None for line in rows]
    if None in lines:
        return [], ["ledger/v1/checkpoints: malformed cosignature line %r" % rows[lines.index(None)]]
    return lines, []


def tile_path(level, n, width):
    """c2sp.org/tlog-tiles: N in zero-padded 3-digit elements, all but the last prefixed with x."""
    elements = ["%03d" % (n % 1000)]
    n //= 1000
    while n:
        elements.insert(0, "x%03d" % (n % 1000))
        n //= 1000
    return "tile/%s/%s%s" % (level, "/".join(elements), "" if width == 256 else ".p/%d" % width)


def tiles(count):
    """The (index, width) of the full tiles and the partial one holding `count` hashes."""
    return [(n, 256) for n in range(count // 256)] + ([(count // 256, count % 256)] if count % 256 else [])


def more(wrong):
    return " (and %d more)" % (len(wrong) - 1) if len(wrong) > 1 else ""


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(levels, start, n):
    """RFC 9162 section 2.1.1: MTH(D[start:start+n]); complete subtrees are read from `levels`."""
    if n & (n - 1) == 0:
        height = n.bit_length() - 1
        return levels[height][start >> height]
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    return node(mth(levels, start, k), mth(levels, start + k, n - k))


def check_tree(source, size, root, findings):
    # Level 0: the tiles, and the entry bundles whose leaves they hash (c2sp.org/tlog-tiles).
    leaves = []
    for n, width in tiles(size):
        path = tile_path(0, n, width)
        try:
            tile = source.get(path)
        except Missing:
            findings.append("%s: missing" % path)
            return
        if len(tile) != 32 * width:
            findings.append("%s: %d bytes, not %d hashes of 32" % (path, len(tile), width))
            return
        hashes = [tile[i:i + 32] for i in range(0, len(tile), 32)]
        leaves += hashes
        bundle_path = tile_path("entries", n, width)
        try:
            bundle = source.get(bundle_path)
        except Missing:
            findings.append("%s: missing" % bundle_path)
            continue
        data, offset = [], 0
        while offset + 2 <= len(bundle):
            length = int.from_bytes(bundle[offset:offset + 2], "big")
            data.append(bundle[offset + 2:offset + 2 + length])
            offset += 2 + length
        if offset != len(bundle) or len(data) != width or any(len(leaf) != 32 for leaf in data):
            findings.append("%s: not %d length-prefixed 32-byte entry hashes" % (bundle_path, width))
            continue
        wrong = [i for i in range(width) if hashlib.sha256(b"\x00" + data[i]).digest() != hashes[i]]
        if wrong:
            findings.append("%s: the leaf hash of entry %d is not %s's hash %d%s"
                            % (bundle_path, 256 * n + wrong[0] + 1, path, wrong[0], more(wrong)))
    # Every complete subtree, by height: levels[h][i] is the MTH of leaves i*2^h to (i+1)*2^h - 1.
    levels = [leaves]
    while len(levels[-1]) >= 2:
        below = levels[-1]
        levels.append([node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    computed = mth(levels, 0, size) if size else EMPTY_ROOT
    if computed != root:
        findings.append("checkpoint: root %s, the level-0 tiles give %s" % (root.hex(), computed.hex()))
    # Levels 1 and up: the nodes of height 8*L, each recomputed from level 0.
    level = 1
    while size >> 8 * level:
        expected = levels[8 * level]
        for n, width in tiles(size >> 8 * level):
            path = tile_path(level, n, width)
            try:
                tile = source.get(path)
            except Missing:
                findings.append("%s: missing" % path)
                continue
            if len(tile) != 32 * width:
                findings.append("%s: %d bytes, not %d hashes of 32" % (path, len(tile), width))
                continue
            wrong = [i for i in range(width) if tile[32 * i:32 * i + 32] != expected[256 * n + i]]
            if wrong:
                findings.append("%s: hash %d is not the one recomputed from the level below%s" % (path, wrong[0], more(wrong)))
        level += 1


def check(source, keys, witnesses, quorum):
    """Returns (the lines to print, the success line or None when something does not verify)."""
    findings = []
    try:
        note = source.get("checkpoint")
    except Missing:
        raise Unusable("%s: no checkpoint" % source.where)
    opened = open_checkpoint(note, keys, findings)
    if opened is None:
        return findings, None
    origin, size, root, text, lines = opened
    notes = []
    if witnesses:
        published, problems = published_cosignatures(source, size)
        findings += problems
        cosigned, problems = count_cosigners(text, lines + [line for line in published if line not in lines], witnesses)
        findings += problems
        notes.append("cosigned by %d of the %d witnesses given; %d required" % (len(cosigned), len(witnesses), quorum))
        if len(cosigned) < quorum:
            findings += notes
    check_tree(source, size, root, findings)
    if findings:
        return findings, None
    return notes, "verified: %s at tree size %d, root %s" % (origin, size, root.hex())


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("source", metavar="DIR_OR_URL")
    parser.add_argument("--key", action="append", required=True, help="the key that signs the checkpoints (minisign .pub): a server's log key (`gigaledger key export --id LOG_KEY_ID` on a verified copy), or the authority's for checkpoints it signed")
    parser.add_argument("--witness", action="append", default=[], help="a witness (auditor) key (minisign .pub)")
    parser.add_argument("--quorum", type=int, help="witnesses required (default: all given)")
    arguments = parser.parse_args()
    try:
        keys = [read_key(path) for path in arguments.key]
        witnesses = list(dict.fromkeys(read_key(path) for path in arguments.witness))
        quorum = len(witnesses) if arguments.quorum is None else arguments.quorum
        if not 0 <= quorum <= len(witnesses):
            raise Unusable("--quorum must be between 0 and the number of --witness keys (%d)" % len(witnesses))
        if not arguments.source.startswith(("http://", "https://")) and not os.path.isdir(arguments.source):
            raise Unusable("%s: not a folder or an http:// URL" % arguments.source)
        findings, verified = check(Source(arguments.source), keys, witnesses, quorum)
    except Unusable as error:
        print("check_tiles.py: %s" % error, file=sys.stderr)
        sys.exit(2)
    for finding in findings:
        print(finding)
    if verified:
        print(verified)
    sys.exit(0 if verified else 1)


if __name__ == "__main__":
    main()
