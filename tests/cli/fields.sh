#!/usr/bin/env bash
# One source for the fields: the command line's --help, the CSV header of the export,
# the data dictionary and the ODM ItemDefs list the same fields of every clinical form
# and of the consent form, with the same names, types, units and alternative units (all
# generated from leopards/forms.h; the web form's unit choices are compared with the
# help in tests/web/units_browser.py).
set -u
L="$1"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
"$L" simulate --db sim.db --key sim.key --patients 12 --sites 2 --screened 30 --quiet >/dev/null 2>err || fail "simulate: $(cat err)"
"$L" export --db sim.db --out csv >/dev/null 2>err || fail "export: $(cat err)"
"$L" export --db sim.db --format odm --out snap.xml >/dev/null 2>err || fail "export odm: $(cat err)"
for k in baseline daily infusion outcome ae consent; do "$L" record "$k" --help >"help.$k" || fail "help $k"; done
"$L" screen --help >help.screening || fail "help screening"

/usr/bin/python3 - >pyout 2>&1 <<'PY' || fail "$(cat pyout)"
import csv, re, xml.etree.ElementTree as ET
NS = "{http://www.cdisc.org/ns/odm/v1.3}"
forms = {"baseline": "patients", "daily": "daily", "infusion": "infusions", "outcome": "outcomes",
         "ae": "adverse_events", "screening": None, "consent": None}
root = ET.parse("snap.xml").getroot()
units = {u.get("OID"): u.get("Name") for u in root.iter(NS + "MeasurementUnit")}
odm = {}
alts = {}  # (form, field) -> "ALT in UNIT", from the ItemDef's alternative-unit Alias
for d in root.iter(NS + "ItemDef"):
    for a in d.iter(NS + "Alias"):
        if a.get("Context") == "leopards:alternative-unit":
            alts[tuple(d.get("OID").split(".")[1:3])] = a.get("Name").split(" = ")[0]
    form, name = d.get("OID").split(".")[1:3]
    ref = d.find(NS + "MeasurementUnitRef")
    odm.setdefault(form, {})[name] = (d.get("Name"), d.get("DataType"), units[ref.get("MeasurementUnitOID")] if ref is not None else "")
    if d.get("Name") != name: print(f"ItemDef {d.get('OID')} is named {d.get('Name')}")
# the type word and the unit each data type shows in the help and the dictionary
help_type = {"integer": "integer", "float": "number", "boolean": "0/1", "text": None, "partialDatetime": "date"}
sql_type = {"integer": "INTEGER", "float": "REAL", "boolean": "INTEGER", "text": "TEXT", "partialDatetime": "TEXT"}
dictionary = {}
with open("csv/data_dictionary.csv") as f:
    for r in csv.DictReader(f): dictionary[(r["table"], r["column"])] = r
bad = 0
def err(msg):
    global bad
    bad += 1
    print(msg)
for form, table in forms.items():
    lines = open(f"help.{form}").read().split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("fields") or l.startswith("eligibility fields"))
    help_fields = {}
    started = False
    for l in lines[start + 1:]:
        m = re.match(r"^  ([a-z_0-9]+) +(.*)$", l)
        if m:
            started = True
            help_fields[m.group(1)] = m.group(2).replace(" [required]", "")
        elif started and (l.strip() == "" or not l.startswith("  ")): break
    items = odm.get(form, {})
    names_help = set(help_fields) - {"patient"}
    if names_help != set(items): err(f"{form}: help {sorted(names_help ^ set(items))} differ from the ItemDefs")
    if table:
        header = next(csv.reader(open(f"csv/{table}.csv")))
        cols = set(header) - {"id", "patient"}
        fields = names_help - {"id"}
        if cols != fields: err(f"{form}: CSV header {sorted(cols ^ fields)} differ from the fields")
    for name, (nm, dtype, unit) in items.items():
        h = help_fields.get(name, "")
        m = re.search(r"\(([^()]*)\)(; or .*)?$", h)
        inner = m.group(1) if m else ""
        word = help_type[dtype]
        if word and not inner.startswith(word): err(f"{form}.{name}: help '{inner}' is not of type {dtype}")
        if dtype == "text" and not (inner == "text" or inner.startswith("one of")): err(f"{form}.{name}: help '{inner}' is not text")
        if unit and f", {unit}, " not in f"{inner}, ": err(f"{form}.{name}: unit {unit} not in help '{inner}'")
        # the alternative unit (creatinine_umol_l in umol/L): the same in the help and the ODM
        alt_help = m.group(2)[len("; or "):].split(" (")[0] if m and m.group(2) else None
        if alt_help != alts.get((form, name)):
            err(f"{form}.{name}: alternative '{alt_help}' in the help, '{alts.get((form, name))}' in the ODM")
        if table and name != "id":
            d = dictionary.get((table, name))
            if not d: err(f"{form}.{name}: not in the data dictionary"); continue
            if d["type"] != sql_type[dtype]: err(f"{form}.{name}: dictionary type {d['type']}, ODM {dtype}")
            if d["description"] != h: err(f"{form}.{name}: dictionary '{d['description']}' vs help '{h}'")
if len(alts) < 4: err(f"only {len(alts)} alternative units in the ODM: {alts}")
print("checked", sum(len(v) for v in odm.values()), "items,", len(alts), "alternative units")
raise SystemExit(1 if bad else 0)
PY
[ "$fails" = 0 ] && echo "fields: all passed ($(cat pyout))" || { echo "fields: $fails failure(s)"; exit 1; }
