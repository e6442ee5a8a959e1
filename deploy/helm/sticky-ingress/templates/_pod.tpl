{{/* The pod template shared by the Deployment and the DaemonSet. */}}
{{- define "sticky-ingress.podTemplate" -}}
metadata:
  labels:
    {{- include "sticky-ingress.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "sticky-ingress.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: controller
      image: {{ include "sticky-ingress.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- include "sticky-ingress.args" . | nindent 8 }}
      env:
        # Leader identity: the downward API gives each replica its own pod name.
        - name: STICKY_INGRESS_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- if not .Values.controller.adminBindAddress }}
        # The admin port binds the pod IP: reachable by kubelet probes and Prometheus (the NetworkPolicy decides
        # who), not on every interface. The CLI's own default is loopback.
        - name: STICKY_INGRESS_ADMIN_BIND_ADDRESS
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        {{- end }}
        {{- with .Values.controller.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.containerPorts.http }}
          protocol: TCP
        - name: https
          containerPort: {{ .Values.containerPorts.https }}
          protocol: TCP
        - name: admin
          containerPort: {{ .Values.containerPorts.admin }}
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: affinity-key
          mountPath: /etc/sticky-ingress/affinity
          readOnly: true
        # The root filesystem is read-only; Node and its dependencies may still want a scratch /tmp.
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: affinity-key
      secret:
        secretName: {{ include "sticky-ingress.affinitySecretName" . }}
        items:
          - key: {{ .Values.affinityKey.secretKey }}
            path: {{ .Values.affinityKey.secretKey }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
