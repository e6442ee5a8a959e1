{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "sticky-ingress.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "sticky-ingress.fullname" -}}
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

{{- define "sticky-ingress.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sticky-ingress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sticky-ingress.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sticky-ingress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sticky-ingress.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sticky-ingress.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sticky-ingress.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the affinity key: the user's, or the one this chart generates. */}}
{{- define "sticky-ingress.affinitySecretName" -}}
{{- default (printf "%s-affinity-key" (include "sticky-ingress.fullname" .)) .Values.affinityKey.existingSecret }}
{{- end }}

{{- define "sticky-ingress.metricsServiceEnabled" -}}
{{- if or .Values.metrics.service.enabled .Values.metrics.serviceMonitor.enabled }}true{{ end }}
{{- end }}

{{/*
A duration as the controller parses it (`^\d+(ms|s|m|h)$`) in milliseconds. values.schema.json has already
rejected any other form.
*/}}
{{- define "sticky-ingress.durationMs" -}}
{{- $n := regexFind "^[0-9]+" . | atoi }}
{{- $unit := regexFind "(ms|s|m|h)$" . }}
{{- $scale := get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit }}
{{- mul $n $scale }}
{{- end }}

{{/*
Fails the render when the pod could be killed before it finished draining: the kubelet sends SIGKILL
terminationGracePeriodSeconds after SIGTERM, and the controller needs shutdownDelay + drainTimeout.
*/}}
{{- define "sticky-ingress.validateShutdown" -}}
{{- $delay := include "sticky-ingress.durationMs" .Values.controller.shutdownDelay | atoi }}
{{- $drain := include "sticky-ingress.durationMs" .Values.controller.drainTimeout | atoi }}
{{- $grace := mul .Values.terminationGracePeriodSeconds 1000 }}
{{- if le (int $grace) (add $delay $drain | int) }}
{{- fail (printf "terminationGracePeriodSeconds (%ds) must exceed controller.shutdownDelay (%s) + controller.drainTimeout (%s), or the kubelet kills the pod mid-drain" (int .Values.terminationGracePeriodSeconds) .Values.controller.shutdownDelay .Values.controller.drainTimeout) }}
{{- end }}
{{- end }}

{{/* Validations that values.schema.json cannot express. */}}
{{- define "sticky-ingress.validate" -}}
{{- include "sticky-ingress.validateShutdown" . }}
{{- if and .Values.autoscaling.enabled (eq .Values.kind "DaemonSet") }}
{{- fail "autoscaling.enabled needs kind: Deployment (a DaemonSet runs one pod per node)" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) .Values.rbac.create }}
{{- fail "serviceAccount.create is false: set serviceAccount.name to the ServiceAccount the RBAC rules bind" }}
{{- end }}
{{- end }}

{{/* The `serve` flags, one per value, as a YAML list (toYaml quotes what needs quoting). */}}
{{- define "sticky-ingress.args" -}}
{{- $c := .Values.controller }}
{{- $a := list "serve" }}
{{- $a = append $a (printf "--ingress-class=%s" .Values.ingressClass.name) }}
{{- $a = append $a (printf "--gateway-controller-name=%s" .Values.gateway.controllerName) }}
{{- $a = append $a (printf "--http-port=%d" (int .Values.containerPorts.http)) }}
{{- $a = append $a (printf "--https-port=%d" (int .Values.containerPorts.https)) }}
{{- $a = append $a (printf "--admin-port=%d" (int .Values.containerPorts.admin)) }}
{{- /* Clients connect to the Service's port (or its nodePort), not the container port: redirect Locations
     and X-Forwarded-Port must name the port a browser can reach (issue 10 item 3). */}}
{{- $svc := .Values.service }}
{{- $publicHttps := int $svc.ports.https }}
{{- $publicHttp := int $svc.ports.http }}
{{- if eq $svc.type "NodePort" }}
{{- with $svc.nodePorts.https }}{{ $publicHttps = int . }}{{ end }}
{{- with $svc.nodePorts.http }}{{ $publicHttp = int . }}{{ end }}
{{- end }}
{{- $a = append $a (printf "--public-https-port=%d" $publicHttps) }}
{{- $a = append $a (printf "--public-http-port=%d" $publicHttp) }}
{{- $a = append $a (printf "--affinity-key-file=/etc/sticky-ingress/affinity/%s" .Values.affinityKey.secretKey) }}
{{- with $c.adminBindAddress }}
{{- $a = append $a (printf "--admin-bind-address=%s" .) }}
{{- end }}
{{- with $c.watchNamespaces }}
{{- $a = append $a (printf "--watch-namespace=%s" (join "," .)) }}
{{- end }}
{{- with $c.defaultCertificate }}
{{- $a = append $a (printf "--default-certificate=%s" .) }}
{{- end }}
{{- with $c.trustedProxies }}
{{- $a = append $a (printf "--trusted-proxies=%s" (join "," .)) }}
{{- end }}
{{- with $c.proxyProtocol }}
{{- $a = append $a (printf "--proxy-protocol-http=%s" (default "off" .http)) }}
{{- $a = append $a (printf "--proxy-protocol-https=%s" (default "off" .https)) }}
{{- with .trusted }}
{{- $a = append $a (printf "--proxy-protocol-trusted=%s" (join "," .)) }}
{{- end }}
{{- end }}
{{- if $c.http2 }}
{{- $a = append $a "--http2=true" }}
{{- end }}
{{- with $c.tlsGroups }}
{{- $a = append $a (printf "--tls-groups=%s" .) }}
{{- end }}
{{- if $c.publishAddress }}
{{- $a = append $a (printf "--publish-address=%s" (join "," $c.publishAddress)) }}
{{- else if $c.publishService.enabled }}
{{- $svc := printf "%s/%s" .Release.Namespace (include "sticky-ingress.fullname" .) }}
{{- $a = append $a (printf "--publish-service=%s" (default $svc $c.publishService.pathOverride)) }}
{{- end }}
{{- $a = append $a (printf "--leader-election=%t" $c.leaderElection.enabled) }}
{{- $a = append $a (printf "--leader-election-namespace=%s" .Release.Namespace) }}
{{- $lease := default (printf "%s-leader" (include "sticky-ingress.fullname" .)) $c.leaderElection.leaseName }}
{{- $a = append $a (printf "--leader-election-lease=%s" $lease) }}
{{- $a = append $a (printf "--workers=%v" $c.workers) }}
{{- $a = append $a (printf "--metrics=%t" $c.metrics) }}
{{- $a = append $a (printf "--access-log=%t" $c.accessLog) }}
{{- $a = append $a (printf "--access-log-sample=%v" $c.accessLogSample) }}
{{- $a = append $a (printf "--log-level=%s" $c.logLevel) }}
{{- $a = append $a (printf "--max-header-size=%d" (int $c.maxHeaderSize)) }}
{{- $a = append $a (printf "--max-client-connections=%d" (int $c.maxClientConnections)) }}
{{- $a = append $a (printf "--max-tunnels=%d" (int $c.maxTunnels)) }}
{{- $a = append $a (printf "--max-upstream-connections=%d" (int $c.maxUpstreamConnections)) }}
{{- $a = append $a (printf "--request-header-timeout=%s" $c.requestHeaderTimeout) }}
{{- $a = append $a (printf "--keep-alive-timeout=%s" $c.keepAliveTimeout) }}
{{- $a = append $a (printf "--shutdown-delay=%s" $c.shutdownDelay) }}
{{- $a = append $a (printf "--drain-timeout=%s" $c.drainTimeout) }}
{{- range $c.extraArgs }}
{{- $a = append $a . }}
{{- end }}
{{- toYaml $a }}
{{- end }}
