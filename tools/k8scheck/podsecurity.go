package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// restricted is the level every pod must meet, at the newest policy version
// in the pod-security-admission module.
var restricted = psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}

// podSecurityEvaluator holds the upstream admission checks, built once.
type podSecurityEvaluator struct {
	evaluator policy.Evaluator
}

func newPodSecurityEvaluator() (*podSecurityEvaluator, error) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("build pod security evaluator: %w", err)
	}
	return &podSecurityEvaluator{evaluator: evaluator}, nil
}

// check returns one error per restricted-level rule that the object's pod
// template breaks, or nil for an object without a pod template.
func (p *podSecurityEvaluator) check(object any) []error {
	podMeta, podSpec, ok := podTemplate(object)
	if !ok {
		return nil
	}

	var problems []error
	for _, result := range p.evaluator.EvaluatePod(restricted, podMeta, podSpec) {
		if !result.Allowed {
			problems = append(problems, fmt.Errorf("pod security %q: %s (%s)", restricted.Level, result.ForbiddenReason, result.ForbiddenDetail))
		}
	}
	return problems
}

// podTemplate returns the pod metadata and spec of the workload kinds that
// create pods.
func podTemplate(object any) (*metav1.ObjectMeta, *corev1.PodSpec, bool) {
	switch typed := object.(type) {
	case *corev1.Pod:
		return &typed.ObjectMeta, &typed.Spec, true
	case *appsv1.Deployment:
		return &typed.Spec.Template.ObjectMeta, &typed.Spec.Template.Spec, true
	case *appsv1.StatefulSet:
		return &typed.Spec.Template.ObjectMeta, &typed.Spec.Template.Spec, true
	case *appsv1.DaemonSet:
		return &typed.Spec.Template.ObjectMeta, &typed.Spec.Template.Spec, true
	case *batchv1.Job:
		return &typed.Spec.Template.ObjectMeta, &typed.Spec.Template.Spec, true
	case *batchv1.CronJob:
		template := &typed.Spec.JobTemplate.Spec.Template
		return &template.ObjectMeta, &template.Spec, true
	}
	return nil, nil, false
}

// checkNamespaceLabels requires every Namespace to enforce the restricted
// level, so that the cluster rejects a pod that slips past this check.
func checkNamespaceLabels(namespace *corev1.Namespace) []error {
	level := namespace.Labels[psaapi.EnforceLevelLabel]
	if level == string(psaapi.LevelRestricted) {
		return nil
	}
	return []error{fmt.Errorf("label %s is %q; set it to %q", psaapi.EnforceLevelLabel, level, psaapi.LevelRestricted)}
}
