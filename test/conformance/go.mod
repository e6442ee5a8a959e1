module sticky-ingress.dev/test/conformance

go 1.27.0

require (
	k8s.io/apimachinery v0.37.1
	sigs.k8s.io/gateway-api v1.7.0
	sigs.k8s.io/gateway-api/conformance v1.7.0
)
