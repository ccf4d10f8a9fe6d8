#!/usr/bin/env bash
# Checks helm/console offline: installs its tools into .tools/deploy (cached), then lints with
# Helm 3 and 4, renders every ci/*-values.yaml for two Kubernetes versions, validates the objects
# against strict schemas, runs tests/helm, checkov and yamllint. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# Resolved: .tools/deploy may be a link to a cache kept outside the checkout (.ci/run), and
# the venvs inside must record the real path.
TOOLS=$(realpath -m .tools/deploy)
CHART=helm/console
KUBE_VERSIONS=(1.29.0 1.35.0)
PROJECT_PYTHON=${PROJECT_PYTHON:-.venv/bin/python}
# Not under .tools: checkov silently skips files below a hidden folder (0 resources, passed).
OUT=$(mktemp -d "${TMPDIR:-/tmp}/console-helm-rendered.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
failed=()
started=$SECONDS

step() { printf '\n== %s\n' "$*"; }
fail() { failed+=("$1"); printf 'FAILED: %s\n' "$1"; }

step "tools ($TOOLS)"
python=$(command -v python3)
[ -x "$PROJECT_PYTHON" ] && python=$PROJECT_PYTHON
if ! "$python" scripts/deploy/helm_tools.py install "$TOOLS"; then
    echo "could not install the tools"
    exit 1
fi
HELM3=$TOOLS/bin/helm3
HELM4=$TOOLS/bin/helm4
"$HELM3" version --short
"$HELM4" version --short

scenarios=("$CHART"/ci/*-values.yaml)

step "helm lint --strict (${#scenarios[@]} scenarios x helm 3 and 4)"
lints=0
for helm in "$HELM3" "$HELM4"; do
    for values in "${scenarios[@]}"; do
        if "$helm" lint --strict --quiet "$CHART" -f "$values" >/dev/null 2>"$TOOLS/lint.err"; then
            lints=$((lints + 1))
        else
            cat "$TOOLS/lint.err"
            fail "$(basename "$helm") lint $values"
        fi
    done
done
echo "lint passed: $lints/$((2 * ${#scenarios[@]}))"

step "helm template (${#scenarios[@]} scenarios x Kubernetes ${KUBE_VERSIONS[*]})"
rm -rf "$OUT" && mkdir -p "$OUT"
for values in "${scenarios[@]}"; do
    name=$(basename "$values" -values.yaml)
    for kube in "${KUBE_VERSIONS[@]}"; do
        rendered=$OUT/${name}__${kube}.yaml
        # One release name per scenario: checkov's graph checks (e.g. every pod has a
        # NetworkPolicy) must not match another scenario's objects.
        render=(template "$name" "$CHART" -n console -f "$values" --kube-version "$kube")
        if ! "$HELM3" "${render[@]}" >"$rendered"; then
            fail "helm template $values (Kubernetes $kube)"
            rm -f "$rendered"
            continue
        fi
        # Helm 4 must render the same objects.
        if ! "$HELM4" "${render[@]}" | diff -q - "$rendered" >/dev/null; then
            fail "helm 4 renders $values (Kubernetes $kube) differently from helm 3"
        fi
        echo "$(basename "$rendered"): $(grep -c '^kind:' "$rendered") objects"
    done
done

step "strict schema validation (kubernetes-validate's schemas, vendored CRD schemas)"
"$TOOLS/venv/bin/python" scripts/deploy/helm_tools.py validate "$OUT" || fail "schema validation"

step "pytest tests/helm"
CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1 CONSOLE_HELM3="$TOOLS/bin/helm3" CONSOLE_HELM4="$TOOLS/bin/helm4" \
    "$PROJECT_PYTHON" -m pytest -q -p no:cacheprovider --confcutdir=tests/helm tests/helm || fail "pytest tests/helm"

step "checkov (every skip and its reason: $CHART/.checkov.yaml)"
awk '/^ *#/ { sub(/^ *# */, ""); why = $0 } /^ *- CKV/ { print "  skipped " $2 ": " why }' "$CHART/.checkov.yaml"
results=$TOOLS/checkov-results
rm -rf "$results"
"$TOOLS/checkov/bin/checkov" --config-file "$CHART/.checkov.yaml" --directory "$OUT" \
    --framework kubernetes --skip-download --quiet --compact \
    --output cli --output json --output-file-path "$results" >/dev/null 2>&1
checkov_rc=$?
grep -E 'Check:|FAILED for' "$results/results_cli.txt"
"$TOOLS/venv/bin/python" - "$results/results_json.json" <<'PY' || fail "checkov"
import json, sys
report = json.load(open(sys.argv[1]))
summary = report.get("summary", report)  # with nothing scanned, the report is the summary
print("checkov: passed %(passed)d, failed %(failed)d, skipped %(skipped)d" % summary)
sys.exit(summary["failed"] > 0 or not summary["passed"] or not summary["resource_count"])
PY
[ "$checkov_rc" -eq 0 ] || fail "checkov exited $checkov_rc"

step "yamllint (values, ci scenarios, rendered output)"
lintable=("$CHART/values.yaml" "$CHART/Chart.yaml" "$CHART/.checkov.yaml" "$CHART"/ci/*.yaml "$OUT"/*.yaml)
if "$TOOLS/venv/bin/yamllint" --strict -c "$CHART/.yamllint" "${lintable[@]}"; then
    echo "yamllint: ${#lintable[@]} files clean"
else
    fail "yamllint"
fi

printf '\n== check-helm finished in %ss\n' "$((SECONDS - started))"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'FAILED (%d):\n' "${#failed[@]}"
    printf '  - %s\n' "${failed[@]}"
    exit 1
fi
echo "all helm checks passed"
