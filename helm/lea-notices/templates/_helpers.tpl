{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "lea-notices.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used as the resource name prefix. Kept to 52 characters so that
suffixes such as "-migrate" and "-database" stay within 63.
*/}}
{{- define "lea-notices.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lea-notices.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every resource of the release. */}}
{{- define "lea-notices.labels" -}}
helm.sh/chart: {{ include "lea-notices.chart" . }}
app.kubernetes.io/name: {{ include "lea-notices.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lea-notices
{{- end }}

{{/* Selector labels of the server pods (immutable once installed). */}}
{{- define "lea-notices.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lea-notices.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector labels of the migration Job's pod. */}}
{{- define "lea-notices.migrationSelectorLabels" -}}
app.kubernetes.io/name: {{ include "lea-notices.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: migration
{{- end }}

{{- define "lea-notices.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lea-notices.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag or repository@digest. */}}
{{- define "lea-notices.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{- define "lea-notices.databaseSecretName" -}}
{{- default (printf "%s-database" (include "lea-notices.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "lea-notices.migrationDatabaseSecretName" -}}
{{- default (printf "%s-database-owner" (include "lea-notices.fullname" .)) .Values.migration.database.existingSecret }}
{{- end }}

{{- define "lea-notices.jwtSecretName" -}}
{{- default (printf "%s-jwt" (include "lea-notices.fullname" .)) .Values.auth.jwt.existingSecret }}
{{- end }}

{{/* "grpc" or "tcp": the probe kind the server container uses. */}}
{{- define "lea-notices.probeMode" -}}
{{- if eq .Values.probes.mode "auto" }}
{{- if .Values.tls.enabled }}tcp{{ else }}grpc{{ end }}
{{- else }}
{{- .Values.probes.mode }}
{{- end }}
{{- end }}

{{/*
The probe action (grpc or tcpSocket) for the server container. Called with
(dict "root" $ "service" NAME): NAME is the health service a gRPC probe asks for.
*/}}
{{- define "lea-notices.probeAction" -}}
{{- if eq (include "lea-notices.probeMode" .root) "grpc" }}
grpc:
  port: {{ .root.Values.grpc.port }}
  {{- with .service }}
  service: {{ . | quote }}
  {{- end }}
{{- else }}
tcpSocket:
  port: grpc
{{- end }}
{{- end }}

{{/* The server pods' DATABASE_URL (the service's role), from the existing Secret. */}}
{{- define "lea-notices.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "lea-notices.databaseSecretName" . }}
      key: {{ .Values.database.existingSecretKey }}
{{- with .Values.database.replica }}
{{- if .existingSecret }}
- name: LEA_NOTICES_DATABASE_REPLICA_URL
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .existingSecretKey }}
- name: LEA_NOTICES_REPLICA_WAIT_MS
  value: {{ .waitMs | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The migration Job's DATABASE_URL (the tables' owner), from the existing Secret. */}}
{{- define "lea-notices.migrationDatabaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "lea-notices.migrationDatabaseSecretName" . }}
      key: {{ .Values.migration.database.existingSecretKey }}
{{- end }}

{{/* Fails rendering when enabled features lack their required values. */}}
{{- define "lea-notices.validate" -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled requires tls.existingSecret (a kubernetes.io/tls Secret)" }}
{{- end }}
{{- if and .Values.otel.enabled (not .Values.otel.endpoint) }}
{{- fail "otel.enabled requires otel.endpoint (the OTLP collector URL)" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled requires metrics.enabled" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be >= autoscaling.minReplicas" }}
{{- end }}
{{- if and .Values.migration.enabled (eq (include "lea-notices.migrationDatabaseSecretName" .) (include "lea-notices.databaseSecretName" .)) (eq .Values.migration.database.existingSecretKey .Values.database.existingSecretKey) }}
{{- fail "migration.database must name the tables' owner, not the server pods' database secret and key" }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.grpc.port)) }}
{{- fail "metrics.port must differ from grpc.port" }}
{{- end }}
{{- end }}
