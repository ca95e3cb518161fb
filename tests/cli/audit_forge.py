#!/usr/bin/env python3
# An adversary's tool for the tamper suite: whoever holds only the database file can
# recompute the unkeyed hash chain byte for byte (BLAKE2b-256 of the entry's fields and
# the previous hash, as src/trial/audit.c writes it). It cannot compute MACs, which
# need the audit key. Usage:
#   audit_forge.py DB rehash [--strip-macs]      rebuild every hash and link
#   audit_forge.py DB swap-slots P1 P2           give two patients each other's slot
#                                               (arms flipped), fix the trail, rehash
#   audit_forge.py DB append-unkeyed             append a correctly hashed entry (no MAC)
import hashlib
import json
import sqlite3
import struct
import sys

DOMAIN = b"leopards audit entry v1\0"


def text(h, s):
    if s is None:
        h.update(b"\0")
        return
    b = s.encode("utf-8")
    h.update(b"\1" + struct.pack("<q", len(b)) + b)


def entry_hash(e, prev):
    h = hashlib.blake2b(digest_size=32)
    h.update(DOMAIN)
    h.update(struct.pack("<q", e["id"]))
    h.update(prev)
    for f in ("at", "user", "action", "tbl"):
        text(h, e[f])
    h.update(struct.pack("<q", e["row_id"]))
    for f in ("patient", "old", "new", "reason"):
        text(h, e[f])
    return h.digest()


def rehash(db, strip):
    db.row_factory = sqlite3.Row
    prev = bytes(32)
    for e in db.execute("SELECT * FROM audit ORDER BY id").fetchall():
        h = entry_hash(e, prev)
        if strip:
            db.execute("UPDATE audit SET prev_hash=?, hash=?, mac=NULL WHERE id=?", (prev, h, e["id"]))
        else:
            db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (prev, h, e["id"]))
        prev = h


def canon(d):
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def swap_slots(db, p1, p2):
    db.execute("PRAGMA foreign_keys=OFF")
    r = {p: db.execute("SELECT id, seq, pack FROM randomisations WHERE patient=?", (p,)).fetchone() for p in (p1, p2)}
    (i1, s1, k1), (i2, s2, k2) = r[p1], r[p2]
    db.execute("UPDATE randomisations SET seq=-1 WHERE id=?", (i1,))
    db.execute("UPDATE randomisations SET seq=?, pack=? WHERE id=?", (s1, k1, i2))
    db.execute("UPDATE randomisations SET seq=?, pack=? WHERE id=?", (s2, k2, i1))
    # the trail told the truth: make it tell the forgery, in every entry of both rows
    for rid, seq, pack in ((i1, s2, k2), (i2, s1, k1)):
        for eid, old, new in db.execute(
                "SELECT id, old, new FROM audit WHERE tbl='randomisations' AND row_id=?", (rid,)).fetchall():
            vals = []
            for v in (old, new):
                if v is None:
                    vals.append(None)
                    continue
                d = json.loads(v)
                d["seq"], d["pack"] = seq, pack
                vals.append(canon(d))
            db.execute("UPDATE audit SET old=?, new=? WHERE id=?", (vals[0], vals[1], eid))
    rehash(db, False)


def append_unkeyed(db):
    db.row_factory = sqlite3.Row
    last = db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    cur = db.execute("INSERT INTO sites(code, name) VALUES('S99', 'forged site')")
    sid = cur.lastrowid
    e = {"id": last["id"] + 1, "at": "2030-01-01T00:00:00.000Z", "user": "mgr", "action": "insert",
         "tbl": "sites", "row_id": sid, "patient": None, "old": None,
         "new": canon({"id": sid, "code": "S99", "name": "forged site"}), "reason": "forged"}
    h = entry_hash(e, last["hash"])
    db.execute("INSERT INTO audit(id, at, user, action, tbl, row_id, patient, old, new, reason, prev_hash, hash)"
               " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
               (e["id"], e["at"], e["user"], e["action"], e["tbl"], e["row_id"], None, None, e["new"],
                e["reason"], last["hash"], h))


def main():
    db = sqlite3.connect(sys.argv[1])
    cmd = sys.argv[2]
    if cmd == "rehash":
        rehash(db, "--strip-macs" in sys.argv)
    elif cmd == "swap-slots":
        swap_slots(db, sys.argv[3], sys.argv[4])
    elif cmd == "append-unkeyed":
        append_unkeyed(db)
    else:
        sys.exit("unknown command " + cmd)
    db.commit()
    db.close()


main()
