{{/*
The Deployment, Service and ServiceAccount of one component; call with
(dict "root" $ "component" "api" "values" .Values.api). The three components differ only in their values,
their entry image and (for the controller) the mounted service-account token.
*/}}
{{- define "scimbridge.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $ctx := dict "root" $root "component" .component "values" $v -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "scimbridge.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "scimbridge.componentLabels" $ctx | nindent 4 }}
  {{- with $root.Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if not (and $v.autoscaling $v.autoscaling.enabled) }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- if eq .component "controller" }}
  # A new controller pod starts only after the old one is gone: at most one candidate per replica for the Lease.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 0
      maxUnavailable: 1
  {{- end }}
  selector:
    matchLabels:
      {{- include "scimbridge.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "scimbridge.componentLabels" $ctx | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $podAnnotations := deepCopy (default (dict) $v.podAnnotations) }}
      {{- if not (and $root.Values.mongodb.existingSecret $root.Values.redis.existingSecret) }}
      {{- /* Pods roll when the chart-rendered connection Secret changes. */}}
      {{- $_ := set $podAnnotations "checksum/connections" (include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum) }}
      {{- end }}
      {{- with $podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "scimbridge.serviceAccountName" $ctx }}
      automountServiceAccountToken: {{ eq .component "controller" }}
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      affinity:
        {{- include "scimbridge.affinity" $ctx | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "scimbridge.image" $ctx }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          env:
            {{- include "scimbridge.env" $ctx | nindent 12 }}
            {{- $baseUrl := include "scimbridge.publicBaseUrl" $root }}
            {{- if and (eq .component "api") $baseUrl }}
            - name: PUBLIC_BASE_URL
              value: {{ $baseUrl | quote }}
            {{- end }}
            {{- if eq .component "api" }}
            {{- with $root.Values.api.trustProxy }}
            - name: TRUST_PROXY
              value: {{ . | quote }}
            {{- end }}
            - name: AUTH_FAILURES_PER_ADDRESS
              value: {{ $root.Values.api.authFailuresPerAddress | quote }}
            - name: JWKS_FETCH_TIMEOUT_MS
              value: {{ $root.Values.api.jwksFetchTimeoutMs | quote }}
            - name: REQUEST_LOG_PER_ORG_PER_MINUTE
              value: {{ $root.Values.api.requestLog.perOrgPerMinute | quote }}
            - name: REQUEST_LOG_RETENTION_DAYS
              value: {{ $root.Values.api.requestLog.retentionDays | quote }}
            - name: REQUEST_LOG_MAX_BUFFERED
              value: {{ $root.Values.api.requestLog.maxBuffered | quote }}
            - name: METRICS_ORG_LABEL
              value: {{ $root.Values.api.metricsOrgLabel.enabled | quote }}
            - name: METRICS_ORG_LABEL_MAX
              value: {{ $root.Values.api.metricsOrgLabel.maxOrganisations | quote }}
            {{- with $root.Values.api.documentationUrl }}
            - name: DOCUMENTATION_URL
              value: {{ . | quote }}
            {{- end }}
            {{- end }}
            {{- if eq .component "worker" }}
            - name: AUDIT_WEBHOOK_ALLOW_HTTP
              value: {{ $root.Values.worker.egress.allowHttp | quote }}
            - name: AUDIT_WEBHOOK_ALLOWED_CIDRS
              value: {{ join "," $root.Values.worker.egress.allowedCIDRs | quote }}
            - name: AUDIT_WEBHOOK_DENIED_CIDRS
              value: {{ join "," $root.Values.worker.egress.deniedCIDRs | quote }}
            {{- $issuer := $root.Values.worker.scimEvents.issuer | default (trimSuffix "/scim/v2" (trimSuffix "/" $baseUrl)) }}
            {{- with $issuer }}
            - name: SCIM_EVENTS_ISSUER
              value: {{ . | quote }}
            {{- end }}
            {{- end }}
            {{- if eq .component "controller" }}
            {{- if not $root.Values.controller.watchAllNamespaces }}
            - name: WATCH_NAMESPACE
              value: {{ include "scimbridge.watchNamespaces" $root | quote }}
            {{- end }}
            - name: ORGANISATION_POLICY
              value: {{ toJson $root.Values.controller.organisationPolicy | quote }}
            {{- with $baseUrl }}
            - name: SCIM_BASE_URL
              value: {{ . | quote }}
            {{- end }}
            # The Lease lives in POD_NAMESPACE (set above); a single replica still elects itself.
            - name: LEADER_ELECTION
              value: "true"
            {{- end }}
          {{- with $root.Values.extraEnvFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $v.port }}
              protocol: TCP
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- if gt (int $root.Values.preStopSleepSeconds) 0 }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $root.Values.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        # readOnlyRootFilesystem: Node and its libraries may still write temporary files.
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end -}}

{{- define "scimbridge.service" -}}
{{- $ctx := dict "root" .root "component" .component "values" .values -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scimbridge.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "scimbridge.componentLabels" $ctx | nindent 4 }}
  {{- $annotations := merge (dict) (default (dict) (and .values.service .values.service.annotations)) .root.Values.commonAnnotations }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ (and .values.service .values.service.type) | default "ClusterIP" }}
  selector:
    {{- include "scimbridge.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ .values.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{- define "scimbridge.serviceAccount" -}}
{{- $ctx := dict "root" .root "component" .component "values" .values -}}
{{- if .values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "scimbridge.serviceAccountName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "scimbridge.componentLabels" $ctx | nindent 4 }}
  {{- with .values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# Only the controller talks to the Kubernetes API; the pod spec decides, this is the safe default for others.
automountServiceAccountToken: {{ eq .component "controller" }}
{{- end }}
{{- end -}}

{{- define "scimbridge.pdb" -}}
{{- $ctx := dict "root" .root "component" .component "values" .values -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "scimbridge.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "scimbridge.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if and .values.pdb.minAvailable (not (kindIs "invalid" .values.pdb.minAvailable)) }}
  minAvailable: {{ .values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .values.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "scimbridge.selectorLabels" $ctx | nindent 6 }}
{{- end -}}

{{- define "scimbridge.hpa" -}}
{{- $ctx := dict "root" .root "component" .component "values" .values -}}
{{- $as := .values.autoscaling -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "scimbridge.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "scimbridge.componentLabels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "scimbridge.componentName" $ctx }}
  minReplicas: {{ $as.minReplicas }}
  maxReplicas: {{ $as.maxReplicas }}
  metrics:
    {{- if $as.targetCPU }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $as.targetCPU }}
    {{- end }}
    {{- if $as.targetMemory }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ $as.targetMemory }}
    {{- end }}
{{- end -}}
