// Runs the Gateway API conformance suite (pinned in go.mod) against the cluster of the current kubeconfig,
// for the features sticky-ingress claims (docs/gateway-api.md). test/conformance/run.sh brings the test node
// up, installs the CRDs, the echo image and the chart, and runs this with:
//
//	go test -run TestConformance -v -timeout 60m -args \
//	  --gateway-class=sticky --report-output=report.yaml
package conformance

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// Claimed features: keep in step with the table in docs/gateway-api.md.
var claimed = []features.FeatureName{
	features.SupportGateway,
	features.SupportReferenceGrant,
	features.SupportHTTPRoute,
	features.SupportHTTPRouteQueryParamMatching,
	features.SupportHTTPRouteMethodMatching,
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRoutePortRedirect,
	features.SupportHTTPRouteSchemeRedirect,
	features.SupportHTTPRoutePathRedirect,
	features.SupportHTTPRouteHostRewrite,
	features.SupportHTTPRoutePathRewrite,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
	features.SupportHTTPRouteBackendProtocolWebSocket,
	features.SupportHTTPRouteNamedRouteRule,
	features.SupportHTTPRouteDestinationPortMatching,
	features.SupportGatewayHTTPListenerIsolation,
}

// Tests of the claimed features that cannot pass by design, each a deviation documented in
// docs/gateway-api.md ("Deviations to know"): skipped so that CI fails on any other failure.
var acceptedDeviations = []string{
	// Ports: every Gateway of ours shares the controller's listeners and address, so two Gateways' routes
	// for the same host and path cannot be told apart (the suite's same-namespace and all-namespaces).
	"HTTPRouteMultipleGateways",
}

// Base-manifest objects of profiles we do not claim (GRPC, TCP, UDP): their Pods would only slow the
// node down, and coredns's image is not one we build (containerd here never pulls).
var notDeployed = map[string]bool{
	"grpc-infra-backend-v1": true, "grpc-infra-backend-v2": true, "grpc-infra-backend-v3": true,
	"coredns": true, "tcp-backend": true,
}

const baseManifests = "base/sticky-manifests.yaml"

// baseFS serves the suite's base manifests without the objects in notDeployed, under baseManifests.
func baseFS(t *testing.T) fs.FS {
	raw, err := fs.ReadFile(&conformance.Manifests, "base/manifests.yaml")
	if err != nil {
		t.Fatalf("reading the suite's base manifests: %v", err)
	}
	var kept []string
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		if !notDeployed[objectName(doc)] {
			kept = append(kept, doc)
		}
	}
	return fstest.MapFS{baseManifests: {Data: []byte(strings.Join(kept, "\n---\n"))}}
}

// objectName is metadata.name of one YAML document (the first two-space-indented name: line).
func objectName(doc string) string {
	for _, line := range strings.Split(doc, "\n") {
		if name, ok := strings.CutPrefix(line, "  name: "); ok {
			return strings.TrimSpace(name)
		}
	}
	return ""
}

func TestConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.SupportedFeatures = claimed
	opts.SkipTests = append(opts.SkipTests, acceptedDeviations...)
	opts.ConformanceProfiles = []suite.ConformanceProfileName{suite.GatewayHTTPConformanceProfileName}
	opts.BaseManifests = baseManifests
	opts.ManifestFS = []fs.FS{baseFS(t), &conformance.Manifests}
	opts.Implementation = confv1.Implementation{
		Organization: "sticky-ingress",
		Project:      "sticky-ingress",
		URL:          "https://github.com/sticky-ingress/sticky-ingress",
		Version:      "0.1.0",
		Contact:      []string{"@sticky-ingress/maintainers"},
	}
	conformance.RunConformanceWithOptions(t, opts)
}

// The filtered base manifests keep every HTTP backend and Gateway and drop exactly the notDeployed objects.
func TestBaseManifestsFilter(t *testing.T) {
	data, err := fs.ReadFile(baseFS(t), baseManifests)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		names[objectName(doc)]++
	}
	for name := range notDeployed {
		if names[name] != 0 {
			t.Errorf("%s still deployed", name)
		}
	}
	for _, name := range []string{"same-namespace", "same-namespace-with-https-listener", "infra-backend-v1", "app-backend-v2", "web-backend"} {
		if names[name] == 0 {
			t.Errorf("%s missing", name)
		}
	}
}
