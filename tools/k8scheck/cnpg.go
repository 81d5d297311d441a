package main

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The CloudNativePG module (github.com/cloudnative-pg/cloudnative-pg) is not
// served by the Go module proxy that this project may use, so its API types
// cannot be imported, and its published CRD schema is not vendored here. The
// types below model the part of the Cluster resource (postgresql.cnpg.io/v1)
// that k8s/ uses, with the field names of the operator's CRD
// (config/crd/bases/postgresql.cnpg.io_clusters.yaml in its repository). A
// strict decode into them rejects a misspelt field, and also any valid field
// not modelled yet: add such a field here after checking that CRD.

var cnpgGroupVersion = schema.GroupVersion{Group: "postgresql.cnpg.io", Version: "v1"}

type cnpgCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              cnpgClusterSpec `json:"spec"`
}

type cnpgClusterSpec struct {
	Instances             int32                       `json:"instances"`
	ImageName             string                      `json:"imageName,omitempty"`
	PrimaryUpdateStrategy string                      `json:"primaryUpdateStrategy,omitempty"`
	PrimaryUpdateMethod   string                      `json:"primaryUpdateMethod,omitempty"`
	EnableSuperuserAccess *bool                       `json:"enableSuperuserAccess,omitempty"`
	Bootstrap             *cnpgBootstrap              `json:"bootstrap,omitempty"`
	Managed               *cnpgManaged                `json:"managed,omitempty"`
	PostgreSQL            *cnpgPostgresConfiguration  `json:"postgresql,omitempty"`
	Storage               cnpgStorage                 `json:"storage"`
	WALStorage            *cnpgStorage                `json:"walStorage,omitempty"`
	Resources             corev1.ResourceRequirements `json:"resources,omitempty"`
	Affinity              *cnpgAffinity               `json:"affinity,omitempty"`
}

type cnpgBootstrap struct {
	InitDB *cnpgInitDB `json:"initdb,omitempty"`
}

type cnpgInitDB struct {
	Database               string                       `json:"database,omitempty"`
	Owner                  string                       `json:"owner,omitempty"`
	Secret                 *corev1.LocalObjectReference `json:"secret,omitempty"`
	DataChecksums          *bool                        `json:"dataChecksums,omitempty"`
	Encoding               string                       `json:"encoding,omitempty"`
	PostInitApplicationSQL []string                     `json:"postInitApplicationSQL,omitempty"`
}

type cnpgManaged struct {
	Roles []cnpgRole `json:"roles,omitempty"`
}

type cnpgRole struct {
	Name            string                       `json:"name"`
	Comment         string                       `json:"comment,omitempty"`
	Ensure          string                       `json:"ensure,omitempty"`
	Login           bool                         `json:"login,omitempty"`
	Inherit         *bool                        `json:"inherit,omitempty"`
	InRoles         []string                     `json:"inRoles,omitempty"`
	PasswordSecret  *corev1.LocalObjectReference `json:"passwordSecret,omitempty"`
	ConnectionLimit *int64                       `json:"connectionLimit,omitempty"`
	DisablePassword bool                         `json:"disablePassword,omitempty"`
}

type cnpgPostgresConfiguration struct {
	Parameters map[string]string `json:"parameters,omitempty"`
}

type cnpgStorage struct {
	Size         string  `json:"size,omitempty"`
	StorageClass *string `json:"storageClass,omitempty"`
}

type cnpgAffinity struct {
	EnablePodAntiAffinity *bool               `json:"enablePodAntiAffinity,omitempty"`
	TopologyKey           string              `json:"topologyKey,omitempty"`
	PodAntiAffinityType   string              `json:"podAntiAffinityType,omitempty"`
	NodeSelector          map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations           []corev1.Toleration `json:"tolerations,omitempty"`
}

// validateCNPGCluster checks the values that the operator's CRD schema
// restricts (minimums and enumerations) for the modelled fields, since no
// apiserver applies that schema here.
func validateCNPGCluster(cluster *cnpgCluster) []error {
	var problems []error
	spec := cluster.Spec

	if spec.Instances < 1 {
		problems = append(problems, fmt.Errorf("spec.instances is %d; it must be at least 1", spec.Instances))
	}
	problems = append(problems, checkEnum("spec.primaryUpdateStrategy", spec.PrimaryUpdateStrategy, "unsupervised", "supervised")...)
	problems = append(problems, checkEnum("spec.primaryUpdateMethod", spec.PrimaryUpdateMethod, "switchover", "restart")...)

	problems = append(problems, checkStorage("spec.storage", &spec.Storage)...)
	if spec.WALStorage != nil {
		problems = append(problems, checkStorage("spec.walStorage", spec.WALStorage)...)
	}

	if spec.Affinity != nil {
		problems = append(problems, checkEnum("spec.affinity.podAntiAffinityType", spec.Affinity.PodAntiAffinityType, "preferred", "required")...)
	}

	if spec.Managed != nil {
		for i, role := range spec.Managed.Roles {
			field := fmt.Sprintf("spec.managed.roles[%d]", i)
			if role.Name == "" {
				problems = append(problems, fmt.Errorf("%s.name is missing", field))
			}
			problems = append(problems, checkEnum(field+".ensure", role.Ensure, "present", "absent")...)
		}
	}
	return problems
}

func checkStorage(field string, storage *cnpgStorage) []error {
	if storage.Size == "" {
		return []error{fmt.Errorf("%s.size is missing", field)}
	}
	if _, err := resource.ParseQuantity(storage.Size); err != nil {
		return []error{fmt.Errorf("%s.size %q is not a quantity: %w", field, storage.Size, err)}
	}
	return nil
}

// checkEnum accepts an empty value, which leaves the operator's default.
func checkEnum(field, value string, allowed ...string) []error {
	if value == "" {
		return nil
	}
	for _, candidate := range allowed {
		if value == candidate {
			return nil
		}
	}
	return []error{fmt.Errorf("%s is %q; expected one of %q", field, value, allowed)}
}
