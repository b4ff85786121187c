{{- define "bukubesar-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bukubesar-operator.selectorLabels" -}}
app.kubernetes.io/name: bukubesar-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bukubesar-operator.labels" -}}
{{ include "bukubesar-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bukubesar-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bukubesar-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The permissions the reconciler uses, and nothing else (see operator/src/controller.rs):
     list/watch for the watches, get where a child is read back (workloads, Secrets), create +
     patch for server-side apply, delete for Jaeger's removal and deletePersistentVolumeClaims,
     ledgerdeployments/finalizers for owner references with blockOwnerDeletion. */}}
{{- define "bukubesar-operator.rules" -}}
- apiGroups: ["bukubesar.io"]
  resources: ["ledgerdeployments"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["bukubesar.io"]
  resources: ["ledgerdeployments/status"]
  verbs: ["patch"]
- apiGroups: ["bukubesar.io"]
  resources: ["ledgerdeployments/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["list", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
