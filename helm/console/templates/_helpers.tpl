{{- define "console.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "console.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "console.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "console.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "web") */}}
{{- define "console.selectorLabels" -}}
app.kubernetes.io/name: {{ include "console.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "console.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "console.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{- define "console.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "console.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "console.image" -}}
{{- $repo := required "image.repository is required: the registry path of the image built from the repository's Dockerfile" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "console.secretName" -}}
{{- default (include "console.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "console.filesClaimName" -}}
{{- default (printf "%s-files" (include "console.fullname" .)) .Values.files.persistence.existingClaim }}
{{- end }}

{{/* Rolls the pods when their settings change. */}}
{{- define "console.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* Secret env vars of web and workers: (dict "ctx" $ "secretName" name). Optional keys may
be absent. The owner role (migrationsDatabaseUrl) stays with the migrations Job. */}}
{{- define "console.secretEnv" -}}
{{- $keys := .ctx.Values.secrets.existingSecretKeys }}
{{- $s := .ctx.Values.secrets }}
{{- $byExisting := not (empty $s.existingSecret) }}
{{- range $env, $field := dict "CONSOLE_SECRET_KEY" "secretKey" "CONSOLE_DATABASE_URL" "databaseUrl" "CONSOLE_BROKER_URL" "brokerUrl" "CONSOLE_RATE_LIMIT_REDIS_URL" "rateLimitRedisUrl" "CONSOLE_PLATFORM_OIDC_CLIENT_SECRET" "platformOidcClientSecret" }}
{{- $required := has $field (list "secretKey" "databaseUrl" "brokerUrl") }}
{{- if or $byExisting $required (get $s $field) }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $.secretName }}
      key: {{ get $keys $field }}
      {{- if not $required }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "console.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod-level settings shared by every pod of the release. */}}
{{- define "console.podSpecCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The writable directories of a read-only root filesystem: /tmp (Flet copies its web
client there), the app's relative var/ and the shared files folder. */}}
{{- define "console.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 512Mi
- name: var
  emptyDir:
    sizeLimit: 64Mi
- name: files
  {{- if .Values.files.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "console.filesClaimName" . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}

{{- define "console.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: var
  mountPath: /app/var
- name: files
  mountPath: {{ .Values.files.mountPath }}
{{- end }}

{{/* Refuse settings the app would refuse (validate_for_startup), before anything is applied. */}}
{{- define "console.validate" -}}
{{- $c := .Values.console }}
{{- $s := .Values.secrets }}
{{- $url := required "console.publicBaseUrl is required: the public https:// address users open" $c.publicBaseUrl }}
{{- $prod := eq $c.environment "prod" }}
{{- if and $prod (not (hasPrefix "https://" $url)) }}
{{- fail "console.publicBaseUrl must be https:// when console.environment is prod (cookies are Secure)" }}
{{- end }}
{{- if not $s.existingSecret }}
{{- $key := required "secrets.secretKey is required (or secrets.existingSecret): at least 32 random characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'" $s.secretKey }}
{{- if or (lt (len $key) 32) (eq $key "dev-insecure-secret-key-change-me") }}
{{- fail "secrets.secretKey is the development default or shorter than 32 characters" }}
{{- end }}
{{- $db := required "secrets.databaseUrl is required (or secrets.existingSecret): postgresql+asyncpg://user:password@host:5432/console" $s.databaseUrl }}
{{- if hasPrefix "sqlite" $db }}
{{- fail "secrets.databaseUrl points at SQLite: pods do not share a file database; use PostgreSQL" }}
{{- end }}
{{- $broker := required "secrets.brokerUrl is required (or secrets.existingSecret): redis://host:6379/0" $s.brokerUrl }}
{{- if not (or (hasPrefix "redis://" $broker) (hasPrefix "rediss://" $broker)) }}
{{- fail "secrets.brokerUrl must be redis:// or rediss:// (the embedded brokers do not cross pods)" }}
{{- end }}
{{- end }}
{{- if $prod }}
{{- if not (and $c.platformOidc.issuer $c.platformOidc.clientId) }}
{{- fail "console.platformOidc.issuer and .clientId are required when console.environment is prod (the development identity provider is off there)" }}
{{- end }}
{{- if not (or $s.existingSecret $s.platformOidcClientSecret) }}
{{- fail "secrets.platformOidcClientSecret is required when console.environment is prod (or secrets.existingSecret)" }}
{{- end }}
{{- end }}
{{- if lt (int .Values.web.terminationGracePeriodSeconds) (add .Values.web.preStopSleepSeconds 30 | int) }}
{{- fail "web.terminationGracePeriodSeconds must be at least web.preStopSleepSeconds + 30 (uvicorn drains connections for 25 s)" }}
{{- end }}
{{- if and .Values.ingress.enabled (lt (int .Values.ingress.websocketTimeoutSeconds) (int $c.sessionIdleTimeoutSeconds)) }}
{{- fail "ingress.websocketTimeoutSeconds must be >= console.sessionIdleTimeoutSeconds: the ingress would cut idle dashboard websockets" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.host is required when ingress.enabled" }}
{{- end }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.keda.enabled (not .Values.keda.redis.address) }}
{{- fail "keda.redis.address (host:port of the broker's Redis) is required when keda.enabled" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.database.cidrs) }}
{{- fail "networkPolicy.database.cidrs is required when networkPolicy.enabled (egress to PostgreSQL)" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.redis.cidrs) }}
{{- fail "networkPolicy.redis.cidrs is required when networkPolicy.enabled (egress to the broker)" }}
{{- end }}
{{- end }}
