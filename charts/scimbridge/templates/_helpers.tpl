{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "scimbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-<chart>` unless the release name already contains the chart name. */}}
{{- define "scimbridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: `<fullname>-<component>`; call with (dict "root" $ "component" "api"). */}}
{{- define "scimbridge.componentName" -}}
{{- printf "%s-%s" (include "scimbridge.fullname" .root | trunc 52 | trimSuffix "-") .component -}}
{{- end -}}

{{/* Labels on every object (helm.sh/chart and version change on upgrade, so they are never selectors). */}}
{{- define "scimbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "scimbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: scimbridge
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of a component's objects; call with (dict "root" $ "component" "api"). */}}
{{- define "scimbridge.componentLabels" -}}
{{ include "scimbridge.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels: name, instance and component only (spec.selector is immutable). */}}
{{- define "scimbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scimbridge.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* ServiceAccount name of a component. */}}
{{- define "scimbridge.serviceAccountName" -}}
{{- $sa := (index .root.Values .component).serviceAccount -}}
{{- if $sa.create -}}
{{- default (include "scimbridge.componentName" .) $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference of a component: registry/repository, then @digest or :tag (tag defaults to appVersion). */}}
{{- define "scimbridge.image" -}}
{{- $img := (index .root.Values .component).image -}}
{{- $repo := $img.repository -}}
{{- if .root.Values.image.registry -}}{{- $repo = printf "%s/%s" .root.Values.image.registry $repo -}}{{- end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding connection strings rendered from inline values (when no existingSecret is given). */}}
{{- define "scimbridge.connectionSecretName" -}}
{{- printf "%s-connections" (include "scimbridge.fullname" .) -}}
{{- end -}}

{{- define "scimbridge.mongodbSecretName" -}}
{{- if .Values.mongodb.existingSecret -}}{{ .Values.mongodb.existingSecret }}{{- else -}}{{ include "scimbridge.connectionSecretName" . }}{{- end -}}
{{- end -}}

{{- define "scimbridge.redisSecretName" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecret }}{{- else -}}{{ include "scimbridge.connectionSecretName" . }}{{- end -}}
{{- end -}}

{{/* Fails the render early, naming the value to set: missing connections, a grace period shorter than the shutdown. */}}
{{- define "scimbridge.validateConnections" -}}
{{- if not (or .Values.mongodb.uri .Values.mongodb.existingSecret) -}}
{{- fail "MongoDB is required: set mongodb.existingSecret (a Secret with key mongodb.existingSecretKey) or mongodb.uri" -}}
{{- end -}}
{{- if not (or .Values.redis.url .Values.redis.existingSecret) -}}
{{- fail "Redis is required: set redis.existingSecret (a Secret with key redis.existingSecretKey) or redis.url" -}}
{{- end -}}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) (add (mul (int .Values.preStopSleepSeconds) 1000) (int .Values.shutdownTimeoutMs)) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must exceed preStopSleepSeconds + shutdownTimeoutMs (%d ms), or Kubernetes kills pods mid-shutdown" (int .Values.terminationGracePeriodSeconds) (add (mul (int .Values.preStopSleepSeconds) 1000) (int .Values.shutdownTimeoutMs))) -}}
{{- end -}}
{{- end -}}

{{/*
V8 heap ceiling from the container memory limit (75 %), so Node fails with a heap error before the kernel OOM-kills it.
Accepts Mi and Gi limits; other units leave Node's default.
*/}}
{{- define "scimbridge.maxOldSpace" -}}
{{- $limit := "" -}}
{{- with .resources }}{{ with .limits }}{{ $limit = toString (default "" .memory) }}{{ end }}{{ end -}}
{{- $mi := 0 -}}
{{- if hasSuffix "Gi" $limit -}}{{- $mi = mul (trimSuffix "Gi" $limit | int) 1024 -}}
{{- else if hasSuffix "Mi" $limit -}}{{- $mi = trimSuffix "Mi" $limit | int -}}
{{- end -}}
{{- if gt (int $mi) 0 -}}{{ printf " --max-old-space-size=%d" (div (mul $mi 3) 4) }}{{- end -}}
{{- end -}}

{{/* Environment common to every component; call with (dict "root" $ "component" "api" "values" .Values.api). */}}
{{- define "scimbridge.env" -}}
{{- $root := .root -}}
- name: NODE_ENV
  value: production
- name: NODE_OPTIONS
  value: {{ printf "--import=@scimbridge/telemetry/otel%s" (include "scimbridge.maxOldSpace" .values) | quote }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .values.port | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ $root.Values.shutdownTimeoutMs | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "scimbridge.mongodbSecretName" $root }}
      key: {{ ternary $root.Values.mongodb.existingSecretKey "mongodb-uri" (ne $root.Values.mongodb.existingSecret "") }}
# All three use Redis: the controller broadcasts token revocations to every api replica over pub/sub.
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "scimbridge.redisSecretName" $root }}
      key: {{ ternary $root.Values.redis.existingSecretKey "redis-url" (ne $root.Values.redis.existingSecret "") }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "scim-%s" .component | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=scimbridge,service.version=%s,k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME)%s" $root.Chart.AppVersion (ternary (printf ",%s" $root.Values.otel.resourceAttributes) "" (ne $root.Values.otel.resourceAttributes "")) | quote }}
{{- if and $root.Values.otel.enabled $root.Values.otel.endpoint }}
- name: OTEL_SDK_DISABLED
  value: "false"
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $root.Values.otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $root.Values.otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $root.Values.otel.samplerArg | quote }}
- name: OTEL_PROPAGATORS
  value: tracecontext,baggage
{{- with $root.Values.otel.headersSecret }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: headers
{{- end }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Soft anti-affinity across nodes unless the user sets affinity. */}}
{{- define "scimbridge.affinity" -}}
{{- if .values.affinity -}}
{{ toYaml .values.affinity }}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "scimbridge.selectorLabels" . | nindent 12 }}
{{- end -}}
{{- end -}}

{{/* Namespace whose ScimTenants and token Secrets the controller manages (unless watchAllNamespaces). */}}
{{- define "scimbridge.watchNamespace" -}}
{{- default .Release.Namespace .Values.controller.watchNamespace -}}
{{- end -}}

{{/* Every managed namespace, comma-separated (WATCH_NAMESPACE): watchNamespaces, else watchNamespace. */}}
{{- define "scimbridge.watchNamespaces" -}}
{{- if .Values.controller.watchNamespaces -}}
{{- join "," .Values.controller.watchNamespaces -}}
{{- else -}}
{{- include "scimbridge.watchNamespace" . -}}
{{- end -}}
{{- end -}}

{{/* The SCIM base URL IdPs call: api.publicBaseUrl, else derived from the Ingress; empty when neither is set. */}}
{{- define "scimbridge.publicBaseUrl" -}}
{{- if .Values.api.publicBaseUrl -}}
{{- .Values.api.publicBaseUrl -}}
{{- else if .Values.api.ingress.enabled -}}
{{- printf "%s://%s%s" (ternary "https" "http" .Values.api.ingress.tls) .Values.api.ingress.hostname .Values.api.ingress.path -}}
{{- end -}}
{{- end -}}

{{/* The ScimTenant CRD document (files/crd/ links to the canonical k8s/crd/ file). */}}
{{- define "scimbridge.crd" -}}
{{- $crd := .Files.Get "files/crd/scimtenants.scimbridge.io.yaml" -}}
{{- if not $crd -}}
{{- fail "files/crd/scimtenants.scimbridge.io.yaml is missing from the chart: it must link to k8s/crd/" -}}
{{- end -}}
{{- $crd -}}
{{- end -}}

{{/*
RBAC rules of the controller, from the canonical k8s/rbac/ files (files/rbac/ links to them, like the CRD):
call with (dict "root" $ "which" "tenants") for the ScimTenant, Secret and Event rules, "leaderElection" for the Lease.
*/}}
{{- define "scimbridge.controllerRules" -}}
{{- $file := ternary "files/rbac/leader-election-role.yaml" "files/rbac/cluster-role.yaml" (eq .which "leaderElection") -}}
{{- $content := .root.Files.Get $file -}}
{{- if not $content -}}
{{- fail (printf "%s is missing from the chart: it must link to k8s/rbac/" $file) -}}
{{- end -}}
{{- $first := regexSplit "(?m)^---\\s*$" $content -1 | first | fromYaml -}}
{{- toYaml $first.rules -}}
{{- end -}}
