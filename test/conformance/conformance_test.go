// Runs the Gateway API conformance suite (pinned in go.mod) against the cluster of the current kubeconfig,
// for the features sticky-ingress claims (docs/gateway-api.md). Not run in CI yet: the suite deploys echo
// Pods, and the project's test cluster (test/cluster/) does not run Pods until the real node lands.
//
//	cd test/conformance && go test -run TestConformance -v -args \
//	  --gateway-class=sticky --report-output=report.yaml
package conformance

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
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
}

func TestConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.SupportedFeatures = sets.New(claimed...)
	opts.ConformanceProfiles = sets.New(suite.GatewayHTTPConformanceProfileName)
	opts.Implementation = confv1.Implementation{
		Organization: "sticky-ingress",
		Project:      "sticky-ingress",
		URL:          "https://github.com/sticky-ingress/sticky-ingress",
		Version:      "0.1.0",
		Contact:      []string{"@sticky-ingress/maintainers"},
	}
	conformance.RunConformanceWithOptions(t, opts)
}
