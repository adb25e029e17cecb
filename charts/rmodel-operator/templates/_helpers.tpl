{{/* The prefix of every name: namePrefix, else the release name. */}}
{{- define "rmodel-operator.prefix" -}}
{{- .Values.namePrefix | default .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* A name with the prefix: include "rmodel-operator.name" (list . "controller-manager"). */}}
{{- define "rmodel-operator.name" -}}
{{- printf "%s-%s" (include "rmodel-operator.prefix" (index . 0)) (index . 1) -}}
{{- end -}}

{{/* The labels Helm's objects carry besides those config/ gives them. */}}
{{- define "rmodel-operator.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The labels of the chart's own objects: config/'s, and Helm's. */}}
{{- define "rmodel-operator.labels" -}}
app.kubernetes.io/name: rmodel-operator
{{ include "rmodel-operator.helmLabels" . }}
{{- end -}}

{{/* The manager pods' labels, which its Deployment selects. */}}
{{- define "rmodel-operator.selectorLabels" -}}
app.kubernetes.io/name: rmodel-operator
app.kubernetes.io/component: manager
{{- end -}}

{{- define "rmodel-operator.serviceAccountName" -}}
{{- include "rmodel-operator.name" (list . "controller-manager") -}}
{{- end -}}

{{/* The user name the API server gives the manager. */}}
{{- define "rmodel-operator.operatorUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "rmodel-operator.serviceAccountName" .) -}}
{{- end -}}

{{- define "rmodel-operator.image" -}}
{{- printf "%s:%s" .repository (.tag | default .appVersion) -}}
{{- end -}}

{{/*
rmodel-operator.fromConfig renders the resources that a kustomization of
config/ lists (files/<dir> links to config/<dir>), as config/default renders
them: every name gets the prefix (CRDs' excepted), namespaced objects go to
the release namespace, cluster-scoped ones have none, references to the
renamed objects (role bindings' roleRef and service account subjects,
admission policy bindings' policyName) follow, and the operator's user name
in admission expressions is the release's. Helm's labels are added. A kind
this does not know fails the render, so that config/ cannot grow one the
chart would install wrongly.
Call: include "rmodel-operator.fromConfig" (dict "root" $ "dir" "rbac").
*/}}
{{- define "rmodel-operator.fromConfig" -}}
{{- $root := .root -}}
{{- $dir := .dir -}}
{{- $prefix := include "rmodel-operator.prefix" $root -}}
{{- $ns := $root.Release.Namespace -}}
{{- $kustomization := $root.Files.Get (printf "files/%s/kustomization.yaml" $dir) | fromYaml -}}
{{- if not $kustomization.resources -}}
{{- fail (printf "files/%s/kustomization.yaml lists no resources (is files/%s a link to config/%s?)" $dir $dir $dir) -}}
{{- end -}}
{{- $namespaced := list "ServiceAccount" "Role" "RoleBinding" -}}
{{- $clusterScoped := list "CustomResourceDefinition" "ClusterRole" "ClusterRoleBinding" "ValidatingAdmissionPolicy" "ValidatingAdmissionPolicyBinding" "MutatingAdmissionPolicy" "MutatingAdmissionPolicyBinding" -}}
{{- range $file := $kustomization.resources }}
{{- $text := $root.Files.Get (printf "files/%s/%s" $dir $file) -}}
{{- if not $text -}}
{{- fail (printf "files/%s/%s, listed in its kustomization, is missing" $dir $file) -}}
{{- end -}}
{{- $text = replace "system:serviceaccount:rmodel-system:rmodel-controller-manager" (include "rmodel-operator.operatorUser" $root) $text -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" $text -1 }}
{{- $obj := fromYaml $doc -}}
{{- if hasKey $obj "Error" -}}
{{- fail (printf "config/%s/%s: %s" $dir $file $obj.Error) -}}
{{- end -}}
{{- if $obj.kind }}
{{- $meta := $obj.metadata -}}
{{- if has $obj.kind $namespaced -}}
{{- $_ := set $meta "namespace" $ns -}}
{{- else if has $obj.kind $clusterScoped -}}
{{- $_ := unset $meta "namespace" -}}
{{- else -}}
{{- fail (printf "config/%s/%s holds a %s, which the chart does not know how to install" $dir $file $obj.kind) -}}
{{- end -}}
{{- if ne $obj.kind "CustomResourceDefinition" -}}
{{- $_ := set $meta "name" (printf "%s-%s" $prefix $meta.name) -}}
{{- end -}}
{{- $_ := set $meta "labels" (merge (include "rmodel-operator.helmLabels" $root | fromYaml) ($meta.labels | default dict)) -}}
{{- if has $obj.kind (list "RoleBinding" "ClusterRoleBinding") -}}
{{- $_ := set $obj.roleRef "name" (printf "%s-%s" $prefix $obj.roleRef.name) -}}
{{- range $s := $obj.subjects -}}
{{- if eq $s.kind "ServiceAccount" -}}
{{- $_ := set $s "name" (printf "%s-%s" $prefix $s.name) -}}
{{- $_ := set $s "namespace" $ns -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if hasSuffix "PolicyBinding" $obj.kind -}}
{{- $_ := set $obj.spec "policyName" (printf "%s-%s" $prefix $obj.spec.policyName) -}}
{{- end -}}
{{- if eq $obj.kind "ServiceAccount" -}}
{{- with $root.Values.serviceAccount.annotations -}}
{{- $_ := set $meta "annotations" (merge (deepCopy .) ($meta.annotations | default dict)) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $obj.kind "CustomResourceDefinition") $root.Values.crds.keep -}}
{{- $_ := set $meta "annotations" (merge (dict "helm.sh/resource-policy" "keep") ($meta.annotations | default dict)) -}}
{{- end }}
---
# Source: config/{{ $dir }}/{{ $file }}
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
