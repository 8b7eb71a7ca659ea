{{/* The chart's name, and the release's full name (the release name when it holds the chart's). */}}
{{- define "sre-assistant.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sre-assistant.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sre-assistant.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sre-assistant.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sre-assistant.labels" -}}
{{ include "sre-assistant.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sre-assistant.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sre-assistant.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is needed when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sre-assistant.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The namespaces the web chat may read: its own list, else those the namespaced Role covers. */}}
{{- define "sre-assistant.webNamespaces" -}}
{{- if .Values.web.namespaces -}}
{{- join "," .Values.web.namespaces -}}
{{- else if eq .Values.rbac.scope "namespaces" -}}
{{- join "," .Values.rbac.namespaces -}}
{{- end -}}
{{- end -}}

{{/*
The read-only rules: get/list/watch on what the tools read, as deploy/rbac.yaml has them.
Deliberately absent: secrets, pods/exec, pods/attach, pods/portforward, the proxy subresources
and every write verb.
`cluster`: true adds the cluster-scoped kinds (a Role cannot grant them).
*/}}
{{- define "sre-assistant.rules" -}}
- apiGroups: [""]
  resources: [{{ if .cluster }}namespaces, nodes, {{ end }}pods, pods/log, services, endpoints, events,
              persistentvolumeclaims, {{ if .cluster }}persistentvolumes, {{ end }}configmaps, resourcequotas,
              limitranges, replicationcontrollers]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, replicasets, statefulsets, daemonsets]
  verbs: [get, list, watch]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io, extensions]
  resources: [ingresses, networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch]
{{- if .cluster }}
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
{{- end }}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [get, list, watch]
- apiGroups: [metrics.k8s.io]
  resources: [pods{{ if .cluster }}, nodes{{ end }}]
  verbs: [get, list]
{{- end -}}

{{/* The probes of a container serving GET /healthz on its port named `name`. Readiness is
/healthz too, not /readyz: when the cluster or Slack cannot be reached, a ready pod still answers
"I could not read the cluster at ..." in the thread, where an unready one would leave Slack's
requests unanswered. /readyz is for monitoring (a blackbox probe, an alert). */}}
{{- define "sre-assistant.probes" -}}
readinessProbe:
  httpGet:
    path: /healthz
    port: {{ .name }}
  periodSeconds: 10
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .name }}
  initialDelaySeconds: 30
  periodSeconds: 20
  failureThreshold: 3
{{- end -}}
