#!/usr/bin/env bash
# manifests/team-namespace.sh: the Kubernetes objects a team's executor namespace needs, as YAML
# on stdout. Nothing is applied; pipe it to kubectl:
#
#   manifests/team-namespace.sh <team> <namespace> [options] | kubectl apply -f -
#
#   <team>       the team's name in the gateway's users file (`teams:`), e.g. analytics
#   <namespace>  the namespace its sessions' executors run in (the team's `namespace:`), e.g.
#                spark-analytics
#
# Options:
#   --gateway-namespace NS            where the gateway runs (default sparkgate, manifests/base)
#   --gateway-service-account NAME    the gateway pod's ServiceAccount (default sparkgate)
#   --executor-service-account NAME   the executors' ServiceAccount to create (default
#                                     sparkgate-executor; the team's `serviceAccount:` if it names
#                                     another)
#   --quota cpu=8,memory=32Gi,pods=10 a ResourceQuota for the namespace: cpu and memory bound the
#                                     pods' requests (requests.cpu, requests.memory: Spark sets
#                                     requests on executors, and a cpu limit only with
#                                     spark.kubernetes.executor.limit.cores), pods the number of
#                                     pods; any other quota resource may be named as is, e.g.
#                                     limits.memory=40Gi or requests.storage=100Gi
#   --no-network-policy               leave out the executors' NetworkPolicy
#
# What it prints:
#   - the Namespace, labelled sparkgate.io/executor-namespace=true: the gateway's NetworkPolicy
#     (manifests/base/network-policies.yaml) admits executors from namespaces with that label to
#     its driver ports, and lets the gateway reach them;
#   - Role sparkgate-executors: exactly the gateway's executor permissions (the rules of the Role
#     in manifests/base/rbac.yaml, copied from it; REQUIRED_RBAC in src/k8s/rbac.ts): the gateway,
#     and the Spark drivers it runs, create, watch and delete executor pods, their ConfigMaps,
#     Services and PVCs here, and read executor logs; RoleBinding sparkgate-executors grants it
#     to the gateway's ServiceAccount;
#   - the executors' ServiceAccount, with no API token mounted (executors never call the API);
#   - with --quota, ResourceQuota sparkgate-executors. When it refuses an executor, the notebook
#     cell waiting for it says so in one line;
#   - NetworkPolicy sparkgate-executors: executors accept connections only from the gateway pod
#     (block fetches) and from each other (shuffle), as in the gateway's own namespace.
#
# Then name the namespace in the users file and restart the gateway (it watches every team
# namespace and checks at start that it may):
#
#   teams:
#     analytics:
#       namespace: spark-analytics
#       serviceAccount: sparkgate-executor
#
# Executors in a team namespace have no ownerReference to the gateway pod (Spark cannot own
# objects across namespaces): the gateway's session-end collection and its reaper remove them.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

fail() {
  echo "team-namespace.sh: $*" >&2
  exit 2
}

dns_label() { [[ "$1" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; }

gateway_namespace=sparkgate
gateway_sa=sparkgate
executor_sa=sparkgate-executor
quota=""
network_policy=true
positional=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --gateway-namespace) gateway_namespace="${2:-}"; shift 2 || fail "$1 needs a value" ;;
    --gateway-namespace=*) gateway_namespace="${1#*=}"; shift ;;
    --gateway-service-account) gateway_sa="${2:-}"; shift 2 || fail "$1 needs a value" ;;
    --gateway-service-account=*) gateway_sa="${1#*=}"; shift ;;
    --executor-service-account) executor_sa="${2:-}"; shift 2 || fail "$1 needs a value" ;;
    --executor-service-account=*) executor_sa="${1#*=}"; shift ;;
    --quota) quota="${2:-}"; shift 2 || fail "$1 needs a value" ;;
    --quota=*) quota="${1#*=}"; shift ;;
    --no-network-policy) network_policy=false; shift ;;
    -*) fail "unknown option $1 (see --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done

[[ ${#positional[@]} -eq 2 ]] || fail "usage: team-namespace.sh <team> <namespace> [options] (see --help)"
team="${positional[0]}"
namespace="${positional[1]}"

# The users file's team names: letters, digits and . _ @ + - (src/users/policy-file.ts).
[[ "$team" =~ ^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$ ]] || fail "team \"$team\" is not a users-file team name, e.g. analytics"
dns_label "$namespace" || fail "namespace \"$namespace\" is not a namespace name (lower-case letters, digits, -), e.g. spark-analytics"
dns_label "$gateway_namespace" || fail "--gateway-namespace \"$gateway_namespace\" is not a namespace name, e.g. sparkgate"
dns_label "$gateway_sa" || fail "--gateway-service-account \"$gateway_sa\" is not a ServiceAccount name, e.g. sparkgate"
dns_label "$executor_sa" || fail "--executor-service-account \"$executor_sa\" is not a ServiceAccount name, e.g. sparkgate-executor"
[[ "$namespace" != "$gateway_namespace" ]] || fail "namespace $namespace is the gateway's own: manifests/base already covers it"

# A label value may not hold @ or +: such team names are kept as an annotation only.
team_label=""
if [[ ${#team} -le 63 && "$team" =~ ^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$ ]]; then
  team_label="    sparkgate.io/team: \"$team\""
fi

# The Role's rules are the base Role's (manifests/base/rbac.yaml, which a unit test keeps equal to
# REQUIRED_RBAC): copied, so a permission the gateway gains reaches team namespaces too.
base_rbac="$(dirname "${BASH_SOURCE[0]}")/base/rbac.yaml"
[[ -r "$base_rbac" ]] || fail "cannot read $base_rbac (run the script from its place in the repository)"
rules="$(awk '/^kind: Role$/ { role = 1 } /^---/ { role = 0; copy = 0 } role && /^rules:/ { copy = 1; next } copy && !/^ *#/' "$base_rbac")"
[[ "$rules" == *"resources:"* ]] || fail "found no Role rules in $base_rbac"

quota_lines=""
if [[ -n "$quota" ]]; then
  IFS=',' read -r -a entries <<<"$quota"
  for entry in "${entries[@]}"; do
    [[ "$entry" == *=* ]] || fail "--quota entry \"$entry\" is not resource=quantity, e.g. --quota cpu=8,memory=32Gi,pods=10"
    key="${entry%%=*}"
    value="${entry#*=}"
    case "$key" in
      cpu) key=requests.cpu ;;
      memory) key=requests.memory ;;
    esac
    [[ "$key" =~ ^[a-z0-9]([a-z0-9./-]*[a-z0-9])?$ ]] || fail "--quota resource \"$key\" is not a quota resource name, e.g. pods or limits.memory"
    [[ "$value" =~ ^[0-9]+(\.[0-9]+)?([mkMGTPE]|[KMGTPE]i)?$ ]] || fail "--quota $key=\"$value\" is not a quantity, e.g. 8, 500m or 32Gi"
    quota_lines+="    $key: \"$value\""$'\n'
  done
fi

cat <<EOF
# Generated by manifests/team-namespace.sh for team $team; apply with kubectl apply -f -.
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    app.kubernetes.io/part-of: sparkgate
    # The gateway's NetworkPolicy admits executors from namespaces with this label.
    sparkgate.io/executor-namespace: "true"
${team_label:+$team_label
}  annotations:
    sparkgate.io/team: "$team"
    sparkgate.io/gateway-namespace: $gateway_namespace
---
# The executors' identity: no Role is bound to it and no token is mounted.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $executor_sa
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: sparkgate
automountServiceAccountToken: false
---
# Exactly the gateway's executor permissions (manifests/base/rbac.yaml, REQUIRED_RBAC).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: sparkgate-executors
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: sparkgate
rules:
$rules
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: sparkgate-executors
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: sparkgate
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: sparkgate-executors
subjects:
  - kind: ServiceAccount
    name: $gateway_sa
    namespace: $gateway_namespace
EOF

if [[ -n "$quota_lines" ]]; then
  cat <<EOF
---
# Bounds every pod in the namespace: a session's executors that do not fit are refused, and the
# notebook cell waiting for them says so.
apiVersion: v1
kind: ResourceQuota
metadata:
  name: sparkgate-executors
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: sparkgate
spec:
  hard:
${quota_lines%$'\n'}
EOF
fi

if [[ "$network_policy" == true ]]; then
  cat <<EOF
---
# Executors accept connections only from the gateway pod (block fetches) and from each other
# (shuffle and broadcast blocks), as in the gateway's namespace. Their egress stays open (the
# driver's ports, and whatever data the notebooks read).
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: sparkgate-executors
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: sparkgate
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/managed-by: sparkgate
  policyTypes: ["Ingress"]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: $gateway_namespace
          podSelector:
            matchLabels:
              app.kubernetes.io/name: sparkgate
              app.kubernetes.io/component: gateway
        - podSelector:
            matchLabels:
              app.kubernetes.io/managed-by: sparkgate
EOF
fi
