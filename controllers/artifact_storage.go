package controllers

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
)

// artifactCacheVolume is the pod volume of the node-local artifact cache.
const artifactCacheVolume = "artifact-cache"

// storageEnv is the environment that lets rai read the spec's s3:// URIs
// (internal/contract names it): spec.storage.s3's settings as values and
// its Secret's keys as references. The operator never reads the Secret: a
// missing Secret or key keeps the pod from starting
// (CreateContainerConfigError), so a candidate is neither evaluated nor
// promoted, and a rollout never becomes ready. Storage applies to every
// version the spec serves, a rolled-back stable version included.
func storageEnv(obj *raiv1.ResponsibleModel) []corev1.EnvVar {
	if obj.Spec.Storage == nil || obj.Spec.Storage.S3 == nil {
		return nil
	}
	s3 := obj.Spec.Storage.S3
	region := s3.Region
	if region == "" {
		region = contract.DefaultS3Region
	}
	env := []corev1.EnvVar{{Name: contract.EnvS3Region, Value: region}}
	if s3.Endpoint != "" {
		env = append(env, corev1.EnvVar{Name: contract.EnvS3Endpoint, Value: s3.Endpoint})
	}
	env = append(env, corev1.EnvVar{Name: contract.EnvS3PathStyle, Value: strconv.FormatBool(s3.PathStyle)})
	if ref := s3.CredentialsSecretRef; ref != nil {
		key := func(name string, optional bool) corev1.EnvVar {
			return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: name, Optional: ptr.To(optional)}}}
		}
		env = append(env, key(contract.EnvS3AccessKey, false), key(contract.EnvS3SecretKey, false), key(contract.EnvS3SessionToken, true))
	}
	return env
}

// s3CABundleVolume is the pod volume of spec.storage.s3.caBundle.
const s3CABundleVolume = "s3-ca-bundle"

// addArtifactStorage gives the pod's rai container what reading the spec's
// artifacts needs beyond storageEnv: spec.storage.s3.caBundle's ConfigMap
// key as a file named by AWS_CA_BUNDLE, and the node-local cache when
// cacheHostPath is set (see addArtifactCache). A missing ConfigMap or key
// keeps the pod from starting, as a missing Secret does.
func addArtifactStorage(spec *corev1.PodSpec, container string, obj *raiv1.ResponsibleModel, cacheHostPath string) {
	if st := obj.Spec.Storage; st != nil && st.S3 != nil && st.S3.CABundle != nil {
		ref := st.S3.CABundle
		key := ref.Key
		if key == "" {
			key = contract.S3CABundleFile
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: s3CABundleVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name},
			Items:                []corev1.KeyToPath{{Key: key, Path: contract.S3CABundleFile}},
		}}})
		for i := range spec.Containers {
			if c := &spec.Containers[i]; c.Name == container {
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: s3CABundleVolume, MountPath: contract.S3CABundleMountPath, ReadOnly: true})
				c.Env = append(c.Env, corev1.EnvVar{Name: contract.EnvS3CABundle, Value: contract.S3CABundleMountPath + "/" + contract.S3CABundleFile})
			}
		}
	}
	addArtifactCache(spec, container, cacheHostPath)
}

// podNamespaceEnv carries the pod's namespace, which names its part of the
// artifact cache.
const podNamespaceEnv = "RAI_POD_NAMESPACE"

// addArtifactCache mounts the node directory hostPath into the pod's rai
// container as the artifact cache, so that pods on one node (a rollout, a
// restart, the evaluations of one dataset) download a digest once; rai
// checks every entry's digest before use. An empty hostPath adds nothing.
//
// Each namespace has a directory of its own (rai makes it): a digest is not
// a credential, so a model in one namespace must not be read, past its
// store's access control, by a spec in another that names its digest.
// The hostPath directory must be writable by the pods' UID (65532) for rai
// to add entries (it still reads and verifies without), and a hostPath
// volume needs a namespace whose Pod Security level allows it (privileged).
func addArtifactCache(spec *corev1.PodSpec, container, hostPath string) {
	if hostPath == "" {
		return
	}
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: artifactCacheVolume, VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: hostPath, Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}})
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != container {
			continue
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: artifactCacheVolume, MountPath: contract.ArtifactCacheMountPath})
		c.Env = append(c.Env,
			corev1.EnvVar{Name: podNamespaceEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			// $(VAR) expands a variable defined earlier in the list.
			corev1.EnvVar{Name: contract.EnvArtifactCache, Value: contract.ArtifactCacheMountPath + "/$(" + podNamespaceEnv + ")"})
	}
}
