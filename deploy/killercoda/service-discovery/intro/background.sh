#!/usr/bin/env bash
# Runs once, as root, while the student reads the intro: install labgrade and
# record the cluster before the lab (step 6 compares the kubernetes Service's uid).
# LABGRADE_PIP: where your course publishes labgrade (a wheel URL, a git URL, an index name).
set -euo pipefail
LABGRADE_PIP="${LABGRADE_PIP:-labgrade}"
STATE=/opt/labgrade
mkdir -p "$STATE"
apt-get install -y -q python3-venv >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q python3-venv; }
python3 -m venv "$STATE/venv"
"$STATE/venv/bin/pip" install -q "$LABGRADE_PIP"
ln -sf "$STATE/venv/bin/labgrade" /usr/local/bin/labgrade
until kubectl get --raw /readyz >/dev/null 2>&1; do sleep 1; done
labgrade baseline -o /opt/labgrade/baseline.yaml  # step6/verify.sh reads it
touch "$STATE/ready"
