package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// k8sObject maps apiVersion/kind to the typed Kubernetes struct a manifest
// must decode into without unknown fields (the API server's own strict JSON
// decoder, case-sensitive): a typo (readinessprobe, containerPorts) or a field
// of another API version fails. Kinds not listed are refused.
func k8sObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	}
	return nil, false
}

// k8sDecode strictly decodes every document of a multi-document YAML stream.
func k8sDecode(t *testing.T, name string, raw []byte) []any {
	t.Helper()
	var out []any
	for i, doc := range bytes.Split(raw, []byte("\n---\n")) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(doc, &meta), "%s document %d", name, i)
		if meta.Kind == "" {
			continue
		}
		obj, ok := k8sObject(meta.APIVersion, meta.Kind)
		require.True(t, ok, "%s document %d: unexpected %s %s", name, i, meta.APIVersion, meta.Kind)
		j, err := yaml.YAMLToJSON(doc)
		require.NoError(t, err, "%s document %d", name, i)
		strict, err := kjson.UnmarshalStrict(j, obj)
		require.NoError(t, err, "%s document %d (%s)", name, i, meta.Kind)
		require.Empty(t, strict, "%s document %d (%s): unknown, duplicate or miscased fields", name, i, meta.Kind)
		out = append(out, obj)
	}
	return out
}

// TestK8sManifests decodes every manifest of deploy/k8s/base into the typed
// Kubernetes API structs with unknown fields refused, renders the production
// overlay with kustomize, and checks what an operator relies on.
func TestK8sManifests(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("../deploy/k8s/base/*.yaml")
	require.NoError(t, err)
	var base []any
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		base = append(base, k8sDecode(t, p, raw)...)
	}
	checkK8sObjects(t, base)

	fs := filesys.MakeFsOnDisk()
	for _, dir := range []string{"../deploy/k8s/base", "../deploy/k8s/overlays/production"} {
		abs, err := filepath.Abs(dir)
		require.NoError(t, err)
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, abs)
		require.NoError(t, err, "kustomize build %s", dir)
		rendered, err := m.AsYaml()
		require.NoError(t, err)
		objs := k8sDecode(t, dir, rendered)
		require.Len(t, objs, len(base), "%s renders every base object", dir)
		checkK8sObjects(t, objs)
		for _, o := range objs {
			if d, ok := o.(*appsv1.Deployment); ok {
				require.Equal(t, "mutt", d.Namespace, d.Name)
				if strings.HasSuffix(dir, "production") {
					require.Equal(t, "ghcr.io/mutt-ops/mutt:v2.0.0", d.Spec.Template.Spec.Containers[0].Image, d.Name)
					if d.Name == "mutt-alerter" {
						require.Equal(t, "2Gi", d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String())
					}
				}
			}
		}
	}
}

func checkK8sObjects(t *testing.T, objs []any) {
	t.Helper()
	rolePort := map[string]int32{"ingestor": 8080, "alerter": 8082, "forwarder": 8084, "api": 8090, "worker": 8086}
	deployments := map[string]bool{}
	pdbs := map[string]bool{}
	hpas := map[string]autoscalingv2.MetricSourceType{}
	servicePorts := map[string]bool{}
	var jobArgs [][]string
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			role := o.Spec.Template.Labels["app.kubernetes.io/component"]
			deployments[role] = true
			spec := o.Spec.Template.Spec
			require.NotNil(t, spec.SecurityContext, o.Name)
			require.True(t, *spec.SecurityContext.RunAsNonRoot, o.Name)
			require.Len(t, spec.Containers, 1, o.Name)
			c := spec.Containers[0]
			require.Equal(t, []string{role}, c.Args, "%s runs `mutt %s`", o.Name, role)
			require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, o.Name)
			require.False(t, *c.SecurityContext.AllowPrivilegeEscalation, o.Name)
			require.False(t, c.Resources.Requests.Cpu().IsZero(), o.Name)
			require.False(t, c.Resources.Limits.Memory().IsZero(), o.Name)
			var http int32
			for _, p := range c.Ports {
				if p.Name == "http" {
					http = p.ContainerPort
				}
			}
			require.Equal(t, rolePort[role], http, "%s listens on the default port of its role", o.Name)
			require.Contains(t, c.Env, corev1.EnvVar{Name: map[string]string{"ingestor": "MUTT_INGEST_ADDR", "alerter": "MUTT_ALERTER_ADDR",
				"forwarder": "MUTT_FORWARDER_ADDR", "api": "MUTT_API_ADDR", "worker": "MUTT_WORKER_ADDR"}[role], Value: fmt.Sprintf(":%d", http)}, o.Name)
			for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
				require.NotNil(t, p, o.Name)
				require.Equal(t, "/health", p.HTTPGet.Path, o.Name)
				require.Equal(t, "http", p.HTTPGet.Port.String(), o.Name)
			}
		case *policyv1.PodDisruptionBudget:
			pdbs[o.Spec.Selector.MatchLabels["app.kubernetes.io/component"]] = true
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas[o.Spec.ScaleTargetRef.Name] = o.Spec.Metrics[0].Type
		case *corev1.Service:
			for _, p := range o.Spec.Ports {
				servicePorts[fmt.Sprintf("%d/%s", p.Port, p.Protocol)] = true
			}
		case *batchv1.Job:
			for _, c := range append(o.Spec.Template.Spec.InitContainers, o.Spec.Template.Spec.Containers...) {
				jobArgs = append(jobArgs, c.Args)
				require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, o.Name)
			}
		}
	}
	for role := range rolePort {
		require.True(t, deployments[role], "a Deployment for %s", role)
		require.True(t, pdbs[role], "a PodDisruptionBudget for %s", role)
	}
	require.Equal(t, map[string]autoscalingv2.MetricSourceType{"mutt-ingestor": autoscalingv2.ResourceMetricSourceType,
		"mutt-alerter": autoscalingv2.ExternalMetricSourceType}, hpas)
	for _, p := range []string{"8080/TCP", "514/UDP", "514/TCP", "6514/TCP", "162/UDP"} {
		require.True(t, servicePorts[p], "a Service port %s", p)
	}
	require.Equal(t, [][]string{{"migrate", "up"}, {"config", "init"}, {"schedules", "apply"}}, jobArgs)
	require.False(t, slices.ContainsFunc(objs, func(o any) bool { _, ok := o.(*batchv1.CronJob); return ok }), "no CronJob")
}
