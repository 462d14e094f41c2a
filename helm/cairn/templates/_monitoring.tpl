{{/* The PodMonitor of the database pods. Prometheus labels its series job="<namespace>/<name>". */}}
{{- define "cairn.databaseMonitorName" -}}
{{- printf "%s-database" (include "cairn.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The label matchers the alerts put on every series they read, braces included. */}}
{{- define "cairn.alertSelector" -}}
{{- with .Values.monitoring.prometheusRule.selector -}}
{{- printf "{%s}" . -}}
{{- else -}}
{{- printf "{job=\"%s/%s\"}" .Release.Namespace (include "cairn.databaseMonitorName" .) -}}
{{- end -}}
{{- end -}}
