package main

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
)

// knownTypes maps each apiVersion and kind that the manifests may contain to
// a constructor of its Go type. An object of any other kind is a finding, so
// a new kind has to be added here before it can ship.
var knownTypes = map[schema.GroupVersionKind]func() any{
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):      func() any { return &corev1.ConfigMap{} },
	corev1.SchemeGroupVersion.WithKind("Namespace"):      func() any { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("Pod"):            func() any { return &corev1.Pod{} },
	corev1.SchemeGroupVersion.WithKind("Secret"):         func() any { return &corev1.Secret{} },
	corev1.SchemeGroupVersion.WithKind("Service"):        func() any { return &corev1.Service{} },
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"): func() any { return &corev1.ServiceAccount{} },

	appsv1.SchemeGroupVersion.WithKind("DaemonSet"):   func() any { return &appsv1.DaemonSet{} },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):  func() any { return &appsv1.Deployment{} },
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"): func() any { return &appsv1.StatefulSet{} },

	batchv1.SchemeGroupVersion.WithKind("CronJob"): func() any { return &batchv1.CronJob{} },
	batchv1.SchemeGroupVersion.WithKind("Job"):     func() any { return &batchv1.Job{} },

	autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"): func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):          func() any { return &policyv1.PodDisruptionBudget{} },
	networkingv1.SchemeGroupVersion.WithKind("Ingress"):                  func() any { return &networkingv1.Ingress{} },
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):            func() any { return &networkingv1.NetworkPolicy{} },

	rbacv1.SchemeGroupVersion.WithKind("Role"):        func() any { return &rbacv1.Role{} },
	rbacv1.SchemeGroupVersion.WithKind("RoleBinding"): func() any { return &rbacv1.RoleBinding{} },

	monitoringv1.SchemeGroupVersion.WithKind("PodMonitor"):     func() any { return &monitoringv1.PodMonitor{} },
	monitoringv1.SchemeGroupVersion.WithKind("PrometheusRule"): func() any { return &monitoringv1.PrometheusRule{} },
	monitoringv1.SchemeGroupVersion.WithKind("ServiceMonitor"): func() any { return &monitoringv1.ServiceMonitor{} },

	cnpgGroupVersion.WithKind("Cluster"): func() any { return &cnpgCluster{} },
}

// decodeStrict decodes one object's JSON into the Go type for its kind. It
// returns every unknown, duplicate or wrongly cased field as a separate
// error, together with the decoded object so that the other checks still
// run. A type mismatch (a string where a number belongs, an invalid quantity)
// is a single error, and the object is then nil.
func decodeStrict(gvk schema.GroupVersionKind, data []byte) (any, []error) {
	newObject, ok := knownTypes[gvk]
	if !ok {
		return nil, []error{fmt.Errorf("no Go type is registered for %s; add one to knownTypes in tools/k8scheck/decode.go", gvk)}
	}

	object := newObject()
	strictErrors, err := sigsjson.UnmarshalStrict(data, object)
	if err != nil {
		return nil, []error{fmt.Errorf("decode %s: %w", gvk.Kind, err)}
	}
	return object, strictErrors
}
