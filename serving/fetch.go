package serving

import (
	"context"
	"errors"
	"fmt"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
)

// MaxModelBytes bounds a model download; the project's tabular models are far smaller.
const MaxModelBytes = 2 << 30

// FetchModel reads the model at uri (file:///abs/path, http://, https:// or s3://bucket/key, see
// internal/artifact for the environment s3:// and the node-local cache read) and returns its bytes
// only if their sha256 is wantSHA256 (64 hex digits, any case). Nothing else is accepted: a model
// that does not match is never loaded.
func FetchModel(ctx context.Context, uri, wantSHA256 string) ([]byte, error) {
	data, err := artifact.Fetch(ctx, uri, wantSHA256, MaxModelBytes)
	if errors.Is(err, artifact.ErrDigestMismatch) {
		return nil, fmt.Errorf("model %w: refusing to load it", err)
	}
	return data, err
}
