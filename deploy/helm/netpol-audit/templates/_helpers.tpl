{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "netpol-audit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed with the chart name unless it already contains it. Cluster-scoped
objects (ClusterRole, ClusterRoleBinding) are named with it, so two releases never collide. */}}
{{- define "netpol-audit.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "netpol-audit.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "netpol-audit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netpol-audit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "netpol-audit.labels" -}}
helm.sh/chart: {{ include "netpol-audit.chart" . }}
{{ include "netpol-audit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: netpol-audit
{{- end }}

{{- define "netpol-audit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "netpol-audit.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "netpol-audit.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "netpol-audit.reportsClaim" -}}
{{- default (printf "%s-reports" (include "netpol-audit.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* The mode, checked: "cluster" or "namespaced" with at least one namespace. */}}
{{- define "netpol-audit.mode" -}}
{{- if eq .Values.mode "cluster" }}
{{- if .Values.namespaces }}
{{- fail "namespaces is only used with mode: namespaced" }}
{{- end }}
{{- if .Values.clusterScopedReads }}
{{- fail "clusterScopedReads is only used with mode: namespaced (mode: cluster reads everything already)" }}
{{- end }}
{{- else if eq .Values.mode "namespaced" }}
{{- if not .Values.namespaces }}
{{- fail "mode: namespaced needs the namespaces to audit in namespaces" }}
{{- end }}
{{- else }}
{{- fail (printf "mode must be cluster or namespaced, not %q" .Values.mode) }}
{{- end }}
{{- .Values.mode }}
{{- end }}

{{/*
RBAC rules: get and list on exactly what the live collector reads (scanner/collect/live.py), nothing else: no
watch, no wildcards, no Secrets, no ConfigMaps. Discovery (GET /api, /apis) is granted to every authenticated
identity by the built-in system:discovery ClusterRole.
*/}}
{{/* The namespaced kinds, listed per namespace in namespaced mode. */}}
{{- define "netpol-audit.rules.namespaced" -}}
- apiGroups: [""]
  resources: [pods, services, replicationcontrollers]
  verbs: [get, list]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets, replicasets]
  verbs: [get, list]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list]
- apiGroups: [crd.projectcalico.org]
  resources: [networkpolicies]
  verbs: [get, list]
- apiGroups: [projectcalico.org]
  resources: [networkpolicies, stagednetworkpolicies]
  verbs: [get, list]
- apiGroups: [cilium.io]
  resources: [ciliumnetworkpolicies]
  verbs: [get, list]
{{- end }}

{{/* The cluster-scoped kinds: always listed cluster-wide. */}}
{{- define "netpol-audit.rules.clusterScoped" -}}
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list]
- apiGroups: [policy.networking.k8s.io]
  resources: [adminnetworkpolicies, baselineadminnetworkpolicies, clusternetworkpolicies]
  verbs: [get, list]
- apiGroups: [crd.projectcalico.org]
  resources: [globalnetworkpolicies]
  verbs: [get, list]
- apiGroups: [projectcalico.org]
  resources: [globalnetworkpolicies, stagedglobalnetworkpolicies]
  verbs: [get, list]
- apiGroups: [cilium.io]
  resources: [ciliumclusterwidenetworkpolicies]
  verbs: [get, list]
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list]
{{- end }}

{{/* The scan's arguments. */}}
{{- define "netpol-audit.args" -}}
- scan
- --in-cluster
{{- if eq .Values.mode "namespaced" }}
{{- range .Values.namespaces }}
- -n
- {{ . | quote }}
{{- end }}
{{- end }}
- --archive-dir
- /reports
- --keep
- {{ .Values.keep | quote }}
- --fail-on
- {{ .Values.failOn | quote }}
{{- if .Values.timeout }}
- --timeout
- {{ .Values.timeout | quote }}
{{- end }}
- --config
- /etc/netpol-audit/config.yaml
{{- if .Values.policyReports.enabled }}
- --publish-policyreports
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
