#!/usr/bin/env bash
# Builds a demo ledger for three AI gigafactories through the gigaledger CLI, verifies it
# and prints a summary. Run by `make demo`; the figures are realistic but invented.
set -euo pipefail
G=${GIGALEDGER:?set GIGALEDGER to the gigaledger binary}
DIR=${DEMO_DIR:-demo}
ROOT=$(pwd)
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"
export GIGALEDGER_LEDGER=ledger.sqlite
# Each demo run makes a new authority key under the same origin: keep the authority trusted on
# first use in the demo's own folder, not in the user's known ledgers.
export XDG_CONFIG_HOME="$(pwd)/.config"
# The server's state (its rollback guard) in the demo's folder too: each demo is a new ledger of the same origin.
export XDG_STATE_HOME="$(pwd)/.state"

say() { printf '\n== %s\n' "$*"; }
quiet() { "$G" "$@" >/dev/null; }

say "Keys: the JU authority (unencrypted, for this demo only) and three officers (passphrase-protected)"
"$G" key generate --out authority --unencrypted 2>/dev/null | head -1
umask 077
printf 'demo passphrase, do not reuse\n' > passphrase
export GIGALEDGER_PASSPHRASE_FILE="$(pwd)/passphrase"
for who in ju-officer de-officer fr-officer; do
  "$G" key generate --out "$who" --kdf interactive | head -1
done

say "Ledger"
"$G" init --key authority.key --origin eurohpc-ju.example/gigaledger --name "EuroHPC JU ledger authority"

export GIGALEDGER_KEY=authority.key
say "Gigafactories, partners and officers (signed by the authority)"
quiet factory register --id de-bavaria-aigf --name "Bavaria AI Gigafactory" --kind gigafactory --host DE --capex 3800000000
quiet factory register --id fr-es-pyrenees-aigf --name "Pyrenees AI Gigafactory" --kind gigafactory --host FR --host ES --capex 4200000000
quiet factory register --id it-po-valley-aigf --name "Po Valley AI Gigafactory" --kind gigafactory --host IT --capex 3100000000
quiet partner register --id nordcompute --name "NordCompute SE" --country DE
quiet partner register --id alpine-gpu --name "Alpine GPU Cloud SAS" --country FR --sme
quiet partner register --id lumen-ai --name "Lumen AI Infrastructure S.p.A." --country IT
quiet key enroll --pub ju-officer.pub --name "JU finance officer" --role officer --scope eu
quiet key enroll --pub de-officer.pub --name "German ministry finance officer" --role officer --scope ms:DE --scope factory:de-bavaria-aigf
quiet key enroll --pub fr-officer.pub --name "French ministry finance officer" --role officer --scope ms:FR --scope factory:fr-es-pyrenees-aigf
"$G" key list

say "Contributions: commitments and payments"
c() { quiet contribution record "$@"; }
# Union share of CAPEX: 17% (reported), committed, then paid in tranches.
GIGALEDGER_KEY=ju-officer.key c --factory de-bavaria-aigf --source eu --amount 646000000 --date 2026-02-02 --category capex --kind commitment --ref "JU-AIGF-2026-01"
GIGALEDGER_KEY=ju-officer.key c --factory fr-es-pyrenees-aigf --source eu --amount 714000000 --date 2026-02-02 --category capex --kind commitment --ref "JU-AIGF-2026-02"
GIGALEDGER_KEY=ju-officer.key c --factory it-po-valley-aigf --source eu --amount 527000000 --date 2026-02-16 --category capex --kind commitment --ref "JU-AIGF-2026-03"
GIGALEDGER_KEY=ju-officer.key c --factory de-bavaria-aigf --source eu --amount 129200000 --date 2026-03-20 --category capex --kind payment --ref "JU-PAY-0001"
GIGALEDGER_KEY=ju-officer.key c --factory fr-es-pyrenees-aigf --source eu --amount 142800000 --date 2026-03-27 --category capex --kind payment --ref "JU-PAY-0002"
# Host member states match the Union's money.
GIGALEDGER_KEY=de-officer.key c --factory de-bavaria-aigf --source ms:DE --amount 700000000 --date 2026-01-28 --category capex --kind commitment --ref "BMFTR-AIGF-1"
GIGALEDGER_KEY=de-officer.key c --factory de-bavaria-aigf --source ms:DE --amount 140000000.00 --date 2026-03-31 --category capex --kind payment --ref "BMFTR-Z-0042"
GIGALEDGER_KEY=fr-officer.key c --factory fr-es-pyrenees-aigf --source ms:FR --amount 450000000 --date 2026-01-30 --category capex --kind commitment --ref "MESR-AIGF-7"
es_entry=$("$G" contribution record --factory fr-es-pyrenees-aigf --source ms:ES --amount 300000000 --date 2026-02-05 --category capex \
  --kind commitment --ref "MTDFP-AIGF-3" | sed -n 's/^entry \([0-9]*\):.*/\1/p')
c --factory it-po-valley-aigf --source ms:IT --amount 560000000 --date 2026-02-20 --category capex --kind commitment --ref "MUR-AIGF-11"
# Private partners carry most of the CAPEX.
c --factory de-bavaria-aigf --source private:nordcompute --amount 2454000000 --date 2026-02-10 --category capex --kind commitment --ref "SHA-NC-2026"
c --factory de-bavaria-aigf --source private:nordcompute --amount 310500000.50 --date 2026-03-15 --category capex --kind payment --ref "NC-INV-2026-118"
c --factory fr-es-pyrenees-aigf --source private:alpine-gpu --amount 2736000000 --date 2026-02-12 --category capex --kind commitment --ref "SHA-AG-2026"
c --factory it-po-valley-aigf --source private:lumen-ai --amount 2013000000 --date 2026-02-25 --category capex --kind commitment --ref "SHA-LU-2026"
c --factory it-po-valley-aigf --source private:lumen-ai --amount 12500000 --date 2026-03-30 --category opex --kind payment --ref "LU-OPEX-Q1"

say "A mistaken payment and its correction"
contribution_entry=$("$G" contribution record --key de-officer.key --factory de-bavaria-aigf --source ms:DE \
  --amount 14000000 --date 2026-03-31 --category capex --kind payment --ref "BMFTR-Z-0042 (duplicate)" | sed -n 's/^entry \([0-9]*\):.*/\1/p')
"$G" correct --key de-officer.key --entry "$contribution_entry" --reason "duplicate of BMFTR-Z-0042, booked twice" --yes

say "Compute access granted"
a() { quiet access record "$@"; }
de() { GIGALEDGER_KEY=de-officer.key a --factory de-bavaria-aigf "$@"; }
fr() { GIGALEDGER_KEY=fr-officer.key a --factory fr-es-pyrenees-aigf "$@"; }
it() { a --factory it-po-valley-aigf "$@"; }
de --beneficiary "Isar Robotics GmbH" --category sme --gpu-hours 120000 --date 2026-03-02 --pool union --country DE
de --beneficiary "Kiel Language Models UG" --category startup --gpu-hours 80000 --date 2026-03-09 --pool union
de --beneficiary "TU Munich, Horizon Europe project" --category research --gpu-hours 250000 --date 2026-03-12 --pool union
de --beneficiary "Automotive OEM AG" --category industry --gpu-hours 60000 --date 2026-03-20 --pool union --commercial --charge 228000
de --beneficiary "Automotive OEM AG" --category industry --gpu-hours 1500000 --date 2026-03-25 --pool host --commercial --charge 5700000
de --beneficiary "Rhein Medical AI GmbH" --category sme --gpu-hours 400000 --date 2026-03-16 --pool host --charge 760000
de --beneficiary "Berlin Agents GmbH" --category startup --gpu-hours 300000 --date 2026-03-23 --pool host --charge 570000
de --beneficiary "Hamburg Logistics AI SE" --category scaleup --gpu-hours 200000 --date 2026-03-30 --pool host --charge 380000
fr --beneficiary "Toulouse Vision SAS" --category sme --gpu-hours 95000 --date 2026-03-05 --pool union --country FR
fr --beneficiary "Meteo climate model consortium" --category public --gpu-hours 300000 --date 2026-03-18 --pool union
fr --beneficiary "Barcelona BioAI S.L." --category scaleup --gpu-hours 150000 --date 2026-03-26 --pool host
fr --beneficiary "Aerospace prime SA" --category industry --gpu-hours 1200000 --date 2026-03-27 --pool host --commercial --charge 4560000
fr --beneficiary "Lyon Speech SAS" --category sme --gpu-hours 300000 --date 2026-03-11 --pool host --charge 570000
fr --beneficiary "Valencia Robotics S.L." --category startup --gpu-hours 250000 --date 2026-03-19 --pool host --charge 475000
it --beneficiary "Milano Fintech AI S.r.l." --category startup --gpu-hours 40000 --date 2026-03-27 --pool union --country IT
it --beneficiary "Politecnico di Torino, EuroHPC project" --category research --gpu-hours 60000 --date 2026-03-27 --pool union
it --beneficiary "Manifattura Digitale S.p.A." --category industry --gpu-hours 300000 --date 2026-03-30 --pool host --commercial --charge 1140000
it --beneficiary "Bologna Genomics S.r.l." --category sme --gpu-hours 120000 --date 2026-03-30 --pool host --charge 228000
it --beneficiary "Napoli Vision S.r.l." --category startup --gpu-hours 80000 --date 2026-03-31 --pool host --charge 152000

say "Policy: the safeguards reports are checked against (schema/policy/eurohpc-2026.json)"
"$G" policy set --key authority.key --file "$ROOT/schema/policy/eurohpc-2026.json"

say "Checkpoint: the quarter-end state, signed"
"$G" checkpoint --key authority.key --out q1.checkpoint 2>/dev/null
cat q1.checkpoint

say "Recent entries"
"$G" log | tail -5

say "Verification"
"$G" verify

say "Summary"
"$G" status

say "Quarterly report 2026-Q1, signed with the authority key"
"$G" report --quarter 2026-Q1 --out report-2026-Q1 --key authority.key --issue
(cd report-2026-Q1 && minisign -Vm report.html -p ../authority.pub -q && echo "minisign: report.html signature verified")

say "2026-Q2: new money and access; a late Q1 commitment and a corrected Q1 commitment, recorded after the Q1 report"
GIGALEDGER_KEY=ju-officer.key c --factory de-bavaria-aigf --source eu --amount 25000000 --date 2026-05-12 --category opex --kind commitment --ref "JU-AIGF-2026-01-OPEX"
GIGALEDGER_KEY=de-officer.key c --factory de-bavaria-aigf --source ms:DE --amount 25000000 --date 2026-05-20 --category opex --kind commitment --ref "BMFTR-AIGF-1-OPEX"
c --factory it-po-valley-aigf --source ms:IT --amount 40000000 --date 2026-03-28 --category capex --kind commitment --ref "MUR-AIGF-11 addendum, signed in March, booked late"
"$G" correct --entry "$es_entry" --reason "amount is EUR 310,000,000 per the signed hosting agreement" --yes >/dev/null
c --factory fr-es-pyrenees-aigf --source ms:ES --amount 310000000 --date 2026-02-05 --category capex --kind commitment --ref "MTDFP-AIGF-3 (corrected)"
de --beneficiary "Regensburg Quantum Chem GmbH" --category sme --gpu-hours 90000 --date 2026-04-14 --pool union --country DE
fr --beneficiary "CNRS climate downscaling" --category public --gpu-hours 200000 --date 2026-05-06 --pool union --country FR
it --beneficiary "Torino Mobility AI S.r.l." --category startup --gpu-hours 70000 --date 2026-06-03 --pool union --country IT
say "Amendments recorded in Q2: Po Valley's registered CAPEX revised down from 1 March (in the closed Q1), Bavaria's operating budget from 1 May"
quiet factory amend --id it-po-valley-aigf --name "Po Valley AI Gigafactory" --kind gigafactory --host IT --capex 2900000000 \
  --effective 2026-03-01 --reason "eligible cost revised after the audit of the tender"
quiet factory amend --id de-bavaria-aigf --name "Bavaria AI Gigafactory" --kind gigafactory --host DE --capex 3800000000 \
  --opex 500000000 --effective 2026-05-01 --reason "operating budget approved by the hosting agreement's addendum"
"$G" checkpoint --key authority.key --out q2.checkpoint 2>/dev/null

say "Quarterly report 2026-Q2, rolled forward from the Q1 report"
"$G" report --quarter 2026-Q2 --out report-2026-Q2 --previous report-2026-Q1 --key authority.key --issue
grep -A3 '^### Prior-period adjustments$' report-2026-Q2/report.md
grep -A5 '^### Prior-period adjustments of registrations' report-2026-Q2/report.md

say "Annual report 2026 (year to date), compared with the issued quarterly reports"
"$G" report --year 2026 --out report-2026 --quarter-reports report-2026-Q1 report-2026-Q2
grep -A4 '^Against the issued 2026-Q1 report' report-2026/report.md

say "Many offices: a server on loopback; two officers append through it; an auditor syncs a verified copy"
"$G" key generate --out log --unencrypted 2>/dev/null | head -1
quiet key enroll --pub log.pub --name "ledger server log key" --role log
"$G" serve --listen 127.0.0.1:0 --log-key log.key > serve.out 2> serve.log &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q 'serving' serve.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.* on \(http[^ ]*\)$/\1/p' serve.out)
echo "server: $url"
mkdir -p de-office fr-office auditor
(cd de-office && XDG_CONFIG_HOME="$(pwd)/.config" "$G" contribution record --server "$url" --authority-key ../authority.pub \
   --key ../de-officer.key --factory de-bavaria-aigf --source ms:DE --amount 12500000 --date 2026-06-20 --category opex --kind payment --ref "BMFTR-AIGF-1-OPEX-P1")
(cd fr-office && XDG_CONFIG_HOME="$(pwd)/.config" "$G" access record --server "$url" --authority-key ../authority.pub \
   --key ../fr-officer.key --factory fr-es-pyrenees-aigf --beneficiary "Toulouse Aero Startup SAS" --category startup --gpu-hours 30000 \
   --date 2026-06-22 --pool union --country FR)
(cd auditor && XDG_CONFIG_HOME="$(pwd)/.config" "$G" sync --from "$url" --ledger copy.sqlite --authority-key ../authority.pub \
   && XDG_CONFIG_HOME="$(pwd)/.config" "$G" verify --ledger copy.sqlite --authority-key ../authority.pub | head -1)
kill $server_pid; wait $server_pid 2>/dev/null || true
trap - EXIT
cmp <(sqlite3 ledger.sqlite 'SELECT seq, hex(hash) FROM entries') <(sqlite3 auditor/copy.sqlite 'SELECT seq, hex(hash) FROM entries') \
  && echo "the auditor's copy holds the server's entries, hash for hash"

echo
echo "The demo ledger is $DIR/ledger.sqlite; try: $G log --ledger $DIR/ledger.sqlite"
echo "The reports are in $DIR/report-2026-Q1/, $DIR/report-2026-Q2/ (with the roll-forward from Q1) and $DIR/report-2026/ (annual): report.md, report.html, summary.json, contributions.csv, access.csv, checkpoint.txt, consistency.txt, and .minisig files"
