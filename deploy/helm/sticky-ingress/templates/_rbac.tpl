{{/*
Rules for the namespaced resources the controller reads and writes. A ClusterRole carries them when every
namespace is watched, a Role per namespace when controller.watchNamespaces is set. Read-only except the two
status subresources and Events; Secrets are read-only too. RBAC cannot restrict by Secret type: the
controller asks only for kubernetes.io/tls Secrets (field selector type=kubernetes.io/tls), but these rules
allow reading every Secret in scope. Use watchNamespaces to narrow that scope.
*/}}
{{- define "sticky-ingress.namespacedRules" -}}
- apiGroups: [""]
  resources: [services, secrets]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update]
- apiGroups: [sticky-ingress.dev]
  resources: [stickyroutes]
  verbs: [get, list, watch]
- apiGroups: [sticky-ingress.dev]
  resources: [stickyroutes/status]
  verbs: [update]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways, httproutes, referencegrants]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways/status, httproutes/status]
  verbs: [update]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* IngressClass is cluster-scoped, so it needs a ClusterRole even when only some namespaces are watched. */}}
{{- define "sticky-ingress.clusterRules" -}}
- apiGroups: [networking.k8s.io]
  resources: [ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses/status]
  verbs: [update]
{{- /* Gateway allowedRoutes.namespaces.from: Selector matches Namespace labels; read-only, and watched only
once a GatewayClass exists (docs/gateway-api.md). */}}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- end }}
