{{/* The chart name, overridable. */}}
{{- define "wva.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name. */}}
{{- define "wva.fullname" -}}
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

{{/* Labels of every object. */}}
{{- define "wva.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wva.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the manager's pods. */}}
{{- define "wva.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wva.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{/*
A resource name: the full name, shortened so that with "-" and the suffix it fits the 63
characters of a label value or Service name. Call with (list . "suffix").
*/}}
{{- define "wva.resourceName" -}}
{{- $ctx := index . 0 }}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "wva.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "wva.serviceAccountName" -}}
{{ include "wva.resourceName" (list . "controller-manager") }}
{{- end }}

{{- define "wva.mainConfigMap" -}}
{{ include "wva.resourceName" (list . "variantautoscaling-config") }}
{{- end }}

{{- define "wva.saturationConfigMap" -}}
{{ include "wva.resourceName" (list . "saturation-scaling-config") }}
{{- end }}

{{- define "wva.serviceClassesConfigMap" -}}
{{ include "wva.resourceName" (list . "service-classes-config") }}
{{- end }}

{{/* The metrics Service; kustomize's name when it fits, else a shorter one. */}}
{{- define "wva.metricsService" -}}
{{- $long := printf "%s-controller-manager-metrics-service" (include "wva.fullname" .) }}
{{- if le (len $long) 63 }}{{ $long }}{{ else }}{{ include "wva.resourceName" (list . "metrics") }}{{ end }}
{{- end }}

{{/* Whether a CA for Prometheus is configured, and checks that at most one source is set. */}}
{{- define "wva.prometheusCA" -}}
{{- $ca := .Values.prometheus.tls.ca }}
{{- $n := 0 }}
{{- if $ca.pem }}{{ $n = add1 $n }}{{ end }}
{{- if $ca.configMap.name }}{{ $n = add1 $n }}{{ end }}
{{- if $ca.secret.name }}{{ $n = add1 $n }}{{ end }}
{{- if gt $n 1 }}{{ fail "prometheus.tls.ca: set only one of pem, configMap.name and secret.name" }}{{ end }}
{{- if gt $n 0 }}true{{ end }}
{{- end }}

{{/* The path of the Prometheus bearer token file, if any. */}}
{{- define "wva.prometheusTokenPath" -}}
{{- $t := .Values.prometheus.token }}
{{- if and $t.serviceAccount $t.secret.name }}{{ fail "prometheus.token: set either serviceAccount or secret.name, not both" }}{{ end }}
{{- if $t.serviceAccount }}/var/run/secrets/kubernetes.io/serviceaccount/token
{{- else if $t.secret.name }}/etc/wva/prometheus-token/{{ $t.secret.key }}
{{- end }}
{{- end }}
