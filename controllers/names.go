package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Names of what the operator creates. Every name is a valid DNS-1035 label
// (at most 63 characters, starts with a letter): a name that would be too
// long keeps its prefix and ends with a hash of the whole, so distinct inputs
// keep distinct names.

// boundedName joins parts with '-' and shortens the result to 63 characters.
func boundedName(parts ...string) string {
	raw := strings.Join(parts, "-")
	if len(validation.IsDNS1035Label(raw)) == 0 {
		return raw
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		default:
			return '-'
		}
	}, strings.ToLower(raw))
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	suffix := hex.EncodeToString(sum[:])[:10]
	prefix := strings.Trim(name, "-")
	if prefix == "" || prefix[0] < 'a' || prefix[0] > 'z' {
		prefix = "r" + prefix
	}
	if max := validation.DNS1035LabelMaxLength - len(suffix) - 1; len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-")
	}
	return prefix + "-" + suffix
}

// modelCardConfigMapName holds the model card of the stable version.
func modelCardConfigMapName(model string) string { return boundedName(model, "model-card") }

// servingName names the serving Deployment and its Service.
func servingName(model string) string { return boundedName(model, "serving") }

// shortHash is a short digest of s, for names that must change when their
// inputs change.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// managerName is the app.kubernetes.io/managed-by value of what the
// operator creates.
const managerName = "rmodel-operator"
