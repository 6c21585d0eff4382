{{- define "eviction-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eviction-guard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "eviction-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eviction-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "eviction-guard.labels" -}}
{{ include "eviction-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{- define "eviction-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "eviction-guard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding tls.crt and tls.key. */}}
{{- define "eviction-guard.tlsSecretName" -}}
{{- if eq .Values.certs.source "existing-secret" -}}
{{- required "certs.existingSecret is required when certs.source is existing-secret" .Values.certs.existingSecret -}}
{{- else -}}
{{- printf "%s-tls" (include "eviction-guard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "eviction-guard.priorityClassName" -}}
{{- if .Values.priorityClassName -}}
{{- .Values.priorityClassName -}}
{{- else if .Values.priorityClass.create -}}
{{- include "eviction-guard.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap holding the client CA (ca.crt) under clientAuth. */}}
{{- define "eviction-guard.clientCaConfigMap" -}}
{{- if .Values.clientAuth.caConfigMap -}}
{{- .Values.clientAuth.caConfigMap -}}
{{- else -}}
{{- printf "%s-client-ca" (include "eviction-guard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Fails the render on values that would install something broken. */}}
{{- define "eviction-guard.validateValues" -}}
{{- if not (has .Values.certs.source (list "self-generated" "cert-manager" "existing-secret")) -}}
{{- fail (printf "certs.source must be self-generated, cert-manager or existing-secret, got %q" .Values.certs.source) -}}
{{- end -}}
{{- if not (has .Values.failurePolicy (list "Ignore" "Fail")) -}}
{{- fail (printf "failurePolicy must be Ignore or Fail, got %q" .Values.failurePolicy) -}}
{{- end -}}
{{- if not (has .Values.mode (list "enforce" "warn" "audit")) -}}
{{- fail (printf "mode must be enforce, warn or audit, got %q" .Values.mode) -}}
{{- end -}}
{{- if not (has .Values.pdbGuard.mode (list "warn" "deny" "off")) -}}
{{- fail (printf "pdbGuard.mode must be warn, deny or off, got %q" .Values.pdbGuard.mode) -}}
{{- end -}}
{{- if and .Values.clientAuth.enabled (not .Values.clientAuth.caConfigMap) (not .Values.clientAuth.caPem) -}}
{{- fail "clientAuth.enabled needs the CA that signs kube-apiserver's client certificate: clientAuth.caPem, or clientAuth.caConfigMap naming a ConfigMap with ca.crt" -}}
{{- end -}}
{{- if and .Values.clientAuth.caConfigMap .Values.clientAuth.caPem -}}
{{- fail "clientAuth.caConfigMap and clientAuth.caPem are alternatives: give one" -}}
{{- end -}}
{{- end -}}
