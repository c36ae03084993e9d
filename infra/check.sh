#!/usr/bin/env bash
# Offline checks of infra/ (no AWS account, no credentials, no network):
#   1. cfn-lint infra/template.yaml                      (any finding fails: errors and warnings;
#      a warning that was reviewed and accepted is suppressed in the template, with a comment)
#   2. no Function URL on a function the state machine invokes, and reserved concurrency on
#      every function that has one (a flood of webhook requests cannot throttle a job)
#   3. asl-validator on the state machine as committed   (placeholders and all)
#   4. the state machine rendered with test values parses as JSON, no placeholder is left, the
#      placeholders match the template's DefinitionSubstitutions one for one, and asl-validator
#      accepts the rendered file too
#   5. optional: `sam validate --lint` when SAM points at a sam binary
#
# Tools (paths relative to the repository root unless absolute):
#   CFN_LINT       default ${VENV_E2E:-.venv-e2e}/bin/cfn-lint   (tests/e2e/setup-venv.sh installs it)
#   ASL_VALIDATOR  default tests/e2e/node_modules/.bin/asl-validator
#   SAM            unset: step 4 is skipped
#
#   bash infra/check.sh
#   CFN_LINT=/tmp/lintvenv/bin/cfn-lint ASL_VALIDATOR=/tmp/aslv/node_modules/.bin/asl-validator bash infra/check.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

template=infra/template.yaml
asl=infra/statemachine/imgflow.asl.json
cfn_lint="${CFN_LINT:-${VENV_E2E:-.venv-e2e}/bin/cfn-lint}"
asl_validator="${ASL_VALIDATOR:-tests/e2e/node_modules/.bin/asl-validator}"

need() {
  if [[ ! -x "$1" ]] && ! command -v "$1" >/dev/null 2>&1; then
    echo "check.sh: $2 not found at '$1' (run tests/e2e/setup-venv.sh, or set $3)" >&2
    exit 2
  fi
}
need "$cfn_lint" cfn-lint CFN_LINT
need "$asl_validator" asl-validator ASL_VALIDATOR

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== cfn-lint $template"
"$cfn_lint" --version
"$cfn_lint" "$template"
echo "cfn-lint: no findings"

echo "== IAM actions in $template name no wildcard"
python3 - "$template" <<'PY'
import re, sys

# Every value of an Action key (inline, flow list or block list) must be service:Name, no "*".
# A Deny may say s3:* (e.g. "deny every request without TLS"): it grants nothing.
bad, in_action, action_indent, deny = [], False, 0, False
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    body = line.split(" #", 1)[0].rstrip()
    if not body.strip() or body.strip().startswith("#"):
        continue
    indent = len(body) - len(body.lstrip())
    if re.match(r"\s*- (Sid|Effect):", body):
        deny = False
    if re.match(r"\s*(?:- )?Effect:\s*Deny\s*$", body):
        deny = True
    match = re.match(r"\s*(?:- )?(Not)?Action:\s*(.*)$", body)
    if match:
        in_action, action_indent = True, indent
        values = match.group(2)
    elif in_action and indent >= action_indent and body.strip().startswith("- "):
        values = body.strip()[2:]
    else:
        in_action = False
        continue
    for value in re.findall(r"[^\s\[\],'\"]+", values):
        if deny and re.fullmatch(r"[a-z0-9-]+:\*", value):
            continue
        if "*" in value or not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", value):
            bad.append(f"line {number}: {value}")
if bad:
    sys.exit("wildcard or malformed IAM action: " + "; ".join(bad))
print("IAM actions: all explicit")
PY

echo "== public Function URLs are separate, bounded functions"
python3 - "$template" <<'PY'
import re, sys

# Top-level resources (two-space indent) and their text; what the state machine invokes.
resources, name = {}, None
in_resources = False
for line in open(sys.argv[1], encoding="utf-8"):
    if re.match(r"^\S", line):
        in_resources = line.startswith("Resources:")
        name = None
        continue
    if not in_resources:
        continue
    match = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
    if match:
        name = match.group(1)
        resources[name] = ""
    elif name:
        resources[name] += line.split(" #", 1)[0]
invoked = set(re.findall(r"!GetAtt (\w+)\.Arn", resources.get("JobsStateMachine", "").split("Logging:")[0]))
with_url = {n for n, text in resources.items() if "FunctionUrlConfig:" in text}
problems = []
if not invoked:
    problems.append("no function found in the state machine's DefinitionSubstitutions")
if invoked & with_url:
    problems.append(f"functions the state machine invokes have a public Function URL: {sorted(invoked & with_url)}")
for n in sorted(with_url):
    if "ReservedConcurrentExecutions:" not in resources[n]:
        problems.append(f"{n} has a Function URL but no ReservedConcurrentExecutions")
if problems:
    sys.exit("; ".join(problems))
print(f"state machine invokes {sorted(invoked)}; Function URLs on {sorted(with_url)}, each with reserved concurrency")
PY

echo "== asl-validator $asl (as committed)"
python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$asl" ||
  { echo "check.sh: $asl is not valid JSON" >&2; exit 1; }
"$asl_validator" --json-path "$asl"

echo "== render $asl with test values"
rendered="$work/imgflow.rendered.asl.json"
python3 - "$asl" "$template" "$rendered" <<'PY'
import json, re, sys

asl_path, template_path, out_path = sys.argv[1:4]
values = {
    "StartExportFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:start-export",
    "StartSyncFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:start-sync",
    "CheckStatusFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:check-status",
    "EventBusName": "default",
    "MaxConcurrency": "5",
    "JobsBucketName": "imgflow-jobs-123456789012",
}
text = open(asl_path, encoding="utf-8").read()
json.loads(text)  # the committed file is valid JSON on its own

used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))

# The keys of DefinitionSubstitutions in the template (indentation-based; no YAML parser needed).
keys, indent = set(), None
for line in open(template_path, encoding="utf-8"):
    stripped = line.strip()
    if indent is None:
        if stripped == "DefinitionSubstitutions:":
            indent = len(line) - len(line.lstrip())
        continue
    if not stripped or stripped.startswith("#"):
        continue
    if len(line) - len(line.lstrip()) <= indent:
        break
    match = re.match(r"\s*([A-Za-z0-9_]+):", line)
    if match:
        keys.add(match.group(1))

problems = []
if used != keys:
    problems.append(f"placeholders in the ASL {sorted(used)} != DefinitionSubstitutions keys {sorted(keys)}")
if used - set(values):
    problems.append(f"no test value for {sorted(used - set(values))}")
for key, value in values.items():
    text = text.replace("${" + key + "}", value)
if "${" in text:
    problems.append("unreplaced placeholder: " + re.search(r"\$\{[^}]*\}", text).group(0))
try:
    definition = json.loads(text)
except json.JSONDecodeError as err:
    problems.append(f"rendered definition is not JSON: {err}")
    definition = {}
if problems:
    sys.exit("render: " + "; ".join(problems))
open(out_path, "w", encoding="utf-8").write(text)
print(f"rendered: valid JSON, {len(definition.get('States', {}))} top-level states, placeholders {sorted(used)}")
PY
"$asl_validator" --json-path "$rendered"

if [[ -n "${SAM:-}" ]]; then
  echo "== sam validate --lint"
  SAM_CLI_TELEMETRY=0 "$SAM" validate --lint --region "${AWS_REGION:-us-east-1}" -t "$template"
else
  echo "== sam validate skipped (set SAM=path/to/sam to run it)"
fi

echo "infra/check.sh: all checks passed"
