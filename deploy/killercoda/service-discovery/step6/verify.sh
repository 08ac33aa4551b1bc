#!/usr/bin/env bash
# Killercoda's Check button: the live cluster is the cleaned phase; what step 5
# recorded is the built one, and the baseline from the intro holds the
# kubernetes Service's original uid.
export LABGRADE_LANG="${LABGRADE_LANG:-zh}"
exec labgrade verify step6 --rubric service-discovery --snapshot built=/opt/labgrade/built.yaml --baseline /opt/labgrade/baseline.yaml
